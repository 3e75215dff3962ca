"""Training of the shipped default model on synthetic data (`fo1-ros train`)."""


def main(argv=None) -> int:
    from .trainer import main as _main

    return _main(argv)
