"""`fo1-ros check`: load the model, run it on a synthetic scene with ground-truth boxes, print
what it found against the truth and the timings."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .. import tasks as T
from ..synth import SceneConfig, make_scene
from .common import model_flags


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="load the model and run it on a synthetic scene; timings")
    model_flags(p)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.set_defaults(handler=command)
    return p


def command(args: argparse.Namespace) -> int:
    """Load the model and run every continuous task on a synthetic scene; print timings."""
    # the engine loads torch and transformers (seconds): only when a command needs it, not for --help
    from ..engine import Engine, EngineConfig, Frame

    t0 = time.perf_counter()
    try:
        engine = Engine(EngineConfig(model_path=args.model_path or "", device=args.device or "auto"))
    except FileNotFoundError as e:
        print(f"fo1-ros check: FAILED: {e}", file=sys.stderr)
        return 1
    load_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in engine.model.parameters())
    print(f"model: {args.model_path or '(shipped)'}  {n_params / 1e6:.1f} M parameters  "
          f"{engine.device} {str(engine.dtype).replace('torch.', '')}  loaded in {load_s:.1f} s")
    scene = make_scene(args.seed, SceneConfig(width=args.width, height=args.height, n_objects=(3, 6)))
    categories = sorted({o.category for o in scene.objects})
    frame = Frame(scene.rgb, scene.depth_m, scene.K, stamp_ns=scene.stamp_ns, frame_id=scene.frame_id)
    boxes = np.array([o.box_2d for o in scene.objects], dtype=np.float64)
    jobs = [T.DetectTask(categories), T.CountTask(categories[:1]), T.CaptionTask([0])]
    result = engine.process(frame, jobs, boxes=boxes)  # ground-truth boxes: the model alone
    dets = result.results[0]
    right = sum(scene.objects[int(i)].category == label
                for label, i in zip(dets.labels, dets.region_indices))
    names = ", ".join(f"{o.colour} {o.category}" for o in scene.objects)
    print(f"scene: {len(scene.objects)} objects ({names})")
    print(f"detect {categories}: {len(dets)} regions retrieved, {right} of the right category")
    c = result.results[1][0]
    truth = sum(o.category == c.label for o in scene.objects)
    print(f"count {c.label!r}: {c.best_count} (truth {truth})")
    print(f"caption of region 0 ({scene.objects[0].colour} {scene.objects[0].category}): "
          f"{result.results[2][0].text!r}")
    if result.objects_3d is not None:
        err = [float(np.linalg.norm(o.center - g.center_cam))
               for o, g in zip(result.objects_3d, scene.objects) if o.has_3d]
        if err:
            print(f"3-D: {len(err)}/{len(boxes)} regions lifted, median centre error "
                  f"{np.median(err) * 100:.1f} cm")
    print("timing (s): " + ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items()))
    print("check OK")
    return 0
