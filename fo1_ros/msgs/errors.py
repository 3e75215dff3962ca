"""What goes wrong converting messages: the error classes and a warn-once helper.

Hard problems raise a :class:`MessageConversionError` (a ``ValueError``) whose text names the
field and the value got; soft ones (a distortion that is ignored, an encoding without a
channel order) are logged once per key with :func:`warn_once`, since they repeat every frame.
"""

from __future__ import annotations

import logging

__all__ = ["MessageConversionError", "ImageConversionError", "CameraInfoError", "warn_once"]


class MessageConversionError(ValueError):
    """A message could not be converted (bad field values); the text names field and value."""


class ImageConversionError(MessageConversionError):
    """A sensor_msgs/Image or CompressedImage is malformed or in an unsupported encoding."""


class CameraInfoError(MessageConversionError):
    """A sensor_msgs/CameraInfo is unusable (e.g. the all-zero K of an uncalibrated camera)."""


_warned: set[str] = set()


def warn_once(logger: logging.Logger, key: str, text: str) -> None:
    """Log ``text`` as a warning on ``logger`` the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        logger.warning(text)
