"""Evaluation on held-out synthetic scenes (`fo1-ros eval`)."""

EVAL_SEED_BASE = 1_000_000


def main(argv=None) -> int:
    from .run import main as _main

    return _main(argv)
