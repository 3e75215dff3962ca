"""`fo1-ros train`: train the default FO1 model on synthetic data, or export a run's checkpoint.

The flags override fields of a TrainConfig (defaults: the shipped model's recipe; --config a
JSON file of fields), which `fo1_ros.train.run.train` logs and trains; --export-checkpoint
writes a run's last checkpoint as a model folder instead (`export_checkpoint`).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the trainer is imported when the command runs (see `command`)
    from ..train.config import TrainConfig

logger = logging.getLogger(__name__)

SHIPPED_MODEL_DIR = "fo1_ros/assets/default_model"


def _count(least: int):
    """argparse type: an integer >= least."""
    def parse(text: str) -> int:
        n = int(text)
        if n < least:
            raise argparse.ArgumentTypeError(f"needs an integer >= {least}, got {n}")
        return n
    return parse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train a model (fo1_ros.train)",
                       description="Train the default FO1 model on synthetic data.")
    p.add_argument("--run-dir", default="runs/default", help="checkpoints, frame pool, logs (resumable)")
    p.add_argument("--out", default=None, help="final model folder (default: fo1_ros/assets/default_model, "
                                                "the shipped model; required with --export-checkpoint)")
    p.add_argument("--pool-dir", default=None, help="frame pool folder (default: RUN_DIR/pool)")
    p.add_argument("--config", default=None, help="JSON file with TrainConfig fields to override")
    p.add_argument("--frames", type=int, default=None, help="override n_frames")
    p.add_argument("--stage1-steps", type=int, default=None)
    p.add_argument("--stage2-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--no-proposer", action="store_true", help="train on jittered GT boxes + distractors only")
    p.add_argument("--device", default=None, help="auto (CUDA when present), cpu or cuda[:N] (default: config)")
    p.add_argument("--pool-workers", type=_count(1), default=None, help="processes rendering the frame pool")
    p.add_argument("--data-workers", type=_count(0), default=None,
                   help="processes making batches ahead of the model (0 = inline)")
    p.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                   help="skip stage 0: take the encoders and projectors of this model folder, train the "
                        "language model afresh (a new run only)")
    p.add_argument("--continue-from", default=None, metavar="MODEL_DIR",
                   help="skip stages 0-1: start stage 2 from every weight and the tokenizer of this model "
                        "folder or checkpoint (a new run only; see also first_seed in --config)")
    p.add_argument("--refine-vision", action="store_true",
                   help="with --init-from: run stage 0 from those encoders instead of skipping it")
    p.add_argument("--stage0-steps", type=_count(0), default=None,
                   help="override stage0.steps (vision pretraining)")
    p.add_argument("--max-steps", type=_count(0), default=None, metavar="N",
                   help="stop after N stage-1/2 steps of this call, checkpointed; run again to resume")
    p.add_argument("--export-checkpoint", action="store_true",
                   help="train nothing: write RUN_DIR's last checkpoint (e.g. of a run cut short) to --out as "
                        "a model folder")
    p.set_defaults(handler=command, parser=p)
    return p


def _apply_flags(cfg: TrainConfig, args: argparse.Namespace) -> None:
    """Override TrainConfig fields with the flags given (a falsy --frames / --batch-size is ignored)."""
    if args.frames:
        cfg.n_frames = args.frames
    if args.stage0_steps is not None:
        cfg.stage0.steps = args.stage0_steps
    if args.stage1_steps is not None:
        cfg.stage1.steps = args.stage1_steps
    if args.stage2_steps is not None:
        cfg.stage2.steps = args.stage2_steps
    if args.batch_size:
        cfg.batch_size = args.batch_size
    if args.no_proposer:
        cfg.use_proposer = False
    if args.device:
        cfg.device = args.device
    if args.pool_workers is not None:
        cfg.pool_workers = args.pool_workers
    if args.data_workers is not None:
        cfg.data_workers = args.data_workers


def command(args: argparse.Namespace) -> int:
    # training loads torch and transformers (seconds): only when this command runs, not for --help
    from ..train.config import TrainConfig
    from ..train.run import export_checkpoint, train

    parser: argparse.ArgumentParser = args.parser
    if args.export_checkpoint:
        if args.out is None:
            parser.error("--export-checkpoint needs --out MODEL_DIR "
                         "(it will not overwrite the shipped model by default)")
        try:
            out = export_checkpoint(args.run_dir, args.out)
        except (FileNotFoundError, ValueError) as e:
            parser.error(str(e))
        print(f"model written to {out}")
        return 0
    over = json.loads(Path(args.config).read_text()) if args.config else {}
    try:
        cfg = TrainConfig.from_dict(over)
    except (TypeError, ValueError) as e:
        parser.error(f"--config {args.config}: {e}")
    if args.refine_vision and not args.init_from:
        parser.error("--refine-vision continues the vision side of --init-from; give --init-from MODEL_DIR")
    _apply_flags(cfg, args)
    try:
        cfg.torch_device()  # before the pool is rendered
    except ValueError as e:
        parser.error(str(e))
    if args.continue_from and args.init_from:
        parser.error("--continue-from takes the whole model, --init-from its vision side: give one")
    # train() logs the whole config (and writes RUN_DIR/train_config.json) before any work
    out = train(cfg, args.run_dir, args.out or SHIPPED_MODEL_DIR, args.pool_dir, args.init_from,
                args.refine_vision, args.continue_from, max_steps=args.max_steps)
    if out is None:
        print(f"stopped after --max-steps {args.max_steps} (checkpoint in {args.run_dir}); "
              "run the same command again to resume")
        return 0
    print(f"model written to {out}")
    return 0
