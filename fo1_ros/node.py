"""PerceptionNode logic: inputs -> approximate-time sync -> engine -> output messages.

This module is the node without a transport. It knows every topic and service by its
(relative) name and builds every output as a plain-data message: a ``dict`` of the message's
fields (nested dicts for nested messages, lists or numpy arrays for arrays), which the rclpy
node (``fo1_ros/ros/``) and the bag writer (``fo1_ros/bag.py``) turn into their own message
objects. Input messages are duck-typed (rclpy or rosbags objects), decoded with
``fo1_ros.msgs``. No rclpy here, so bags and the live node share every line of behaviour.

Flow (live and offline alike)::

    on_image / on_depth / on_camera_info / on_proposals   (cheap: buffer and match)
        -> ApproxTimeSync (bounded, approximate-time matching by header stamp)
        -> FrameSlot (one slot: the latest frame wins; replaced frames are counted as drops)
        -> process(frame_set): decode -> engine.encode (proposals, encoders, 3-D) ->
           detect (+ count) the current queries -> detections, counts, markers,
           annotated_image (+ vision_msgs arrays)          [every frame]
        -> caption_step(): brief captions of a few regions  [rate-limited, after the above]

Every output carries the source image header (stamp and frame_id), except that 3-D data
moves to ``target_frame`` when one is configured and a transform is available.

Services (``SERVICES``) answer ``success`` / ``message`` for every failure: bad images,
reserved tokens or over-long text, out-of-range indices, no frame yet, inactive node.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import draw, msgs
from .config import Config

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Topics and services (relative names: namespaces and remaps work)
# --------------------------------------------------------------------------------------------

#: Input topics -> message type. ``image`` is used with image_transport 'raw',
#: ``image/compressed`` with 'compressed' (image_transport's naming).
INPUT_TOPICS: dict[str, str] = {
    "image": "sensor_msgs/msg/Image",
    "image/compressed": "sensor_msgs/msg/CompressedImage",
    "depth": "sensor_msgs/msg/Image",
    "camera_info": "sensor_msgs/msg/CameraInfo",
    "proposals": "fo1_ros/msg/RegionArray",
    "queries": "std_msgs/msg/String",
}
#: Output topics -> message type. The vision_msgs ones only where vision_msgs is importable.
OUTPUT_TOPICS: dict[str, str] = {
    "detections": "fo1_ros/msg/RegionArray",
    "counts": "fo1_ros/msg/ObjectCountArray",
    "descriptions": "fo1_ros/msg/RegionDescriptionArray",
    "markers": "visualization_msgs/msg/MarkerArray",
    "annotated_image": "sensor_msgs/msg/Image",
    "detections_2d": "vision_msgs/msg/Detection2DArray",
    "detections_3d": "vision_msgs/msg/Detection3DArray",
    "status": "std_msgs/msg/String",
}
VISION_TOPICS = ("detections_2d", "detections_3d")
#: Service name -> service type.
SERVICES: dict[str, str] = {
    "set_queries": "fo1_ros/srv/SetQueries",
    "detect_objects": "fo1_ros/srv/DetectObjects",
    "describe_regions": "fo1_ros/srv/DescribeRegions",
    "ask_region": "fo1_ros/srv/AskRegion",
    "count_objects": "fo1_ros/srv/CountObjects",
    "spatial_query": "fo1_ros/srv/SpatialQuery",
}

QOS_PROFILES = ("sensor_data", "default", "system_default", "services_default", "reliable",
                "best_effort")
PROPOSAL_EXTERNAL = "external"  # boxes come from the `proposals` topic
REASON_CODES = ("no_depth", "no_camera_info", "no_valid_depth", "disabled")  # msg/Region.msg

# --------------------------------------------------------------------------------------------
# Parameters: config/perception.yaml mirrored by one dataclass
# --------------------------------------------------------------------------------------------


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class NodeConfig(Config):
    """Every parameter of fo1_node (``config/perception.yaml`` holds the same keys and
    defaults; ``test/test_node.py`` checks that). ``doc`` metadata becomes the ROS parameter
    description."""

    key_noun, key_owner = "parameter", "fo1_node"

    # --- model
    model_path: str = field(default="", metadata=_doc(
        "folder of a VLM-FO1 model (config.json, *.safetensors, tokenizer); '' = shipped model"))
    device: str = field(default="auto", metadata=_doc("'auto' (cuda if available), 'cpu', 'cuda:0'"))
    dtype: str = field(default="auto", metadata=_doc("auto | float32 | bfloat16 | float16"))
    mode: str = field(default="shared", metadata=_doc(
        "shared (prefix KV reuse, batched) | naive (the reference's one prompt per question)"))
    max_batch: int = field(default=16, metadata=_doc("questions decoded together"))
    torch_threads: int = field(default=0, metadata=_doc(
        "CPU threads for torch (0 = torch's default); 1 avoids thrashing on shared, busy cores"))

    # --- proposals
    proposal_source: str = field(default="rgbd", metadata=_doc(
        "proposal source name (fo1_ros.proposals.make_proposal_source), or 'external' = only "
        "boxes from the proposals topic (boxes there replace the source's whenever they match)"))
    proposal_score_threshold: float = field(default=0.3, metadata=_doc(
        "proposals below this score are dropped"))
    proposal_nms_iou: float = field(default=0.8, metadata=_doc("NMS IoU among proposals"))
    max_regions: int = field(default=100, metadata=_doc(
        "most proposals the model sees per frame (the model takes at most 100)"))

    # --- continuous work (every frame)
    queries: list[str] = field(default_factory=lambda: ["cube", "ball", "cup"], metadata=_doc(
        "open-vocabulary labels detected in every frame; [] = no continuous detection"))
    detection_threshold: float = field(default=0.0, metadata=_doc(
        "retrieved regions with a lower combined score stay unlabelled"))
    count_mode: str = field(default="detections", metadata=_doc(
        "counts topic: 'detections' (count the detected regions, free), 'model' (the model's "
        "detect-then-count answer, one more question per query), 'off'"))

    # --- captions (separate, slower schedule)
    caption_rate_hz: float = field(default=0.2, metadata=_doc(
        "region captions per second of source time (0 = off); never delays detection"))
    caption_detail: str = field(default="brief", metadata=_doc("brief | detailed"))
    caption_max_regions: int = field(default=3, metadata=_doc(
        "regions captioned per caption round (detected ones first)"))

    # --- inputs
    image_transport: str = field(default="raw", metadata=_doc(
        "raw (subscribe image) | compressed (subscribe image/compressed)"))
    image_qos: str = field(default="sensor_data", metadata=_doc(
        "QoS profile of image/depth/camera_info: " + " | ".join(QOS_PROFILES)))
    output_qos: str = field(default="default", metadata=_doc("QoS profile of the outputs"))
    sync_slop_s: float = field(default=0.05, metadata=_doc(
        "largest stamp difference for image/depth/camera_info/proposals to match"))
    sync_queue_size: int = field(default=10, metadata=_doc("messages buffered per input"))
    sync_wait_s: float = field(default=0.5, metadata=_doc(
        "how long an image waits for its depth / camera_info / proposals"))

    # --- 3-D
    lift_3d: bool = field(default=True, metadata=_doc("lift regions to 3-D when depth is given"))
    depth_min_m: float = field(default=0.1, metadata=_doc("nearer depth readings are invalid"))
    depth_max_m: float = field(default=10.0, metadata=_doc("farther depth readings are invalid"))
    target_frame: str = field(default="", metadata=_doc(
        "frame of the 3-D outputs; '' = the camera optical frame (tf2 used only when set)"))
    tf_timeout_s: float = field(default=0.05, metadata=_doc("wait for a transform this long"))

    # --- outputs
    publish_annotated_image: bool = field(default=True, metadata=_doc("publish annotated_image"))
    publish_markers: bool = field(default=True, metadata=_doc("publish markers (RViz)"))
    publish_vision_msgs: bool = field(default=True, metadata=_doc(
        "publish detections_2d / detections_3d where vision_msgs is importable"))

    # --- requests
    max_text_chars: int = field(default=2000, metadata=_doc(
        "longest question / query accepted (longer ones are refused with a message)"))
    max_queries: int = field(default=32, metadata=_doc("most queries in one request"))

    # --- node
    autostart: bool = field(default=True, metadata=_doc(
        "configure and activate the lifecycle node at start"))
    log_throttle_s: float = field(default=5.0, metadata=_doc(
        "repeated per-frame warnings are logged at most this often"))
    status_period_s: float = field(default=2.0, metadata=_doc(
        "period of the status topic (counters as JSON); 0 = off"))
    no_image_warning_s: float = field(default=5.0, metadata=_doc(
        "warn when active and no image arrived for this long (QoS or topic names?)"))

    def __post_init__(self) -> None:
        _check_types(self)
        choices = {"mode": ("shared", "naive"), "dtype": ("auto", "float32", "bfloat16", "float16"),
                   "count_mode": ("detections", "model", "off"),
                   "caption_detail": ("brief", "detailed"),
                   "image_transport": ("raw", "compressed"),
                   "image_qos": QOS_PROFILES, "output_qos": QOS_PROFILES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"parameter {name!r} must be one of {list(allowed)}, "
                                 f"got {getattr(self, name)!r}")
        positive = ("sync_slop_s", "sync_wait_s", "tf_timeout_s", "depth_max_m")
        non_negative = ("caption_rate_hz", "log_throttle_s", "status_period_s",
                        "no_image_warning_s", "depth_min_m")
        for name in positive + non_negative:
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (value == 0 and name in positive):
                bound = "> 0" if name in positive else ">= 0"
                raise ValueError(f"parameter {name!r} must be a finite number {bound}, got {value!r}")
        if self.depth_max_m <= self.depth_min_m:
            raise ValueError(f"parameter 'depth_max_m' ({self.depth_max_m}) must be greater than "
                             f"'depth_min_m' ({self.depth_min_m})")
        for name, lo, hi in (("proposal_score_threshold", 0.0, 1.0), ("proposal_nms_iou", 1e-6, 1.0),
                             ("detection_threshold", 0.0, 1.0)):
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"parameter {name!r} must be in [{lo:g}, {hi:g}], "
                                 f"got {getattr(self, name)!r}")
        for name, lo, hi in (("max_batch", 1, 1024), ("max_regions", 1, 100), ("torch_threads", 0, 1024),
                             ("caption_max_regions", 1, 100), ("sync_queue_size", 1, 1000),
                             ("max_text_chars", 1, 100_000), ("max_queries", 1, 1000)):
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"parameter {name!r} must be an integer in [{lo}, {hi}], "
                                 f"got {getattr(self, name)!r}")
        if not self.proposal_source.strip():
            raise ValueError("parameter 'proposal_source' must not be empty "
                             f"(a source name or {PROPOSAL_EXTERNAL!r})")
        self.queries = clean_queries(self.queries, self.max_text_chars, self.max_queries)

    @classmethod
    def check(cls, data: dict[str, Any]) -> tuple[NodeConfig | None, list[str]]:
        """(config, problems): unknown keys are reported and ignored; an invalid value gives
        ``config=None``. Used by the node at start-up to report everything at once."""
        problems = cls.unknown_keys(data)
        known = {k: v for k, v in data.items() if k in cls.field_names()}
        try:
            return cls(**known), problems
        except (TypeError, ValueError) as e:
            # name every invalid value, not only the first one __post_init__ met
            each = []
            for key, value in known.items():
                try:
                    cls(**{key: value})
                except (TypeError, ValueError) as single:
                    each.append(str(single))
            return None, problems + (each or [str(e)])

    def engine_config(self) -> Any:
        from .engine import EngineConfig
        from .geometry import LiftConfig
        from .proposals.base import ProposalConfig

        return EngineConfig(
            model_path=self.model_path, device=self.device, dtype=self.dtype, mode=self.mode,
            max_batch=self.max_batch, max_regions=self.max_regions,
            proposals=ProposalConfig(score_threshold=self.proposal_score_threshold,
                                     nms_iou=self.proposal_nms_iou, top_k=self.max_regions),
            lift_3d=self.lift_3d,
            lift=LiftConfig(min_depth_m=self.depth_min_m, max_depth_m=self.depth_max_m))


def _check_types(cfg: NodeConfig) -> None:
    """Coerce int -> float where a float is declared (YAML `1` for `1.0`); reject the rest."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            if isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(cfg, f.name, value)
            ok = isinstance(value, float)
        elif isinstance(default, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
                setattr(cfg, f.name, value)
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:  # list[str]
            if isinstance(value, tuple):
                value = list(value)
                setattr(cfg, f.name, value)
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not ok:
            raise TypeError(f"parameter {f.name!r} must be of type {type(default).__name__}"
                            f"{'[str]' if isinstance(default, list) else ''}, got {value!r} "
                            f"({type(value).__name__})")


def load_params_file(path: str, node_name: str = "fo1_node") -> dict[str, Any]:
    """The parameters for ``node_name`` in a ROS 2 parameter YAML file.

    Accepts the ROS layout (``fo1_node: {ros__parameters: {...}}``, also under ``/**`` or a
    namespaced node name) and a flat mapping of parameters.
    """
    import yaml

    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    params: dict[str, Any] = {}
    found = False
    for key, value in data.items():
        if isinstance(value, dict) and "ros__parameters" in value:
            name = str(key).rstrip("/").rsplit("/", 1)[-1]
            if key in ("/**", "**") or name == node_name:
                params.update(value["ros__parameters"] or {})
                found = True
    if not found:
        if any(isinstance(v, dict) and "ros__parameters" in v for v in data.values()):
            raise ValueError(f"{path}: no ros__parameters for node {node_name!r} or '/**'")
        params = dict(data)
    return params


def clean_queries(queries: Sequence[str], max_chars: int = 2000, max_queries: int = 32) -> list[str]:
    """Validate a query vocabulary: strings, stripped, non-empty, no duplicates, no reserved
    tokens, within the length limits. Raises ValueError naming the offending entry."""
    from .model.prompt import check_user_text

    if isinstance(queries, str):
        raise ValueError(f"queries must be a list of strings, got the string {queries[:60]!r}")
    out: list[str] = []
    if len(queries) > max_queries:
        raise ValueError(f"{len(queries)} queries given; at most {max_queries} are accepted")
    for i, q in enumerate(queries):
        if not isinstance(q, str):
            raise ValueError(f"query {i} must be a string, got {type(q).__name__}")
        if len(q) > max_chars:
            raise ValueError(f"query {i} is {len(q)} characters long; the limit is {max_chars}")
        q = q.strip()
        if not q:
            raise ValueError(f"query {i} is empty")
        check_user_text(q)
        if q not in out:
            out.append(q)
    return out


def parse_query_text(text: str) -> list[str]:
    """The ``queries`` topic: comma / semicolon / newline separated labels."""
    return [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]


# --------------------------------------------------------------------------------------------
# Approximate-time matching and the latest-frame slot
# --------------------------------------------------------------------------------------------


@dataclass
class FrameSet:
    """An image with the depth, camera_info and proposals matched to it (or None)."""

    image: Any
    stamp_ns: int
    depth: Any = None
    camera_info: Any = None
    proposals: Any = None
    notes: list[str] = field(default_factory=list)  # why a stream is missing


@dataclass
class _Pending:
    msg: Any
    stamp_ns: int
    received_ns: int


class ApproxTimeSync:
    """Bounded approximate-time matching of image with depth, camera_info and proposals.

    (``message_filters`` is not on PyPI; this is a simpler policy suited to "latest frame
    wins".) Each image waits, at most ``wait_ns``, for the message of every *live* stream
    whose stamp is nearest to it within ``slop_ns``. A stream is live when a message of it
    arrived within the last ``stream_timeout_ns``; a stream that has never spoken or has gone
    quiet is not waited for. A wait ends early once a stream has delivered a stamp later than
    ``image + slop`` without a match (in-order streams cannot match any more). camera_info
    never blocks a frame for long: without a match the last one received is used (intrinsics
    rarely change; a latched camera_info is the common case). External proposals are
    required when ``need_proposals``: an image without them is dropped and counted.

    When an image is emitted, older pending images are dropped (counted in
    ``stats["dropped_superseded"]``): the newest complete frame wins. Every buffer holds at
    most ``queue_size`` messages; overflow drops the oldest (``stats["dropped_overflow"]``).
    Times are integer nanoseconds; ``now_ns`` is wall/monotonic time live, log time in bags.
    """

    STREAMS = ("depth", "camera_info", "proposals")

    def __init__(self, slop_ns: int, queue_size: int, wait_ns: int,
                 stream_timeout_ns: int | None = None, need_proposals: bool = False):
        self.slop_ns, self.wait_ns = int(slop_ns), int(wait_ns)
        self.stream_timeout_ns = int(stream_timeout_ns if stream_timeout_ns is not None
                                     else max(4 * wait_ns, 2_000_000_000))
        self.need_proposals = need_proposals
        self.images: deque[_Pending] = deque()
        self.buffers: dict[str, deque[_Pending]] = {s: deque() for s in self.STREAMS}
        self.last_received: dict[str, int | None] = {s: None for s in self.STREAMS}
        self.last_info: Any = None
        self.queue_size = int(queue_size)
        self.stats = {"dropped_superseded": 0, "dropped_overflow": 0, "dropped_no_proposals": 0,
                      "unmatched_depth": 0, "camera_info_fallback": 0}

    def _push(self, buf: deque, item: _Pending) -> None:
        buf.append(item)
        while len(buf) > self.queue_size:
            buf.popleft()
            self.stats["dropped_overflow"] += 1

    def add_image(self, msg: Any, stamp_ns: int, now_ns: int) -> list[FrameSet]:
        self._push(self.images, _Pending(msg, stamp_ns, now_ns))
        return self.poll(now_ns)

    def add(self, stream: str, msg: Any, stamp_ns: int, now_ns: int) -> list[FrameSet]:
        if stream not in self.buffers:
            raise ValueError(f"unknown stream {stream!r}; expected one of {self.STREAMS}")
        self._push(self.buffers[stream], _Pending(msg, stamp_ns, now_ns))
        self.last_received[stream] = now_ns
        if stream == "camera_info":
            self.last_info = msg
        return self.poll(now_ns)

    def _live(self, stream: str, now_ns: int) -> bool:
        last = self.last_received[stream]
        if stream == "proposals" and self.need_proposals:
            return True  # always waited for
        return last is not None and now_ns - last <= self.stream_timeout_ns

    def _match(self, stream: str, stamp_ns: int) -> _Pending | None:
        best = None
        for item in self.buffers[stream]:
            d = abs(item.stamp_ns - stamp_ns)
            if d <= self.slop_ns and (best is None or d < abs(best.stamp_ns - stamp_ns)):
                best = item
        return best

    def _state(self, img: _Pending, now_ns: int, flush: bool) -> tuple[bool, dict]:
        """(ready, matches) for one pending image."""
        matches: dict[str, _Pending | None] = {}
        ready = True
        expired = flush or now_ns - img.received_ns >= self.wait_ns
        for stream in self.STREAMS:
            m = self._match(stream, img.stamp_ns)
            matches[stream] = m
            if m is not None or not self._live(stream, now_ns):
                continue
            later = any(p.stamp_ns > img.stamp_ns + self.slop_ns for p in self.buffers[stream])
            if stream == "camera_info" and self.last_info is not None:
                # never hold a frame for intrinsics we already have, beyond the wait
                if not (expired or later):
                    ready = False
                continue
            if not (expired or later):
                ready = False
        return ready, matches

    def poll(self, now_ns: int, flush: bool = False) -> list[FrameSet]:
        """Emit the newest ready image (older pending ones are superseded); with ``flush``,
        emit every pending image in order (the end of a bag)."""
        out: list[FrameSet] = []
        if flush:
            while self.images:
                img = self.images.popleft()
                out += self._emit(img, self._state(img, now_ns, True)[1], now_ns)
            return out
        for k in range(len(self.images) - 1, -1, -1):
            img = self.images[k]
            ready, matches = self._state(img, now_ns, False)
            if ready:
                for _ in range(k):
                    self.images.popleft()
                    self.stats["dropped_superseded"] += 1
                self.images.popleft()
                out += self._emit(img, matches, now_ns)
                break
        return out

    def _emit(self, img: _Pending, matches: dict, now_ns: int) -> list[FrameSet]:
        fs = FrameSet(img.msg, img.stamp_ns)
        if matches["depth"] is not None:
            fs.depth = matches["depth"].msg
        elif self.last_received["depth"] is not None:
            self.stats["unmatched_depth"] += 1
            fs.notes.append(f"no depth within {self.slop_ns / 1e9:.3f} s of the image stamp")
        if matches["camera_info"] is not None:
            fs.camera_info = matches["camera_info"].msg
        elif self.last_info is not None:
            fs.camera_info = self.last_info
            self.stats["camera_info_fallback"] += 1
        if matches["proposals"] is not None:
            fs.proposals = matches["proposals"].msg
        elif self.need_proposals:
            self.stats["dropped_no_proposals"] += 1
            return []
        # messages at or before this frame cannot match a later image better than this one
        horizon = img.stamp_ns - self.slop_ns
        for buf in self.buffers.values():
            while buf and buf[0].stamp_ns < horizon:
                buf.popleft()
        return [fs]


class FrameSlot:
    """One slot between the input callbacks and the worker: a new frame replaces an
    unprocessed one (the replaced frame is counted in ``dropped``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: FrameSet | None = None
        self.dropped = 0

    def put(self, item: FrameSet) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def take(self, timeout_s: float | None = 0.0) -> FrameSet | None:
        with self._cond:
            if self._item is None and timeout_s:
                self._cond.wait(timeout_s)
            item, self._item = self._item, None
            return item

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


# --------------------------------------------------------------------------------------------
# Plain-data message helpers
# --------------------------------------------------------------------------------------------


def header(stamp_ns: int, frame_id: str) -> dict:
    sec, nanosec = msgs.ns_to_stamp(stamp_ns)
    return {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame_id}


def bbox(xyxy: Sequence[float]) -> dict:
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return {"center_x": (x1 + x2) / 2, "center_y": (y1 + y2) / 2, "size_x": x2 - x1, "size_y": y2 - y1}


def bbox_to_xyxy(b: Any) -> list[float]:
    """A BoundingBox2D message (or dict) as [x1, y1, x2, y2]."""
    get = b.get if isinstance(b, dict) else (lambda k: getattr(b, k))
    cx, cy, w, h = (float(get(k)) for k in ("center_x", "center_y", "size_x", "size_y"))
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def image_data(rgb: np.ndarray, hdr: dict) -> dict:
    fields = msgs.numpy_to_image_fields(rgb, "rgb8")
    return {"header": hdr, **fields.as_dict()}


def _xyz(v: Sequence[float]) -> dict:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def _f(x: Any) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0


# --------------------------------------------------------------------------------------------
# Per-frame results kept for services
# --------------------------------------------------------------------------------------------


@dataclass
class Output:
    """One message to publish: relative topic, type name, fields as plain data."""

    topic: str
    msgtype: str
    data: dict


@dataclass
class RegionInfo:
    """What the node knows of one region of the latest frame."""

    index: int
    box: np.ndarray  # (4,) xyxy pixels
    proposal_score: float
    label: str = ""
    model_score: float = 0.0
    score: float = 0.0
    description: str = ""
    text: str = ""
    has_3d: bool = False
    reason_3d: str = ""
    center: np.ndarray | None = None  # (3,) metres, in frame_3d
    size: np.ndarray | None = None  # (3,) metres


@dataclass
class ProcessedFrame:
    header: dict
    stamp_ns: int
    frame: Any  # engine.Frame
    state: Any  # engine.EncodedState (None until encoded)
    regions: list[RegionInfo]
    frame_3d: str
    queries: list[str]
    counts: list[dict]
    captioned: bool = False


class ServiceError(ValueError):
    """A request that cannot be answered; the text goes to the response's message."""


class PerceptionNode:
    """The node's logic. Thread-safe: input callbacks may run on any thread; one frame is
    processed at a time (the engine has its own lock).

    Args:
        config: the parameters.
        engine: an ``Engine`` to use (tests); default one is built by :meth:`load_engine`.
        transform: ``(target_frame, source_frame, stamp_ns) -> (4, 4) target<-source`` or
            raising; used when ``config.target_frame`` is set (the ROS layer wraps tf2).
        vision_msgs: also produce vision_msgs Detection2DArray / Detection3DArray outputs.
        clock_ns: the time base of the sync's waits (monotonic ns by default).
    """

    def __init__(self, config: NodeConfig, engine: Any = None,
                 transform: Callable[[str, str, int], np.ndarray] | None = None,
                 vision_msgs: bool = False, clock_ns: Callable[[], int] = time.monotonic_ns):
        self.config = config
        self.engine = engine
        self.transform = transform
        self.vision_msgs = vision_msgs and config.publish_vision_msgs
        self.clock_ns = clock_ns
        self._lock = threading.RLock()
        self.sync = self._new_sync()
        self.slot = FrameSlot()
        self.queries: list[str] = list(config.queries)
        self.latest: ProcessedFrame | None = None
        self._latest_proposals: Any = None  # external proposals of the latest frame
        self._last_caption_ns: int | None = None
        self._throttle: dict[str, tuple[float, int]] = {}
        self.counters: dict[str, int] = {
            "images_received": 0, "frames_processed": 0, "frames_failed": 0,
            "bad_image": 0, "bad_depth": 0, "bad_camera_info": 0, "bad_proposals": 0,
            "depth_size_mismatch": 0, "proposals_capped": 0, "transform_failed": 0,
            "captions": 0, "service_calls": 0, "service_errors": 0, "queries_rejected": 0,
        }
        self.timing: dict[str, float] = {}
        self.last_image_ns: int | None = None

    # ---- life cycle ----------------------------------------------------------------------
    def _new_sync(self) -> ApproxTimeSync:
        c = self.config
        return ApproxTimeSync(int(c.sync_slop_s * 1e9), c.sync_queue_size, int(c.sync_wait_s * 1e9),
                              need_proposals=c.proposal_source == PROPOSAL_EXTERNAL)

    def load_engine(self) -> None:
        """Build the engine (model + proposal source) from the config, unless one was given."""
        if self.engine is not None:
            return
        from .engine import Engine

        if self.config.torch_threads > 0:
            import torch

            torch.set_num_threads(self.config.torch_threads)

        source = None
        if self.config.proposal_source != PROPOSAL_EXTERNAL:
            source = make_proposal_source(self.config.proposal_source)
        self.engine = Engine(self.config.engine_config(), proposal_source=source)

    def unload_engine(self) -> None:
        """Drop the engine and the frame state that holds tensors (lifecycle deactivate)."""
        with self._lock:
            engine, self.engine, self.latest = self.engine, None, None
        if engine is not None and getattr(engine, "device", None) is not None \
                and engine.device.type == "cuda":
            import torch

            del engine
            torch.cuda.empty_cache()

    @property
    def ready(self) -> bool:
        return self.engine is not None

    def reset_inputs(self) -> None:
        """Forget buffered inputs (after a reconfigure)."""
        with self._lock:
            self.sync = self._new_sync()
            self.slot.take(0)

    def warn(self, key: str, text: str) -> None:
        """Log a per-frame problem at most once per ``log_throttle_s`` per key."""
        now = time.monotonic()
        last, suppressed = self._throttle.get(key, (-math.inf, 0))
        if now - last >= self.config.log_throttle_s:
            more = f" ({suppressed} more like this suppressed)" if suppressed else ""
            logger.warning("%s%s", text, more)
            self._throttle[key] = (now, 0)
        else:
            self._throttle[key] = (last, suppressed + 1)

    # ---- inputs --------------------------------------------------------------------------
    def on_image(self, msg: Any, now_ns: int | None = None) -> None:
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            self.counters["images_received"] += 1
            self.last_image_ns = now
            try:
                stamp = msgs.stamp_to_ns(msg.header.stamp)
            except (AttributeError, TypeError, ValueError) as e:
                self.counters["bad_image"] += 1
                self.warn("bad_image", f"image without a usable header stamp dropped: {e}")
                return
            for fs in self.sync.add_image(msg, stamp, now):
                self.slot.put(fs)

    def _on_stream(self, stream: str, msg: Any, now_ns: int | None) -> None:
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            try:
                stamp = msgs.stamp_to_ns(msg.header.stamp)
            except (AttributeError, TypeError, ValueError) as e:
                key = {"depth": "bad_depth", "camera_info": "bad_camera_info"}.get(stream,
                                                                                   "bad_proposals")
                self.counters[key] += 1
                self.warn(key, f"{stream} message without a usable header stamp dropped: {e}")
                return
            for fs in self.sync.add(stream, msg, stamp, now):
                self.slot.put(fs)

    def on_depth(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("depth", msg, now_ns)

    def on_camera_info(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("camera_info", msg, now_ns)

    def on_proposals(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("proposals", msg, now_ns)

    def poll(self, now_ns: int | None = None) -> None:
        """Release images whose wait for depth / camera_info has run out (call periodically)."""
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            for fs in self.sync.poll(now):
                self.slot.put(fs)

    def flush(self, now_ns: int | None = None) -> list[FrameSet]:
        """Every still-pending image, in order, with what matches it (the end of a bag)."""
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            return self.sync.poll(now, flush=True)

    def on_queries(self, text: str) -> dict:
        """The ``queries`` topic (std_msgs/String): comma-separated labels; '' = none."""
        text = str(text)
        limit = (self.config.max_text_chars + 1) * self.config.max_queries
        if len(text) > limit:
            self.counters["queries_rejected"] += 1
            return {"success": False, "message": f"queries not changed: the text is {len(text)} "
                    f"characters long; the limit is {limit}"}
        return self.set_queries(parse_query_text(text))

    def set_queries(self, queries: Sequence[str]) -> dict:
        try:
            cleaned = clean_queries(list(queries), self.config.max_text_chars, self.config.max_queries)
        except ValueError as e:
            self.counters["queries_rejected"] += 1
            return {"success": False, "message": f"queries not changed: {e}"}
        with self._lock:
            self.queries = cleaned
        if not cleaned:
            return {"success": True, "message": "no queries: continuous detection stopped"}
        return {"success": True, "message": f"{len(cleaned)} queries: {', '.join(cleaned)}"}

    def stats(self) -> dict:
        """Counters (drops included), the queries in force and the last frame's timings."""
        with self._lock:
            out = dict(self.counters)
            out.update(self.sync.stats)
            out["dropped_busy"] = self.slot.dropped
            out["dropped_total"] = (self.slot.dropped + self.sync.stats["dropped_superseded"]
                                    + self.sync.stats["dropped_overflow"]
                                    + self.sync.stats["dropped_no_proposals"])
            out["queries"] = list(self.queries)
            out["active"] = self.ready
            out["timing_s"] = {k: round(v, 4) for k, v in self.timing.items()}
            return out

    def status_output(self) -> Output:
        return Output("status", OUTPUT_TOPICS["status"], {"data": json.dumps(self.stats())})

    # ---- frame decoding ------------------------------------------------------------------
    def decode(self, fs: FrameSet) -> tuple[Any, dict, list[str]]:
        """(engine.Frame, header dict, notes). Raises msgs.ImageConversionError for the image;
        depth / camera_info problems only remove them (noted, counted)."""
        from .engine import Frame
        from .geometry import decode_depth

        notes = list(fs.notes)
        rgb = msgs.image_msg_to_rgb8(fs.image)  # (H, W, 3) uint8
        H, W = rgb.shape[:2]
        if H < 2 or W < 2:
            raise msgs.ImageConversionError(f"image of {W}x{H} pixels is too small")
        frame_id = str(fs.image.header.frame_id)
        hdr = header(fs.stamp_ns, frame_id)
        K = None
        if fs.camera_info is not None:
            try:
                intr = msgs.camera_info_to_intrinsics(fs.camera_info)
                K = intr.K.copy()
                if (intr.width, intr.height) != (W, H) and intr.width > 0 and intr.height > 0:
                    if abs(intr.width / intr.height - W / H) > 0.01:
                        raise msgs.CameraInfoError(
                            f"camera_info is for {intr.width}x{intr.height} images but the image "
                            f"is {W}x{H} (another aspect ratio)")
                    from .geometry import CameraModel

                    K = CameraModel.from_matrix(K, intr.width, intr.height).scaled(W, H).K
            except (msgs.MessageConversionError, ValueError) as e:
                self.counters["bad_camera_info"] += 1
                self.warn("bad_camera_info", f"camera_info ignored: {e}")
                notes.append(f"no_camera_info: {e}")
                K = None
        depth_m = depth_K = None
        if fs.depth is not None and self.config.lift_3d:
            try:
                if hasattr(fs.depth, "format"):
                    raw, enc = msgs.compressed_image_to_numpy(fs.depth)
                else:
                    raw, enc = msgs.image_to_numpy(fs.depth), str(fs.depth.encoding)
                depth_m = decode_depth(raw, enc, self.config.depth_min_m, self.config.depth_max_m)
                dh, dw = depth_m.shape
                if (dh, dw) != (H, W):
                    if abs(dw / dh - W / H) > 0.01:
                        self.counters["depth_size_mismatch"] += 1
                        raise ValueError(f"depth is {dw}x{dh} but the image is {W}x{H} (another "
                                         "aspect ratio: is the depth registered to the colour "
                                         "camera?)")
                    if K is not None:
                        from .geometry import CameraModel

                        depth_K = CameraModel.from_matrix(K, W, H).scaled(dw, dh).K
            except (msgs.MessageConversionError, ValueError) as e:
                self.counters["bad_depth"] += 1
                self.warn("bad_depth", f"depth ignored for this frame: {e}")
                notes.append(f"no_depth: {e}")
                depth_m = depth_K = None
            if depth_m is not None and str(fs.depth.header.frame_id) not in ("", frame_id):
                self.warn("depth_frame", f"depth frame_id {fs.depth.header.frame_id!r} differs "
                          f"from the image's {frame_id!r}: fo1_ros assumes depth registered to "
                          "the colour camera")
        frame = Frame(rgb=rgb, depth_m=depth_m, K=K, depth_K=depth_K, stamp_ns=fs.stamp_ns,
                      frame_id=frame_id)
        return frame, hdr, notes

    def external_proposals(self, msg: Any, image_hw: tuple[int, int]) -> Any:
        """Proposals from a RegionArray: filtered like any source, capped to max_regions."""
        from .proposals.base import ProposalConfig, postprocess

        regions = list(msg.regions)
        boxes = np.array([bbox_to_xyxy(r.bbox) for r in regions], dtype=np.float64).reshape(-1, 4)
        scores = np.array([float(r.proposal_score) if float(r.proposal_score) > 0 else 1.0
                           for r in regions], dtype=np.float64)
        limit = min(self.config.max_regions, getattr(self.engine, "max_regions", 100))
        props = postprocess(boxes, scores, image_hw,
                            ProposalConfig(self.config.proposal_score_threshold,
                                           self.config.proposal_nms_iou, limit, 1.0),
                            PROPOSAL_EXTERNAL)
        if props.dropped:
            self.counters["proposals_capped"] += 1
            self.warn("proposals_capped", f"{len(regions)} external proposals: kept {len(props)} "
                      f"(dropped {props.dropped})")
        return props

    # ---- continuous processing -----------------------------------------------------------
    def step(self, timeout_s: float = 0.0) -> list[Output]:
        """Take the latest frame (if any) and process it, then run captions if due."""
        fs = self.slot.take(timeout_s)
        out = self.process(fs) if fs is not None else []
        return out + self.caption_step()

    def process(self, fs: FrameSet) -> list[Output]:
        """Run the continuous tasks on one frame set; returns the outputs (never raises)."""
        engine = self.engine
        if engine is None:
            return []
        t0 = time.perf_counter()
        try:
            frame, hdr, notes = self.decode(fs)
        except (msgs.MessageConversionError, ValueError) as e:
            self.counters["bad_image"] += 1
            self.warn("bad_image", f"image dropped: {e}")
            return []
        queries = list(self.queries)
        try:
            proposals = (self.external_proposals(fs.proposals, frame.rgb.shape[:2])
                         if fs.proposals is not None else None)
            if not queries:  # nothing to detect: keep the frame for services, encode lazily
                with self._lock:
                    self.latest = ProcessedFrame(hdr, fs.stamp_ns, frame, None, [], "", [], [])
                    self._latest_proposals = proposals
                return []
            from .tasks import CountTask, DetectTask

            state = engine.encode(frame, proposals=proposals) if proposals is not None \
                else engine.encode(frame)
            tasks: list[Any] = [DetectTask(queries)]
            if self.config.count_mode == "model":
                tasks.append(CountTask(queries))
            result = engine.run(state, tasks)
        except Exception as e:  # noqa: BLE001 - a frame never kills the node
            self.counters["frames_failed"] += 1
            self.warn("frame_failed", f"frame {fs.stamp_ns} failed: {type(e).__name__}: {e}")
            logger.debug("frame failure", exc_info=True)
            return []
        regions, frame_3d = self._regions(state, result.objects_3d, result.reason_no_3d, notes)
        _label_regions(regions, result.results[0], self.config.detection_threshold)
        frame_3d, hdr_3d = self._to_target(regions, frame_3d, hdr, fs.stamp_ns)
        counts = self._counts(queries, regions, result.results[1] if len(result.results) > 1
                              else None)
        processed = ProcessedFrame(hdr, fs.stamp_ns, frame, state, regions, frame_3d, queries, counts)
        timing = dict(result.timings)
        timing["total"] = time.perf_counter() - t0
        with self._lock:
            self.latest = processed
            self.counters["frames_processed"] += 1
            self.timing = timing
        out = [Output("detections", OUTPUT_TOPICS["detections"],
                      region_array(hdr, frame_3d, queries, regions, timing["total"]))]
        if self.config.count_mode != "off":
            out.append(Output("counts", OUTPUT_TOPICS["counts"], {"header": hdr, "counts": counts}))
        if self.config.publish_markers:
            out.append(Output("markers", OUTPUT_TOPICS["markers"],
                              {"markers": draw.markers(hdr_3d, regions)}))
        if self.config.publish_annotated_image:
            image = draw.annotate(frame.rgb, regions, counts)
            out.append(Output("annotated_image", OUTPUT_TOPICS["annotated_image"],
                              image_data(image, hdr)))
        if self.vision_msgs:
            out += vision_outputs(hdr, hdr_3d, regions)
        return out

    def _regions(self, state: Any, objects_3d: list | None, reason_no_3d: str,
                 notes: list[str]) -> tuple[list[RegionInfo], str]:
        props = state.proposals
        regions = [RegionInfo(i, props.boxes[i].copy(), float(props.scores[i]))
                   for i in range(len(props))]
        frame_3d = ""
        if objects_3d is not None:
            frame_3d = state.frame.frame_id
            for r, o in zip(regions, objects_3d):
                if o.has_3d:
                    r.has_3d, r.center, r.size = True, np.asarray(o.center, float), np.asarray(o.size, float)
                else:
                    r.reason_3d = "no_valid_depth" + (f": {o.reason}" if o.reason else "")
        else:
            code = _reason_code(reason_no_3d, notes, self.config.lift_3d)
            for r in regions:
                r.reason_3d = code
        return regions, frame_3d

    def _to_target(self, regions: list[RegionInfo], frame_3d: str, hdr: dict,
                   stamp_ns: int) -> tuple[str, dict]:
        target = self.config.target_frame
        if not target or not frame_3d or target == frame_3d:
            return frame_3d, hdr
        if self.transform is None:
            self.warn("no_tf", f"target_frame {target!r} is set but tf2 is not available here; "
                      f"3-D stays in {frame_3d!r}")
            return frame_3d, hdr
        try:
            T = np.asarray(self.transform(target, frame_3d, stamp_ns), dtype=np.float64)
            if T.shape != (4, 4) or not np.isfinite(T).all():
                raise ValueError(f"transform is not a finite 4x4 matrix: {T.shape}")
        except Exception as e:  # noqa: BLE001 - tf errors of every kind: publish in camera frame
            self.counters["transform_failed"] += 1
            self.warn("transform_failed", f"no transform {frame_3d!r} -> {target!r}: {e}; "
                      "3-D stays in the camera frame")
            return frame_3d, hdr
        R, t = T[:3, :3], T[:3, 3]
        for r in regions:
            if r.has_3d:
                r.center = R @ r.center + t
                r.size = np.abs(R) @ r.size  # axis-aligned extent of the rotated box
        return target, {"stamp": hdr["stamp"], "frame_id": target}

    def _counts(self, queries: list[str], regions: list[RegionInfo], model_counts: Any) -> list[dict]:
        if model_counts is not None:
            return [{"label": c.label, "count": int(c.best_count),
                     "region_indices": [int(i) for i in c.region_indices]} for c in model_counts]
        out = []
        for q in queries:
            idx = [r.index for r in regions if r.label == q]
            out.append({"label": q, "count": len(idx), "region_indices": idx})
        return out

    def caption_step(self) -> list[Output]:
        """Caption a few regions of the latest frame when the caption schedule is due.

        Due once per ``1 / caption_rate_hz`` seconds of source (header) time; run after the
        frame's detections are out, so captions never delay them."""
        rate = self.config.caption_rate_hz
        with self._lock:
            latest, engine = self.latest, self.engine
            if rate <= 0 or latest is None or engine is None or latest.captioned \
                    or latest.state is None or not latest.regions:
                return []
            if self._last_caption_ns is not None and \
                    latest.stamp_ns - self._last_caption_ns < 1e9 / rate \
                    and latest.stamp_ns >= self._last_caption_ns:
                return []
            latest.captioned = True
            self._last_caption_ns = latest.stamp_ns
        order = sorted(latest.regions, key=lambda r: (r.label == "", -r.score, -r.proposal_score))
        chosen = sorted(r.index for r in order[:self.config.caption_max_regions])
        from .tasks import CaptionTask

        t0 = time.perf_counter()
        try:
            texts = engine.run(latest.state, [CaptionTask(chosen, self.config.caption_detail)]).results[0]
        except Exception as e:  # noqa: BLE001
            self.warn("caption_failed", f"captions failed: {type(e).__name__}: {e}")
            return []
        task = self.config.caption_detail
        descriptions = []
        for t in texts:
            i = t.region_indices[0]
            latest.regions[i].description = t.text
            descriptions.append({"region_index": i, "bbox": bbox(latest.regions[i].box),
                                 "task": task, "text": t.text})
        self.counters["captions"] += len(descriptions)
        return [Output("descriptions", OUTPUT_TOPICS["descriptions"],
                       {"header": latest.header, "descriptions": descriptions,
                        "inference_time_s": time.perf_counter() - t0})]

    # ---- services ------------------------------------------------------------------------
    def call_service(self, name: str, request: Any) -> dict:
        """Answer one service request (an rclpy or rosbags request object, or a dict).

        Returns the response fields as plain data; never raises."""
        self.counters["service_calls"] += 1
        handler = getattr(self, "srv_" + name, None)
        if handler is None or name not in SERVICES:
            return {"success": False, "message": f"unknown service {name!r}"}
        get = request.get if isinstance(request, dict) else (lambda k, d=None: getattr(request, k, d))
        try:
            if name != "set_queries" and self.engine is None:
                raise ServiceError("fo1_node is not active (lifecycle): activate it first")
            return handler(get)
        except (ValueError, TypeError, msgs.MessageConversionError) as e:
            # ServiceError, PromptError, ImageConversionError, SpatialQueryError, ...
            self.counters["service_errors"] += 1
            return {"success": False, "message": str(e)}
        except Exception as e:  # noqa: BLE001 - the node answers, it never dies
            self.counters["service_errors"] += 1
            logger.exception("service %s failed", name)
            return {"success": False, "message": f"internal error in {name}: {type(e).__name__}: {e}"}

    def _text(self, text: Any, what: str) -> str:
        text = str(text)
        if len(text) > self.config.max_text_chars:
            raise ServiceError(f"{what} is {len(text)} characters long; the limit is "
                               f"{self.config.max_text_chars} (parameter max_text_chars)")
        return text

    def _request_state(self, image: Any, boxes: Any = ()) -> tuple[Any, dict, list[RegionInfo] | None]:
        """(EncodedState, header, regions of the continuous result or None) for a request:
        the given image or the latest frame, with the given boxes or the proposals."""
        engine = self.engine
        xyxy = np.array([bbox_to_xyxy(b) for b in (boxes or [])], dtype=np.float64).reshape(-1, 4)
        if image is not None and not msgs.is_empty_image(image):
            rgb = msgs.image_msg_to_rgb8(image)
            from .engine import Frame

            stamp = msgs.stamp_to_ns(image.header.stamp)
            frame = Frame(rgb=rgb, stamp_ns=stamp, frame_id=str(image.header.frame_id))
            hdr = header(stamp, frame.frame_id)
            if len(xyxy):
                return engine.encode(frame, boxes=xyxy), hdr, None
            if engine.proposal_source is None:
                raise ServiceError("proposal_source is 'external': give boxes with the image")
            return engine.encode(frame), hdr, None
        with self._lock:
            latest = self.latest
        if latest is None:
            raise ServiceError("no frame received yet: publish images on the image topic or pass "
                               "an image in the request")
        if len(xyxy):
            return engine.encode(latest.frame, boxes=xyxy), latest.header, None
        if latest.state is None:  # no continuous queries: encode the latest frame now
            props = getattr(self, "_latest_proposals", None)
            state = engine.encode(latest.frame, proposals=props) if props is not None \
                else engine.encode(latest.frame)
            regions, frame_3d = self._regions(state, state.objects_3d, state.reason_no_3d, [])
            with self._lock:
                latest.state, latest.regions, latest.frame_3d = state, regions, frame_3d
        return latest.state, latest.header, latest.regions

    def _base_regions(self, state: Any, regions: list[RegionInfo] | None) -> list[RegionInfo]:
        if regions is not None:
            return [dataclasses.replace(r, label="", model_score=0.0, score=0.0) for r in regions]
        base, _ = self._regions(state, state.objects_3d, state.reason_no_3d, [])
        return base

    def srv_set_queries(self, get: Callable) -> dict:
        return self.set_queries(list(get("queries") or []))

    def srv_detect_objects(self, get: Callable) -> dict:
        queries = [self._text(q, "a query") for q in (get("queries") or [])]
        queries = clean_queries(queries, self.config.max_text_chars, self.config.max_queries) \
            if queries else list(self.queries)
        if not queries:
            raise ServiceError("no queries given and the node has no query vocabulary "
                               "(set_queries)")
        from .tasks import DetectTask

        t0 = time.perf_counter()
        state, hdr, regions = self._request_state(get("image"))
        dets = self.engine.run(state, [DetectTask(queries)]).results[0]
        regions = self._base_regions(state, regions)
        _label_regions(regions, dets, self.config.detection_threshold)
        n = sum(1 for r in regions if r.label)
        return {"success": True, "message": f"{n} of {len(regions)} regions retrieved",
                "detections": region_array(hdr, _frame_3d(state, regions), queries, regions,
                                           time.perf_counter() - t0)}

    def srv_describe_regions(self, get: Callable) -> dict:
        from .tasks import CaptionTask, OCRTask

        task = str(get("task") or "brief")
        if task not in ("brief", "detailed", "ocr"):
            raise ServiceError(f"task must be 'brief', 'detailed' or 'ocr', got {task[:40]!r}")
        t0 = time.perf_counter()
        state, hdr, _ = self._request_state(get("image"), list(get("boxes") or []))
        indices = [int(i) for i in (get("region_indices") or [])] or None
        job = OCRTask(indices) if task == "ocr" else CaptionTask(indices, task)
        texts = self.engine.run(state, [job]).results[0]
        descriptions = [{"region_index": t.region_indices[0], "bbox": bbox(t.boxes[0]),
                         "task": task, "text": t.text} for t in texts]
        return {"success": True, "message": f"{len(descriptions)} regions described",
                "descriptions": {"header": hdr, "descriptions": descriptions,
                                 "inference_time_s": time.perf_counter() - t0}}

    def srv_ask_region(self, get: Callable) -> dict:
        from .tasks import ReasoningTask, VQATask

        question = self._text(get("question") or "", "the question").strip()
        if not question:
            raise ServiceError("the question is empty")
        state, hdr, regions = self._request_state(get("image"), list(get("boxes") or []))
        indices = [int(i) for i in (get("region_indices") or [])]
        named = [int(m) for m in re.findall(r"<region(\d+)>", question)]
        from .tasks.common import check_region_indices

        # the tasks accept <regionN> references; name a bad one before the model runs
        check_region_indices(sorted(set(named)), len(state.proposals), "region named in the question")
        if bool(get("reasoning")):
            task: Any = ReasoningTask(_with_regions(question, indices, named))
        else:
            task = VQATask(question, indices)
        result = self.engine.run(state, [task]).results[0]
        if hasattr(result, "cited_regions"):
            answer, referenced = result.answer or result.thinking, list(result.cited_regions)
        else:
            answer, referenced = result.text, list(result.referenced)
        base = self._base_regions(state, regions)
        chosen = [base[i] for i in referenced if 0 <= i < len(base)]
        return {"success": True, "message": "; ".join(getattr(result, "warnings", [])[:3]),
                "answer": answer,
                "referenced": region_array(hdr, _frame_3d(state, base), [], chosen)}

    def srv_count_objects(self, get: Callable) -> dict:
        from .tasks import CountTask

        labels = [self._text(q, "a label") for q in (get("labels") or [])]
        labels = clean_queries(labels, self.config.max_text_chars, self.config.max_queries) \
            if labels else list(self.queries)
        if not labels:
            raise ServiceError("no labels given and the node has no query vocabulary")
        state, hdr, regions = self._request_state(get("image"))
        results = self.engine.run(state, [CountTask(labels)]).results[0]
        base = self._base_regions(state, regions)
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
                "detections": region_array(hdr, _frame_3d(state, base), labels, base)}

    def srv_spatial_query(self, get: Callable) -> dict:
        from .geometry import RELATIONS

        relation = self._text(get("relation") or "", "relation").strip()
        subject = self._text(get("subject") or "", "subject").strip()
        reference = self._text(get("reference") or "", "reference").strip()
        radius = float(get("radius_m") or 0.0)
        if relation not in RELATIONS:
            raise ServiceError(f"relation must be one of {list(RELATIONS)}, got {relation[:40]!r}")
        if relation == "within" and not (math.isfinite(radius) and radius > 0):
            raise ServiceError(f"'within' needs radius_m > 0, got {radius}")
        from .model.prompt import check_user_text

        for text in (subject, reference):
            check_user_text(text)
        state, hdr, regions = self._request_state(None)
        result, dets = self.engine.spatial(state, relation, subject, reference, radius)
        base = self._base_regions(state, regions)
        if dets is not None:
            _label_regions(base, dets, self.config.detection_threshold)
        with self._lock:
            frame_3d = self.latest.frame_3d if self.latest is not None else ""
        chosen = [base[m.index] for m in result.matches if 0 <= m.index < len(base)]
        return {"success": True, "message": "", "answer": result.answer,
                "matches": region_array(hdr, frame_3d, [q for q in (subject, reference) if q], chosen),
                "distances_m": [float(d) for d in result.distances_m]}


# --------------------------------------------------------------------------------------------
# Output builders
# --------------------------------------------------------------------------------------------


def make_proposal_source(name: str) -> Any:
    """The engine's proposal source by name (fo1_ros.proposals.make_proposal_source)."""
    try:
        from .proposals import make_proposal_source as factory
    except ImportError as e:
        raise RuntimeError(
            f"proposal_source {name!r} needs fo1_ros.proposals.make_proposal_source, which is not "
            f"available in this installation ({e}); set proposal_source to "
            f"'{PROPOSAL_EXTERNAL}' and publish boxes on the proposals topic") from e
    return factory(name)


def _reason_code(reason: str, notes: list[str], lift_3d: bool) -> str:
    if not lift_3d:
        return "disabled"
    text = reason.lower()
    note = next((n for n in notes if n.startswith(("no_depth", "no_camera_info"))), "")
    if note:
        return note
    if "intrinsics" in text or "camera_info" in text:
        return "no_camera_info"
    if "depth" in text:
        return "no_depth"
    return "disabled" if "disabled" in text else "no_depth"


def _label_regions(regions: list[RegionInfo], dets: Any, threshold: float) -> None:
    """Give each region its best retrieved label (highest combined score >= threshold)."""
    for label, i, ms, s in zip(dets.labels, dets.region_indices, dets.model_scores, dets.scores):
        r = regions[int(i)]
        if float(s) >= threshold and (not r.label or float(s) > r.score):
            r.label, r.model_score, r.score = label, float(ms), float(s)


def _frame_3d(state: Any, regions: list[RegionInfo]) -> str:
    return state.frame.frame_id if any(r.has_3d for r in regions) else ""


def _with_regions(question: str, indices: list[int], named: list[int]) -> str:
    """The question with its own <regionN> tags, led by the asked regions it does not name."""
    from .tasks.common import describe_region_list

    missing = [i for i in indices if i not in named]
    return f"About {describe_region_list(missing)}: {question}" if missing else question


def region_dict(r: RegionInfo) -> dict:
    return {
        "index": int(r.index), "bbox": bbox(r.box), "proposal_score": _f(r.proposal_score),
        "model_score": _f(r.model_score), "score": _f(r.score), "label": r.label,
        "description": r.description, "text": r.text, "has_3d": bool(r.has_3d),
        "reason_3d": "" if r.has_3d else r.reason_3d,
        "center_3d": _xyz(r.center) if r.has_3d else _xyz((0, 0, 0)),
        "size_3d": _xyz(r.size) if r.has_3d else _xyz((0, 0, 0)),
    }


def region_array(hdr: dict, frame_3d: str, queries: list[str], regions: list[RegionInfo],
                 inference_time_s: float = 0.0) -> dict:
    return {"header": hdr, "frame_3d": frame_3d if any(r.has_3d for r in regions) else "",
            "queries": list(queries), "regions": [region_dict(r) for r in regions],
            "inference_time_s": float(inference_time_s)}


def vision_outputs(hdr: dict, hdr_3d: dict, regions: list[RegionInfo]) -> list[Output]:
    """vision_msgs (4.x, Humble and later) Detection2DArray / Detection3DArray of the
    labelled regions: class_id = the label text, score = the combined score, id = region index."""
    d2, d3 = [], []
    for r in regions:
        if not r.label:
            continue
        hyp = {"hypothesis": {"class_id": r.label, "score": _f(r.score)}}
        b = bbox(r.box)
        d2.append({"header": hdr, "results": [hyp], "id": str(r.index),
                   "bbox": {"center": {"position": {"x": b["center_x"], "y": b["center_y"]},
                                       "theta": 0.0},
                            "size_x": b["size_x"], "size_y": b["size_y"]}})
        if r.has_3d:
            pose = {"position": _xyz(r.center), "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}
            d3.append({"header": hdr_3d, "id": str(r.index),
                       "results": [{"hypothesis": hyp["hypothesis"], "pose": {"pose": pose}}],
                       "bbox": {"center": pose, "size": _xyz(r.size)}})
    return [Output("detections_2d", OUTPUT_TOPICS["detections_2d"], {"header": hdr, "detections": d2}),
            Output("detections_3d", OUTPUT_TOPICS["detections_3d"],
                   {"header": hdr_3d, "detections": d3})]


__all__ = ["INPUT_TOPICS", "OUTPUT_TOPICS", "SERVICES", "QOS_PROFILES", "ApproxTimeSync", "FrameSet",
           "FrameSlot", "NodeConfig", "Output", "PerceptionNode", "ProcessedFrame", "RegionInfo",
           "ServiceError", "bbox", "bbox_to_xyxy", "clean_queries", "header", "load_params_file",
           "parse_query_text", "region_array"]
