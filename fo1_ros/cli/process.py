"""`fo1-ros process BAG --out OUT`: run the node logic over a ROS 2 bag (no ROS needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import fmt_det, node_config, node_flags, print_config


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("process", help="run the node logic over a ROS 2 bag (sqlite3 or mcap)")
    p.add_argument("bag", help="rosbag2 folder")
    p.add_argument("--out", required=True, help="output folder (bag + report)")
    node_flags(p)
    for name in ("image", "depth", "camera_info", "proposals", "queries"):
        p.add_argument(f"--{name.replace('_', '-')}-topic", default=None,
                       help=f"{name} topic in the bag (default: found by type and name)")
    p.add_argument("--namespace", default="/fo1", help="prefix of the output topics (default /fo1)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many images")
    p.set_defaults(handler=command)
    return p


def command(args: argparse.Namespace) -> int:
    from ..bag import BagTopics, process_bag  # loads torch and the engine: `--help` stays fast

    config = node_config(args)
    print_config(config)
    topics = BagTopics(image=args.image_topic or "", depth=args.depth_topic or "",
                       camera_info=args.camera_info_topic or "",
                       proposals=args.proposals_topic or "", queries=args.queries_topic or "")

    def show(i: int, s: dict) -> None:
        if args.verbose >= 1:
            dets = ", ".join(fmt_det(d) for d in s["detections"]) or "nothing"
            print(f"frame {i} t={s['stamp_s']:.2f}s: {dets}")

    report = process_bag(args.bag, args.out, config, topics=topics, storage=args.storage,
                         namespace=args.namespace, max_frames=args.max_frames,
                         progress=not args.no_progress, on_frame=show)
    print(report.to_markdown())
    print(f"output bag: {report.output}\nreport: {Path(args.out) / 'report.md'}")
    return 0
