"""`fo1-ros ask IMAGE --task detect --query "red cube"`: one image (+ boxes, depth), one task,
printed (or as JSON), optionally drawn."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import cv2
import numpy as np

from .. import draw
from .. import tasks as T
from ..geometry import decode_depth
from ..model.prompt import PromptError
from .common import model_flags

if TYPE_CHECKING:  # the engine is imported when a command runs (see `command`)
    from ..engine import FrameResult

TASKS = ("detect", "count", "caption", "ocr", "vqa", "reasoning", "ground", "label")
Task = (T.DetectTask | T.CountTask | T.CaptionTask | T.OCRTask | T.VQATask | T.ReasoningTask | T.GroundingTask
        | T.LabelAllTask)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
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
    p.set_defaults(handler=command)
    return p


def _read_image(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a png/jpg (BGR(A) or grey) or a .npy file."""
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
    arr = np.load(path) if path.endswith(".npy") else cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise SystemExit(f"fo1-ros: cannot read depth {path}")
    if arr.dtype == np.uint16:
        return decode_depth(arr, "16UC1")
    if arr.dtype.kind == "f":
        return decode_depth(arr.astype(np.float32), "32FC1")
    raise SystemExit(f"fo1-ros: depth {path} must be uint16 millimetres or float metres, got {arr.dtype}")


def _parse_boxes(items: Sequence[str]) -> np.ndarray | None:
    """(N, 4) float64 xyxy from the --box values; None without any."""
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


def _task(args: argparse.Namespace) -> Task:
    """The task object --task names, from --query / --question / --regions / --detail."""
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


def _need(flag: str) -> NoReturn:
    raise SystemExit(f"fo1-ros ask: this task needs {flag}")


def _plain(value: Any) -> Any:
    """Task results (dataclasses with numpy fields) as JSON-ready data."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.round(value, 4).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def command(args: argparse.Namespace) -> int:
    # the engine loads torch and transformers (seconds): only when a command needs it, not for --help
    from ..engine import Engine, EngineConfig, Frame
    from ..proposals import make_proposal_source

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
    source = make_proposal_source(args.proposals) if boxes is None else None
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
        _print_ask(result, out)
    if args.annotate:
        _annotate_ask(args.annotate, rgb, result)
    return 0


def _print_ask(result: FrameResult, out: dict) -> None:
    """The one task's result as text: detections, counts, reasoning, grounded captions or region texts."""
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


def _annotate_ask(path: str, rgb: np.ndarray, result: FrameResult) -> None:
    """Write `rgb` with the proposals and the labels the task gave them to `path`."""
    from ..node import RegionInfo  # the node loads torch: imported when the command runs

    props = result.proposals
    regions = [RegionInfo(i, props.boxes[i], float(props.scores[i])) for i in range(len(props))]
    r = result.results[0]
    for item in (r if isinstance(r, list) else [r]):
        if hasattr(item, "labels") and hasattr(item, "region_indices") and hasattr(item, "scores"):
            for label, i, s in zip(item.labels, item.region_indices, item.scores):
                regions[int(i)].label, regions[int(i)].score = label, float(s)
    cv2.imwrite(path, draw.annotate(rgb, regions)[:, :, ::-1])
    print(f"annotated image: {path}")
