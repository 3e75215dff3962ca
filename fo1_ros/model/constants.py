"""Placeholder ids shared by prompt building and splicing (the reference's values, §1d)."""

IMAGE_SLOT = -200  # IMAGE_TOKEN_INDEX: replaced by all image tokens of the frame
OBJECT_SLOT = -300  # DEFAULT_REGION_INDEX: replaced by one object token
IGNORE_INDEX = -100  # label value without loss
