"""Proposal recall on held-out synthetic scenes: the number that bounds everything downstream.

    python -m fo1_ros.eval.proposal_recall --n 200             # the shipped default, RGB-D
    python -m fo1_ros.eval.proposal_recall --n 200 --rgb-only  # its fallback without depth
    python -m fo1_ros.eval.proposal_recall --source hf --folder DIR [--queries cup ball]

Scenes are `fo1_ros.synth.make_scene(seed)` at the default 640x480 for seeds
``HELD_OUT_START .. HELD_OUT_START + n - 1`` (900000...): never used while designing the
default source (its parameters were chosen on seeds 800000-800099). An object counts when
``visible_fraction >= 0.3``; it is recalled at IoU t when some proposal's box overlaps its
visible box with IoU >= t. Recall is pooled over all objects of all scenes, for all
proposals and for the best 20 / 50 by score. Time is the source call alone: wall clock (mean,
median, p90; it includes waiting for a busy CPU) and process CPU time (all threads).

This is a tool beside the package layers (eval/ may import synth/ and proposals/; nothing
below imports it). Its `main` is the `python -m` entry point above: the argument parser lives
here because this module is the command (it is no subcommand of ``fo1-ros``); the library
call is `evaluate(source, n, start, ...) -> RecallReport`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..proposals import Proposals, ProposalSource, make_proposal_source
from ..synth import make_scene

logger = logging.getLogger(__name__)

HELD_OUT_START = 900000
IOU_THRESHOLDS = (0.5, 0.75)
TOP_K = (20, 50)


@dataclass
class RecallReport:
    """Pooled recall of one source on a range of synthetic scenes."""

    source: str
    seeds: tuple[int, int]  # first, last (inclusive)
    n_scenes: int
    n_objects: int
    recall: dict[str, float] = field(default_factory=dict)  # 'all@0.5', 'top20@0.75', ...
    mean_proposals: float = 0.0
    ms_mean: float = 0.0
    ms_median: float = 0.0
    ms_p90: float = 0.0
    cpu_ms_mean: float = 0.0  # process CPU time (all threads) per frame: less sensitive to a busy machine

    def lines(self) -> list[str]:
        r = self.recall
        out = [f"source {self.source}: {self.n_scenes} scenes (seeds {self.seeds[0]}..{self.seeds[1]}), "
               f"{self.n_objects} objects with visible_fraction >= 0.3"]
        for t in IOU_THRESHOLDS:
            out.append(f"recall@{t}: {r[f'all@{t}']:.3f}   top-20: {r[f'top20@{t}']:.3f}   "
                       f"top-50: {r[f'top50@{t}']:.3f}")
        out.append(f"proposals per frame: {self.mean_proposals:.1f}")
        out.append(f"time per frame: {self.ms_mean:.1f} ms mean, {self.ms_median:.1f} ms median, "
                   f"{self.ms_p90:.1f} ms p90 (wall); {self.cpu_ms_mean:.1f} ms CPU")
        return out


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (N, M) of boxes a (N, 4) and b (M, 4), xyxy."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def matched(gt: np.ndarray, props: Proposals, iou: float, top: int | None = None) -> int:
    """How many of the (G, 4) ground-truth boxes some proposal (the first `top`) hits at `iou`."""
    boxes = props.boxes if top is None else props.boxes[:top]
    if len(gt) == 0 or len(boxes) == 0:
        return 0
    return int((box_iou_np(gt, boxes).max(1) >= iou).sum())


def evaluate(source: ProposalSource, n: int = 200, start: int = HELD_OUT_START, min_visible: float = 0.3,
             use_depth: bool = True, use_K: bool = True) -> RecallReport:
    """Recall of `source` on scenes `start .. start + n - 1` (see the module docstring)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    hits = {f"{k}@{t}": 0 for t in IOU_THRESHOLDS for k in ("all", "top20", "top50")}
    n_obj = n_props = 0
    times, cpu = [], []
    for seed in range(start, start + n):
        scene = make_scene(seed)
        gt = np.array([o.box_2d for o in scene.visible_objects(min_visible)], np.float64).reshape(-1, 4)
        t0, c0 = time.perf_counter(), time.process_time()
        props = source(scene.rgb, scene.depth_m if use_depth else None, scene.K if use_K else None)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        n_obj += len(gt)
        n_props += len(props)
        for t in IOU_THRESHOLDS:
            hits[f"all@{t}"] += matched(gt, props, t)
            for k in TOP_K:
                hits[f"top{k}@{t}"] += matched(gt, props, t, k)
        logger.debug("seed %d: %d objects, %d proposals, %.1f ms", seed, len(gt), len(props), 1e3 * times[-1])
    ms = 1e3 * np.array(times)
    return RecallReport(
        source=getattr(source, "name", type(source).__name__), seeds=(start, start + n - 1), n_scenes=n,
        n_objects=n_obj, recall={k: v / max(n_obj, 1) for k, v in hits.items()}, mean_proposals=n_props / n,
        ms_mean=float(ms.mean()), ms_median=float(np.median(ms)), ms_p90=float(np.percentile(ms, 90)),
        cpu_ms_mean=1e3 * float(np.mean(cpu)))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m fo1_ros.eval.proposal_recall`` (flags as documented above)."""
    ap = argparse.ArgumentParser(prog="python -m fo1_ros.eval.proposal_recall", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="number of scenes (default 200)")
    ap.add_argument("--start", type=int, default=HELD_OUT_START, help=f"first seed (default {HELD_OUT_START})")
    ap.add_argument("--source", default="rgbd", help="rgbd (default) or hf")
    ap.add_argument("--rgb-only", action="store_true", help="give the source neither depth nor K")
    ap.add_argument("--no-K", action="store_true", help="give the source depth but no intrinsics")
    ap.add_argument("--folder", help="hf: the local model folder")
    ap.add_argument("--queries", nargs="*", default=None, help="hf zero-shot: text queries")
    ap.add_argument("--device", default="cpu", help="hf: cpu or cuda")
    ap.add_argument("--json", help="also write the report to this JSON file")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Parse, build the source, evaluate, print the report (and write it as JSON if asked)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    kwargs = {}
    if args.source == "hf":
        kwargs = {"folder": args.folder, "device": args.device}
        if args.queries:
            kwargs["queries"] = args.queries
    try:
        source = make_proposal_source(args.source, **kwargs)
    except (ValueError, FileNotFoundError) as e:
        logger.error("cannot build proposal source %r: %s", args.source, e)
        return 2
    logger.info("evaluating %s on seeds %d..%d%s", args.source, args.start, args.start + args.n - 1,
                " (RGB only)" if args.rgb_only else " (no K)" if args.no_K else "")
    report = evaluate(source, args.n, args.start, use_depth=not args.rgb_only, use_K=not (args.rgb_only or args.no_K))
    for line in report.lines():
        print(line)  # noqa: T201 - this module is a command-line tool
    if args.json:
        with open(args.json, "w") as f:
            json.dump(asdict(report), f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
