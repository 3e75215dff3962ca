"""`fo1-ros eval`: measure a model on held-out synthetic scenes (`fo1_ros.eval.run`) with the
default proposals, ground-truth boxes, or both; print the table and write the numbers as JSON."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..eval import PROPOSAL_MODES

logger = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="evaluate a model (fo1_ros.eval)",
                       description="Measure a model on held-out synthetic scenes, every capability, with the "
                                   "default proposals and with ground-truth boxes as proposals.")
    p.add_argument("--model", default="", help="model folder ('' = the shipped default model)")
    p.add_argument("--scenes", type=int, default=500, help="held-out scenes (seeds from 1 000 000)")
    p.add_argument("--proposals", choices=PROPOSAL_MODES + ("both",), default="both")
    p.add_argument("--out", default="eval_results.json", help="JSON file for the numbers")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto", help="auto (float32 on CPU, bfloat16 on CUDA), float32, ...")
    p.add_argument("--no-ss", action="store_true", help="skip the sentence-embedding caption metric")
    p.set_defaults(handler=command)
    return p


def command(args: argparse.Namespace) -> int:
    # the engine loads torch and transformers (seconds): only when this command runs, not for --help
    from ..engine import Engine, EngineConfig
    from ..eval.run import EvalConfig, evaluate, format_table
    from ..proposals import make_proposal_source

    modes = PROPOSAL_MODES if args.proposals == "both" else (args.proposals,)
    configs = {mode: EvalConfig(n_scenes=args.scenes, proposals=mode, semantic_similarity=not args.no_ss)
               for mode in modes}
    engine_config = EngineConfig(model_path=args.model, device=args.device, dtype=args.dtype)
    logger.info("engine config: %s; eval configs: %s", engine_config.to_dict(),
                {m: c.to_dict() for m, c in configs.items()})
    engine = Engine(engine_config, proposal_source=make_proposal_source("rgbd"))
    results = {mode: evaluate(engine, cfg) for mode, cfg in configs.items()}
    print(f"model {args.model or 'shipped default'}, device {engine.device}, dtype {engine.dtype}")
    print(format_table(results))
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")
    return 0
