"""`fo1-ros demo`: render a synthetic RGB-D sequence, process it with the shipped model as the
node would, print what it found against the ground truth, save a bag, a report and a contact
sheet."""

from __future__ import annotations

import argparse
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..synth import Scene, SceneConfig, make_sequence
from .common import fmt_det, node_config, node_flags, print_config

if TYPE_CHECKING:  # the node loads torch and the engine: imported when the command runs
    from ..node import PerceptionNode

DEMO_MARKER = ".fo1-ros-demo"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="synthetic RGB-D bag -> shipped model -> printed results + report")
    node_flags(p)
    p.add_argument("--out", default="fo1_demo", help="output folder (default ./fo1_demo)")
    p.add_argument("--frames", type=int, default=20, help="frames in the sequence (default 20)")
    p.add_argument("--seed", type=int, default=7, help="scene seed (default 7)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--rate", type=float, default=10.0, help="camera rate, Hz (default 10)")
    p.add_argument("--caption-rate", type=float, default=1.0,
                   help="caption rounds per second of bag time (default 1)")
    p.add_argument("--proposals", choices=("default", "gt"), default="default",
                   help="default: the shipped proposer; gt: ground-truth boxes on a proposals topic")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty --out folder (an earlier demo's is always replaced)")
    p.set_defaults(handler=command)
    return p


def _prepare_out(out: Path, force: bool) -> None:
    """An empty output folder marked as the demo's: an earlier demo's folder is replaced,
    anything else only with --force."""
    marker = out / DEMO_MARKER
    if out.exists() and any(out.iterdir()):
        if not (force or marker.exists()):
            raise SystemExit(f"fo1-ros demo: {out} exists, is not empty and is not an earlier demo's output "
                             "(use --force or --out)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by fo1-ros demo; the next demo run replaces this folder\n")


def _demo_queries(scenes: Sequence[Scene]) -> list[str]:
    """The three categories most present in the sequence (the demo's vocabulary)."""
    counter = Counter(o.category for s in scenes[:1] for o in s.objects)
    return [c for c, _ in counter.most_common(3)] or ["cube"]


def _frame_printer(scenes: Sequence[Scene], queries: list[str]):
    """on_frame callback of process_bag: each frame's counts (with the truth), detections, captions."""
    truth = {s.stamp_ns: s for s in scenes}

    def show(i: int, s: dict) -> None:
        scene = truth.get(int(round(s["stamp_s"] * 1e9)))
        dets = ", ".join(fmt_det(d) for d in s["detections"]) or "nothing"
        counts = ", ".join(f"{k}: {v}" for k, v in s["counts"].items())
        gt = ""
        if scene is not None:
            names = [(o.category, f"{o.colour} {o.category}") for o in scene.objects]
            gt = ", ".join(f"{q}: {sum(q in n for n in names)}" for q in queries)
        print(f"frame {i:2d} t={s['stamp_s']:.2f}s  {s['timing_s'].get('total', 0):.1f}s  "
              f"counts [{counts}]  (truth [{gt}])\n          found: {dets}")
        for c in s["captions"]:
            print(f"          caption of region {c['region_index']}: {c['text']!r}")
    return show


def _ask_about_latest(node: PerceptionNode, queries: list[str]) -> None:
    """Two service calls on the last frame, as a ROS client would make them: spatial, caption."""
    latest = node.latest
    if latest is None or not latest.regions:
        return
    answer = node.call_service("spatial_query", {"relation": "nearest", "subject": queries[0]})
    if answer["success"]:
        print(f"spatial: which {queries[0]} is nearest the camera? {answer['answer']}")
    else:
        print(f"spatial: (no answer: {answer['message']})")
    labelled = [r.index for r in latest.regions if r.label][:1] or [latest.regions[0].index]
    answer = node.call_service("describe_regions", {"region_indices": labelled, "task": "brief"})
    if answer["success"] and answer["descriptions"]["descriptions"]:
        d = answer["descriptions"]["descriptions"][0]
        print(f"caption: region {d['region_index']}: {d['text']!r}")


def command(args: argparse.Namespace) -> int:
    """Synthetic RGB-D sequence -> bag -> the node logic with the shipped model -> report."""
    from ..bag import FrameData, process_bag, write_frames_bag  # load torch: `--help` stays fast
    from ..node import PerceptionNode

    out = Path(args.out)
    _prepare_out(out, args.force)
    t0 = time.perf_counter()
    scenes = make_sequence(args.seed, args.frames, SceneConfig(width=args.width, height=args.height,
                                                               n_objects=(4, 8)),
                           rate_hz=args.rate)
    queries = args.queries or _demo_queries(scenes)
    gt_boxes = args.proposals == "gt"
    frames = [FrameData(s.rgb, s.stamp_ns, s.depth_mm, s.K, s.frame_id,
                        boxes=np.array([o.box_2d for o in s.objects]) if gt_boxes else None)
              for s in scenes]
    in_bag = out / "input_bag"
    written = write_frames_bag(in_bag, frames, storage=args.storage)
    print(f"wrote {len(scenes)} synthetic RGB-D frames ({args.width}x{args.height}) to {in_bag} "
          f"({', '.join(f'{t}: {n}' for t, n in written.items())}) in {time.perf_counter() - t0:.1f} s")
    fixed: dict[str, Any] = {"queries": queries, "caption_rate_hz": args.caption_rate}
    if gt_boxes:
        fixed["proposal_source"] = "external"
    config = node_config(args, **fixed)
    print_config(config)
    node = PerceptionNode(config)
    t_load = time.perf_counter()
    try:
        node.load_engine()
    except FileNotFoundError as e:
        raise SystemExit(f"fo1-ros demo: {e}\n(the shipped model goes to "
                         "fo1_ros/assets/default_model; or pass --model PATH)") from e
    print(f"model loaded in {time.perf_counter() - t_load:.1f} s")
    report = process_bag(in_bag, out, config, engine=node.engine, storage=args.storage,
                         progress=not args.no_progress, on_frame=_frame_printer(scenes, queries), node=node)
    print()
    _ask_about_latest(node, queries)
    print(f"\n{report.frames_processed} frames in {report.wall_s:.1f} s "
          f"({report.timing_s.get('total', {}).get('mean', 0):.2f} s/frame mean)")
    for label, c in report.counts.items():
        print(f"  {label}: mean count {c['mean']:.2f}, max {c['max']:.0f}")
    print(f"\noutput bag: {report.output}  (ros2 bag play / Foxglove)\n"
          f"report: {out / 'report.md'}\ncontact sheet: {report.contact_sheet or '(none)'}")
    return 0
