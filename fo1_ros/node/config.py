"""fo1_node's parameters: ``NodeConfig`` mirrors ``config/perception.yaml`` (same keys, same
defaults), checks every value, and gives the ROS layer what it declares (``parameter_specs``:
name, default, description) and which parameters may change while active."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..config import Config
from ..engine import EngineConfig
from ..geometry import LiftConfig
from ..proposals.base import ProposalConfig
from .params import clean_queries
from .topics import QOS_PROFILES

PROPOSAL_EXTERNAL = "external"  # proposal_source: boxes come from the `proposals` topic

#: Parameters that may change while active (the others apply at the next activate).
RUNTIME_PARAMETERS = frozenset({
    "queries", "detection_threshold", "count_mode", "caption_rate_hz", "caption_detail",
    "caption_max_regions", "publish_annotated_image", "publish_markers", "publish_vision_msgs",
    "target_frame", "tf_timeout_s", "max_text_chars", "max_queries", "log_throttle_s",
    "no_image_warning_s", "status_period_s", "autostart"})


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class NodeConfig(Config):
    """Every parameter of fo1_node (``config/perception.yaml`` holds the same keys and
    defaults; ``test/node/test_config.py`` checks that). ``doc`` metadata becomes the ROS parameter
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

    def engine_config(self) -> EngineConfig:
        """The engine's configuration from these parameters."""
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


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter as fo1_node declares it (``ros/fo1_node.py``)."""

    name: str
    default: bool | int | float | str | list[str]
    description: str  # the ROS parameter description (the field's ``doc``)


def parameter_specs() -> list[ParameterSpec]:
    """Every field of NodeConfig as a parameter to declare, in the order of the dataclass."""
    specs = []
    for f in dataclasses.fields(NodeConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        specs.append(ParameterSpec(f.name, default, f.metadata.get("doc", "")))
    return specs
