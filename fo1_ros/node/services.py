"""The node's services (``SERVICES``): each handler takes the request's fields and answers
plain data; every failure (bad images, reserved tokens or over-long text, out-of-range
indices, no frame yet, inactive node) comes back as ``success = false`` with a message, never
as an exception.

A request may bring its own image (then it is encoded for the request) or use the latest
frame (its encoded state is reused; without continuous queries it is encoded on the first
request). Requests are rclpy or rosbags request objects (duck-typed) or dicts.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import msgs
from ..engine import EncodedState, Engine, Frame
from ..geometry import RELATIONS
from ..model.prompt import check_user_text
from ..tasks import CaptionTask, CountTask, DetectTask, OCRTask, ReasoningResult, ReasoningTask, VQATask
from ..tasks.common import check_region_indices, describe_region_list
from .config import NodeConfig
from .outputs import bbox, bbox_to_xyxy, header, region_array
from .params import clean_queries
from .regions import ProcessedFrame, RegionInfo, frame_3d_of, label_regions, regions_of, unlabelled
from .status import NodeStatus
from .topics import SERVICES

logger = logging.getLogger(__name__)

#: ``get(field, default=None)``: one field of the request.
Getter = Callable[..., Any]


class ServiceError(ValueError):
    """A request that cannot be answered; the text goes to the response's message."""


@dataclass
class ServiceContext:
    """What a service handler may use, taken from the node when the call starts."""

    engine: Engine | None  # None while the node is not active
    config: NodeConfig
    queries: list[str]  # the vocabulary in force
    latest: ProcessedFrame | None  # the latest frame, None before the first one
    lock: threading.RLock  # the node's lock: guards completing ``latest`` on the first request
    set_queries: Callable[[Sequence[str]], dict]  # the node's (changes its vocabulary)


def answer(name: str, request: Any, ctx: ServiceContext, status: NodeStatus) -> dict:
    """Answer one service request (an rclpy or rosbags request object, or a dict).

    Returns the response fields as plain data; never raises."""
    status.count("service_calls")
    handler = HANDLERS.get(name)
    if handler is None or name not in SERVICES:
        return {"success": False, "message": f"unknown service {name!r}"}
    get = request.get if isinstance(request, dict) else (lambda k, d=None: getattr(request, k, d))
    try:
        if name != "set_queries" and ctx.engine is None:
            raise ServiceError("fo1_node is not active (lifecycle): activate it first")
        return handler(ctx, get)
    except (ValueError, TypeError, msgs.MessageConversionError) as e:
        # ServiceError, PromptError, ImageConversionError, SpatialQueryError, ...
        status.count("service_errors")
        return {"success": False, "message": str(e)}
    except Exception as e:  # noqa: BLE001 - the node answers, it never dies
        status.count("service_errors")
        logger.exception("service %s failed", name)
        return {"success": False, "message": f"internal error in {name}: {type(e).__name__}: {e}"}


# ---- request helpers --------------------------------------------------------------------------

def _text(text: Any, what: str, config: NodeConfig) -> str:
    text = str(text)
    if len(text) > config.max_text_chars:
        raise ServiceError(f"{what} is {len(text)} characters long; the limit is "
                           f"{config.max_text_chars} (parameter max_text_chars)")
    return text


def _labels(ctx: ServiceContext, given: Sequence[Any], what: str) -> list[str]:
    """The request's labels (checked like the vocabulary), or the vocabulary in force."""
    labels = [_text(q, what, ctx.config) for q in given]
    return clean_queries(labels, ctx.config.max_text_chars, ctx.config.max_queries) \
        if labels else list(ctx.queries)


def request_state(ctx: ServiceContext, image: Any,
                  boxes: Sequence[Any] = ()) -> tuple[EncodedState, dict, list[RegionInfo] | None]:
    """(EncodedState, header, regions of the continuous result or None) for a request:
    the given image (a sensor_msgs/Image, empty = none) or the latest frame, with the given
    boxes (BoundingBox2D messages or dicts) or the proposals."""
    engine = ctx.engine
    xyxy = np.array([bbox_to_xyxy(b) for b in (boxes or [])], dtype=np.float64).reshape(-1, 4)
    if image is not None and not msgs.is_empty_image(image):
        rgb = msgs.image_msg_to_rgb8(image)
        stamp = msgs.stamp_to_ns(image.header.stamp)
        frame = Frame(rgb=rgb, stamp_ns=stamp, frame_id=str(image.header.frame_id))
        hdr = header(stamp, frame.frame_id)
        if len(xyxy):
            return engine.encode(frame, boxes=xyxy), hdr, None
        if engine.proposal_source is None:
            raise ServiceError("proposal_source is 'external': give boxes with the image")
        return engine.encode(frame), hdr, None
    latest = ctx.latest
    if latest is None:
        raise ServiceError("no frame received yet: publish images on the image topic or pass "
                           "an image in the request")
    if len(xyxy):
        return engine.encode(latest.frame, boxes=xyxy), latest.header, None
    if latest.state is None:  # no continuous queries: encode the latest frame now
        props = latest.proposals
        state = engine.encode(latest.frame, proposals=props) if props is not None \
            else engine.encode(latest.frame)
        regions, frame_3d = regions_of(state, state.objects_3d, state.reason_no_3d, [],
                                       ctx.config.lift_3d)
        with ctx.lock:
            latest.state, latest.regions, latest.frame_3d = state, regions, frame_3d
    return latest.state, latest.header, latest.regions


def _base_regions(ctx: ServiceContext, state: EncodedState,
                  regions: list[RegionInfo] | None) -> list[RegionInfo]:
    """The frame's regions without labels (a request labels them afresh)."""
    if regions is not None:
        return unlabelled(regions)
    base, _ = regions_of(state, state.objects_3d, state.reason_no_3d, [], ctx.config.lift_3d)
    return base


def _with_regions(question: str, indices: list[int], named: list[int]) -> str:
    """The question with its own <regionN> tags, led by the asked regions it does not name."""
    missing = [i for i in indices if i not in named]
    return f"About {describe_region_list(missing)}: {question}" if missing else question


# ---- handlers ---------------------------------------------------------------------------------

def srv_set_queries(ctx: ServiceContext, get: Getter) -> dict:
    return ctx.set_queries(list(get("queries") or []))


def srv_detect_objects(ctx: ServiceContext, get: Getter) -> dict:
    queries = _labels(ctx, get("queries") or [], "a query")
    if not queries:
        raise ServiceError("no queries given and the node has no query vocabulary "
                           "(set_queries)")
    t0 = time.perf_counter()
    state, hdr, regions = request_state(ctx, get("image"))
    dets = ctx.engine.run(state, [DetectTask(queries)]).results[0]
    regions = _base_regions(ctx, state, regions)
    label_regions(regions, dets, ctx.config.detection_threshold)
    n = sum(1 for r in regions if r.label)
    return {"success": True, "message": f"{n} of {len(regions)} regions retrieved",
            "detections": region_array(hdr, frame_3d_of(state, regions), queries, regions,
                                       time.perf_counter() - t0)}


def srv_describe_regions(ctx: ServiceContext, get: Getter) -> dict:
    task = str(get("task") or "brief")
    if task not in ("brief", "detailed", "ocr"):
        raise ServiceError(f"task must be 'brief', 'detailed' or 'ocr', got {task[:40]!r}")
    t0 = time.perf_counter()
    state, hdr, _ = request_state(ctx, get("image"), list(get("boxes") or []))
    indices = [int(i) for i in (get("region_indices") or [])] or None
    job = OCRTask(indices) if task == "ocr" else CaptionTask(indices, task)
    texts = ctx.engine.run(state, [job]).results[0]
    descriptions = [{"region_index": t.region_indices[0], "bbox": bbox(t.boxes[0]),
                     "task": task, "text": t.text} for t in texts]
    return {"success": True, "message": f"{len(descriptions)} regions described",
            "descriptions": {"header": hdr, "descriptions": descriptions,
                             "inference_time_s": time.perf_counter() - t0}}


def srv_ask_region(ctx: ServiceContext, get: Getter) -> dict:
    question = _text(get("question") or "", "the question", ctx.config).strip()
    if not question:
        raise ServiceError("the question is empty")
    state, hdr, regions = request_state(ctx, get("image"), list(get("boxes") or []))
    indices = [int(i) for i in (get("region_indices") or [])]
    named = [int(m) for m in re.findall(r"<region(\d+)>", question)]
    # the tasks accept <regionN> references; name a bad one before the model runs
    check_region_indices(sorted(set(named)), len(state.proposals), "region named in the question")
    task: ReasoningTask | VQATask
    if bool(get("reasoning")):
        task = ReasoningTask(_with_regions(question, indices, named))
    else:
        task = VQATask(question, indices)
    result = ctx.engine.run(state, [task]).results[0]
    if isinstance(result, ReasoningResult):
        text, referenced = result.answer or result.thinking, list(result.cited_regions)
    else:
        text, referenced = result.text, list(result.referenced)
    base = _base_regions(ctx, state, regions)
    chosen = [base[i] for i in referenced if 0 <= i < len(base)]
    return {"success": True, "message": "; ".join(result.warnings[:3]),
            "answer": text,
            "referenced": region_array(hdr, frame_3d_of(state, base), [], chosen)}


def srv_count_objects(ctx: ServiceContext, get: Getter) -> dict:
    labels = _labels(ctx, get("labels") or [], "a label")
    if not labels:
        raise ServiceError("no labels given and the node has no query vocabulary")
    state, hdr, regions = request_state(ctx, get("image"))
    results = ctx.engine.run(state, [CountTask(labels)]).results[0]
    base = _base_regions(ctx, state, regions)
    counts, notes = [], []
    for c in results:
        idx = [int(i) for i in c.region_indices]
        counts.append({"label": c.label, "count": int(c.best_count), "region_indices": idx})
        for i, p in zip(idx, c.model_scores):
            if not base[i].label:
                base[i].label, base[i].model_score = c.label, float(p)
                base[i].score = float(p) * base[i].proposal_score
        if not c.consistent:
            notes.append(f"{c.label}: stated {c.count}, named {len(idx)} regions")
    return {"success": True, "message": "; ".join(notes),
            "counts": {"header": hdr, "counts": counts},
            "detections": region_array(hdr, frame_3d_of(state, base), labels, base)}


def srv_spatial_query(ctx: ServiceContext, get: Getter) -> dict:
    relation = _text(get("relation") or "", "relation", ctx.config).strip()
    subject = _text(get("subject") or "", "subject", ctx.config).strip()
    reference = _text(get("reference") or "", "reference", ctx.config).strip()
    radius = float(get("radius_m") or 0.0)
    if relation not in RELATIONS:
        raise ServiceError(f"relation must be one of {list(RELATIONS)}, got {relation[:40]!r}")
    if relation == "within" and not (math.isfinite(radius) and radius > 0):
        raise ServiceError(f"'within' needs radius_m > 0, got {radius}")
    for text in (subject, reference):
        check_user_text(text)
    state, hdr, regions = request_state(ctx, None)
    result, dets = ctx.engine.spatial(state, relation, subject, reference, radius)
    base = _base_regions(ctx, state, regions)
    if dets is not None:
        label_regions(base, dets, ctx.config.detection_threshold)
    with ctx.lock:
        frame_3d = ctx.latest.frame_3d if ctx.latest is not None else ""
    chosen = [base[m.index] for m in result.matches if 0 <= m.index < len(base)]
    return {"success": True, "message": "", "answer": result.answer,
            "matches": region_array(hdr, frame_3d, [q for q in (subject, reference) if q], chosen),
            "distances_m": [float(d) for d in result.distances_m]}


#: Service name -> handler.
HANDLERS: dict[str, Callable[[ServiceContext, Getter], dict]] = {
    "set_queries": srv_set_queries,
    "detect_objects": srv_detect_objects,
    "describe_regions": srv_describe_regions,
    "ask_region": srv_ask_region,
    "count_objects": srv_count_objects,
    "spatial_query": srv_spatial_query,
}
