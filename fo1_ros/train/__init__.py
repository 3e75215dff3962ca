"""Training of the shipped default model on synthetic data (`fo1-ros train`).

    config.py          TrainConfig, StageConfig, the stages' task weights
    data.py            the region lists a training frame shows (questions: fo1_ros.synth.questions)
    pool.py            the pre-rendered frame pool
    vision_pretrain.py stage 0: the encoders as region-attribute classifiers
    batching.py        Example, packing a batch into one forward pass, BatchLoader
    losses.py          the region-binding circuit: seeded head, attention / pointer / binding losses
    attention.py       SDPA that also returns the few supervised heads' probabilities
    loop.py            run_stage: one language stage, step by step
    run.py             train(cfg, run_dir, out_dir) and export_checkpoint: the library entry points

The command line is `fo1_ros.cli.train`.
"""
