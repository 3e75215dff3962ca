"""The ``fo1-ros`` command: parse, print the configuration, call the library.

    fo1-ros demo [--out ./fo1_demo]          synthetic RGB-D bag -> shipped model -> report
    fo1-ros process BAG --out OUT            run the node logic over a ROS 2 bag (no ROS needed)
    fo1-ros run [ROS ARGS]                   the rclpy node (needs the colcon build sourced)
    fo1-ros ask IMAGE --task detect --query "red cube"   one image, one task, printed
    fo1-ros check                            load the model, run it on a synthetic scene, timings
    fo1-ros train ... / fo1-ros eval ...     the trainer / the evaluation (fo1_ros.train, .eval)

Only this module prints; everything else logs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("fo1_ros.cli")

TASKS = ("detect", "count", "caption", "ocr", "vqa", "reasoning", "ground", "label")


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # the node's per-frame warnings stay visible: they name dropped or degraded input
    logging.getLogger("fo1_ros.node").setLevel(min(level, logging.WARNING))


def _node_config(args: argparse.Namespace, **fixed: Any) -> Any:
    """NodeConfig from --params (a ROS parameter file), then -p key=value, then the flags."""
    from .node import NodeConfig, load_params_file

    data: dict[str, Any] = {}
    if getattr(args, "params", None):
        data.update(load_params_file(args.params))
    for item in getattr(args, "param", None) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"fo1-ros: -p expects key=value, got {item!r}")
        data[key.strip()] = _yaml_value(value)
    for key in ("model_path", "device", "queries"):
        value = getattr(args, key, None)
        if value not in (None, []):
            data[key] = value
    data.update(fixed)
    try:
        return NodeConfig.from_dict(data)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"fo1-ros: bad parameters: {e}") from e


def _yaml_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _print_config(config: Any) -> None:
    data = config.to_dict()
    shown = {k: data[k] for k in ("model_path", "device", "proposal_source", "queries",
                                  "count_mode", "caption_rate_hz", "max_regions")}
    shown["model_path"] = shown["model_path"] or "(shipped model)"
    print("config: " + ", ".join(f"{k}={v}" for k, v in shown.items()))


def _fmt_det(d: dict) -> str:
    where = f" at {d['center_3d'][2]:.2f} m" if "center_3d" in d else ""
    return f"{d['label']} (region {d['region']}, {d['score']:.2f}{where})"


# --------------------------------------------------------------------------------------------
# process
# --------------------------------------------------------------------------------------------


def cmd_process(args: argparse.Namespace) -> int:
    from .bag import BagTopics, process_bag

    config = _node_config(args)
    _print_config(config)
    topics = BagTopics(image=args.image_topic or "", depth=args.depth_topic or "",
                       camera_info=args.camera_info_topic or "",
                       proposals=args.proposals_topic or "", queries=args.queries_topic or "")

    def show(i: int, s: dict) -> None:
        if args.verbose >= 1:
            dets = ", ".join(_fmt_det(d) for d in s["detections"]) or "nothing"
            print(f"frame {i} t={s['stamp_s']:.2f}s: {dets}")

    report = process_bag(args.bag, args.out, config, topics=topics, storage=args.storage,
                         namespace=args.namespace, max_frames=args.max_frames,
                         progress=not args.no_progress, on_frame=show)
    print(report.to_markdown())
    print(f"output bag: {report.output}\nreport: {Path(args.out) / 'report.md'}")
    return 0


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


DEMO_MARKER = ".fo1-ros-demo"


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic RGB-D sequence -> bag -> the node logic with the shipped model -> report."""
    from .bag import FrameData, process_bag, write_frames_bag
    from .node import PerceptionNode
    from .synth import SceneConfig, make_sequence

    out = Path(args.out)
    marker = out / DEMO_MARKER  # an earlier demo's folder is replaced; anything else only with --force
    if out.exists() and any(out.iterdir()):
        if not (args.force or marker.exists()):
            raise SystemExit(f"fo1-ros demo: {out} exists, is not empty and is not an earlier demo's output "
                             "(use --force or --out)")
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by fo1-ros demo; the next demo run replaces this folder\n")
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
    config = _node_config(args, **fixed)
    _print_config(config)
    node = PerceptionNode(config)
    t_load = time.perf_counter()
    try:
        node.load_engine()
    except FileNotFoundError as e:
        raise SystemExit(f"fo1-ros demo: {e}\n(the shipped model goes to "
                         "fo1_ros/assets/default_model; or pass --model PATH)") from e
    print(f"model loaded in {time.perf_counter() - t_load:.1f} s")
    truth = {s.stamp_ns: s for s in scenes}

    def show(i: int, s: dict) -> None:
        scene = truth.get(int(round(s["stamp_s"] * 1e9)))
        dets = ", ".join(_fmt_det(d) for d in s["detections"]) or "nothing"
        counts = ", ".join(f"{k}: {v}" for k, v in s["counts"].items())
        gt = ""
        if scene is not None:
            names = [(o.category, f"{o.colour} {o.category}") for o in scene.objects]
            gt = ", ".join(f"{q}: {sum(q in n for n in names)}" for q in queries)
        print(f"frame {i:2d} t={s['stamp_s']:.2f}s  {s['timing_s'].get('total', 0):.1f}s  "
              f"counts [{counts}]  (truth [{gt}])\n          found: {dets}")
        for c in s["captions"]:
            print(f"          caption of region {c['region_index']}: {c['text']!r}")

    report = process_bag(in_bag, out, config, engine=node.engine, storage=args.storage,
                         progress=not args.no_progress, on_frame=show, node=node)
    print()
    latest = node.latest
    if latest is not None and latest.regions:
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
    print(f"\n{report.frames_processed} frames in {report.wall_s:.1f} s "
          f"({report.timing_s.get('total', {}).get('mean', 0):.2f} s/frame mean)")
    for label, c in report.counts.items():
        print(f"  {label}: mean count {c['mean']:.2f}, max {c['max']:.0f}")
    print(f"\noutput bag: {report.output}  (ros2 bag play / Foxglove)\n"
          f"report: {out / 'report.md'}\ncontact sheet: {report.contact_sheet or '(none)'}")
    return 0


def _demo_queries(scenes: Sequence[Any]) -> list[str]:
    """The three categories most present in the sequence (the demo's vocabulary)."""
    from collections import Counter

    counter = Counter(o.category for s in scenes[:1] for o in s.objects)
    return [c for c, _ in counter.most_common(3)] or ["cube"]


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib.util

    if importlib.util.find_spec("rclpy") is None:  # rclpy itself is imported only inside fo1_ros.ros
        print("fo1-ros run: rclpy is not importable. Install ROS 2 (e.g. scripts/ros_build.sh "
              "installs ROS 2 Kilted wheels into the venv), build and source this package:\n"
              "    scripts/ros_build.sh && source build/ros/install/local_setup.bash", file=sys.stderr)
        return 2
    from .ros import fo1_node

    if fo1_node.IMPORT_ERROR is not None:
        print(f"fo1-ros run: {fo1_node.IMPORT_ERROR}; {fo1_node.BUILD_HINT}", file=sys.stderr)
        return 2
    ros_args = list(rest)
    if args.params:
        ros_args = ["--ros-args", "--params-file", args.params] + (
            ros_args[1:] if ros_args[:1] == ["--ros-args"] else ros_args)
    return fo1_node.main(["fo1_node"] + ros_args)


# --------------------------------------------------------------------------------------------
# ask
# --------------------------------------------------------------------------------------------


def _read_image(path: str) -> np.ndarray:
    import cv2

    if path.endswith(".npy"):
        arr = np.load(path)
    else:
        arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise SystemExit(f"fo1-ros: cannot read image {path}")
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.dtype != np.uint8:
        raise SystemExit(f"fo1-ros: {path} is not an 8-bit image ({arr.dtype})")
    return np.ascontiguousarray(arr)


def _read_depth(path: str) -> np.ndarray:
    """A depth image: 16-bit PNG/TIFF in millimetres or .npy (uint16 mm or float metres)."""
    import cv2

    from .geometry import decode_depth

    arr = np.load(path) if path.endswith(".npy") else cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise SystemExit(f"fo1-ros: cannot read depth {path}")
    if arr.dtype == np.uint16:
        return decode_depth(arr, "16UC1")
    if arr.dtype.kind == "f":
        return decode_depth(arr.astype(np.float32), "32FC1")
    raise SystemExit(f"fo1-ros: depth {path} must be uint16 millimetres or float metres, got {arr.dtype}")


def _parse_boxes(items: Sequence[str]) -> np.ndarray | None:
    if not items:
        return None
    boxes = []
    for item in items:
        try:
            values = [float(v) for v in item.replace(" ", ",").split(",") if v]
        except ValueError as e:
            raise SystemExit(f"fo1-ros: --box expects x1,y1,x2,y2, got {item!r}") from e
        if len(values) != 4:
            raise SystemExit(f"fo1-ros: --box expects x1,y1,x2,y2, got {item!r}")
        boxes.append(values)
    return np.array(boxes, dtype=np.float64)


def _task(args: argparse.Namespace) -> Any:
    from . import tasks as T

    regions = args.regions or None
    text = args.question or ""
    if args.task == "detect":
        return T.DetectTask(args.query or _need("--query"))
    if args.task == "count":
        return T.CountTask(args.query or _need("--query"))
    if args.task == "caption":
        return T.CaptionTask(regions, args.detail)
    if args.task == "ocr":
        return T.OCRTask(regions)
    if args.task == "vqa":
        return T.VQATask(text or _need("--question"), regions or [])
    if args.task == "reasoning":
        return T.ReasoningTask(text or _need("--question"))
    if args.task == "ground":
        return T.GroundingTask()
    return T.LabelAllTask()


def _need(flag: str) -> Any:
    raise SystemExit(f"fo1-ros ask: this task needs {flag}")


def _plain(value: Any) -> Any:
    """Task results (dataclasses with numpy fields) as JSON-ready data."""
    import dataclasses

    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.round(value, 4).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def cmd_ask(args: argparse.Namespace) -> int:
    from .engine import Engine, EngineConfig, Frame
    from .model.prompt import PromptError

    rgb = _read_image(args.image)
    depth = _read_depth(args.depth) if args.depth else None
    K = None
    if args.K:
        fx, fy, cx, cy = (float(v) for v in args.K.split(","))
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)
    boxes = _parse_boxes(args.box)
    try:
        task = _task(args)
    except (PromptError, ValueError) as e:
        raise SystemExit(f"fo1-ros ask: {e}") from e
    source = None
    if boxes is None:
        from .node import make_proposal_source

        source = make_proposal_source(args.proposals)
    try:
        engine = Engine(EngineConfig(model_path=args.model_path or "", device=args.device or "auto"),
                        proposal_source=source)
    except FileNotFoundError as e:
        raise SystemExit(f"fo1-ros ask: {e}") from e
    frame = Frame(rgb=rgb, depth_m=depth, K=K, stamp_ns=0, frame_id="image")
    try:
        result = engine.process(frame, [task], boxes=boxes)
    except ValueError as e:
        raise SystemExit(f"fo1-ros ask: {e}") from e
    out = {"task": args.task, "regions": len(result.proposals),
           "boxes": np.round(result.proposals.boxes, 1).tolist(),
           "result": _plain(result.results[0]),
           "timing_s": {k: round(v, 3) for k, v in result.timings.items()}}
    if result.objects_3d is not None:
        out["objects_3d"] = [{"region": o.index, "has_3d": o.has_3d,
                              "center": np.round(o.center, 3).tolist() if o.has_3d else None,
                              "reason": o.reason} for o in result.objects_3d]
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print_ask(args.task, result, out)
    if args.annotate:
        _annotate_ask(args.annotate, rgb, result)
    return 0


def _print_ask(task: str, result: Any, out: dict) -> None:
    r = result.results[0]
    print(f"{out['regions']} regions; {sum(out['timing_s'].get(k, 0) for k in ('total',)):.2f} s")
    items = r if isinstance(r, list) else [r]
    for item in items:
        if hasattr(item, "labels") and hasattr(item, "region_indices"):  # Detections
            if not len(item.labels):
                print("nothing found")
            for label, i, s, b in zip(item.labels, item.region_indices, item.scores, item.boxes):
                print(f"{label}: region {int(i)} score {float(s):.2f} box {np.round(b, 1).tolist()}")
        elif hasattr(item, "best_count"):
            print(f"{item.label}: {item.best_count} (regions {item.region_indices.tolist()})")
        elif hasattr(item, "thinking"):
            print(f"thinking: {item.thinking}\nanswer: {item.answer}")
        elif hasattr(item, "caption"):
            print(item.caption)
            for p in item.phrases:
                print(f"  {p.phrase}: regions {p.region_indices}")
        else:
            print(f"regions {item.region_indices}: {item.text}")


def _annotate_ask(path: str, rgb: np.ndarray, result: Any) -> None:
    import cv2

    from . import draw
    from .node import RegionInfo

    props = result.proposals
    regions = [RegionInfo(i, props.boxes[i], float(props.scores[i])) for i in range(len(props))]
    r = result.results[0]
    for item in (r if isinstance(r, list) else [r]):
        if hasattr(item, "labels") and hasattr(item, "region_indices") and hasattr(item, "scores"):
            for label, i, s in zip(item.labels, item.region_indices, item.scores):
                regions[int(i)].label, regions[int(i)].score = label, float(s)
    cv2.imwrite(path, draw.annotate(rgb, regions)[:, :, ::-1])
    print(f"annotated image: {path}")


# --------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Load the model and run every continuous task on a synthetic scene; print timings."""
    from . import tasks as T
    from .engine import Engine, EngineConfig, Frame
    from .synth import SceneConfig, make_scene

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


# --------------------------------------------------------------------------------------------
# train / eval: delegated
# --------------------------------------------------------------------------------------------


def _delegate(module: str, argv: list[str]) -> int:
    import importlib

    try:
        mod = importlib.import_module(f"fo1_ros.{module}")
    except ImportError as e:
        print(f"fo1-ros {module}: fo1_ros.{module} is not available ({e})", file=sys.stderr)
        return 2
    main = getattr(mod, "main", None)
    if main is None:
        print(f"fo1-ros {module}: fo1_ros.{module} has no main(argv)", file=sys.stderr)
        return 2
    code = main(argv)
    return int(code or 0)


# --------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fo1-ros", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n")[1])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", dest="model_path", default=None,
                       help="VLM-FO1 model folder (default: the shipped model)")
        p.add_argument("--device", default=None, help="auto | cpu | cuda:0 (default: auto)")

    def node_flags(p: argparse.ArgumentParser) -> None:
        model_flags(p)
        p.add_argument("--params", help="ROS 2 parameter file (e.g. config/perception.yaml)")
        p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                       help="one node parameter (repeatable), e.g. -p caption_rate_hz=0.5")
        p.add_argument("--queries", nargs="+", metavar="LABEL", help="the query vocabulary")
        p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap",
                       help="storage of the bags written (default mcap)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

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

    p = sub.add_parser("process", help="run the node logic over a ROS 2 bag (sqlite3 or mcap)")
    p.add_argument("bag", help="rosbag2 folder")
    p.add_argument("--out", required=True, help="output folder (bag + report)")
    node_flags(p)
    for name in ("image", "depth", "camera_info", "proposals", "queries"):
        p.add_argument(f"--{name.replace('_', '-')}-topic", default=None,
                       help=f"{name} topic in the bag (default: found by type and name)")
    p.add_argument("--namespace", default="/fo1", help="prefix of the output topics (default /fo1)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many images")

    p = sub.add_parser("run", help="start the rclpy node (extra arguments go to ROS)")
    p.add_argument("--params", help="ROS 2 parameter file")

    p = sub.add_parser("ask", help="one image (+ boxes / depth), one task, printed")
    p.add_argument("image", help="image file (png/jpg, or .npy uint8 RGB)")
    p.add_argument("--task", choices=TASKS, default="detect")
    p.add_argument("--query", nargs="+", help="labels / phrases (detect, count)")
    p.add_argument("--question", help="the question (vqa, reasoning)")
    p.add_argument("--box", action="append", metavar="X1,Y1,X2,Y2",
                   help="a region in pixels (repeatable); default: the proposal source")
    p.add_argument("--regions", type=int, nargs="+", help="region indices (caption, ocr, vqa)")
    p.add_argument("--detail", choices=("brief", "detailed"), default="brief")
    p.add_argument("--depth", help="depth: 16-bit png (mm) or .npy (uint16 mm / float m)")
    p.add_argument("--K", help="intrinsics fx,fy,cx,cy (for 3-D with --depth)")
    p.add_argument("--proposals", default="rgbd", help="proposal source without --box (default rgbd)")
    p.add_argument("--annotate", metavar="PNG", help="write the image with the results drawn")
    p.add_argument("--json", action="store_true", help="print JSON")
    model_flags(p)

    p = sub.add_parser("check", help="load the model and run it on a synthetic scene; timings")
    model_flags(p)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)

    sub.add_parser("train", help="train a model (fo1_ros.train; arguments passed on)", add_help=False)
    sub.add_parser("eval", help="evaluate a model (fo1_ros.eval; arguments passed on)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # train / eval / run take their own arguments: hand over everything after the command
    for i, word in enumerate(argv):
        if word.startswith("-") and word not in ("-v", "-vv", "--verbose"):
            continue
        if word in ("train", "eval"):
            _setup_logging(argv[:i].count("-v") + argv[:i].count("--verbose") + 2 * argv[:i].count("-vv"))
            return _delegate(word, argv[i + 1:])
        break
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "run":
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    _setup_logging(args.verbose)
    commands = {"process": cmd_process, "demo": cmd_demo, "ask": cmd_ask, "check": cmd_check}
    if args.command == "run":
        return cmd_run(args, rest)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
