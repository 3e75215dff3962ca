"""The trainer's old import path, kept for code written before it was split (test/test_config.py,
the tools/ scripts): every name it had, re-exported from where it lives now. New code imports
from those modules (see the package docstring); the command line is `fo1_ros.cli.train`.
"""

from .batching import BatchLoader, Example, forward_examples, make_example, stage_example
from .config import STAGE1_WEIGHTS, STAGE2_WEIGHTS, VALIDATION_SEED_BASE, StageConfig, TrainConfig
from .losses import (
                     ATTN_CARRY,
                     ATTN_INDUCTION,
                     ATTN_POINTER,
                     attention_loss,
                     attention_slots,
                     attention_targets,
                     binding_targets,
                     seed_previous_token_head,
)
from .run import ENCODER_MODULES, VISION_PROJECTORS, build_tokenizer, export_checkpoint, init_vision_from, train

__all__ = ["ATTN_CARRY", "ATTN_INDUCTION", "ATTN_POINTER", "ENCODER_MODULES", "STAGE1_WEIGHTS", "STAGE2_WEIGHTS",
           "VALIDATION_SEED_BASE", "VISION_PROJECTORS", "BatchLoader", "Example", "StageConfig", "TrainConfig",
           "attention_loss", "attention_slots", "attention_targets", "binding_targets", "build_tokenizer",
           "export_checkpoint", "forward_examples", "init_vision_from", "make_example", "seed_previous_token_head",
           "stage_example", "train"]
