"""The node's outputs as plain data: every message a ``dict`` of its fields (nested dicts for
nested messages, lists or numpy arrays for arrays), which the rclpy node (``fo1_ros/ros/``) and
the bag writer (``fo1_ros/bag/``) turn into their own message objects.

``Output`` is one message to publish; ``frame_outputs`` gives every output of a processed
frame (detections, counts, markers, annotated image, vision_msgs arrays) and
``descriptions_output`` the captions of a caption round. Every output carries the source
image header, except that 3-D data moves to ``target_frame`` when one is configured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import draw, msgs
from .config import NodeConfig
from .regions import ProcessedFrame, RegionInfo
from .topics import OUTPUT_TOPICS


@dataclass
class Output:
    """One message to publish: relative topic, type name, fields as plain data."""

    topic: str
    msgtype: str
    data: dict


def header(stamp_ns: int, frame_id: str) -> dict:
    """A std_msgs/Header."""
    sec, nanosec = msgs.ns_to_stamp(stamp_ns)
    return {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame_id}


def bbox(xyxy: Sequence[float]) -> dict:
    """A fo1_ros/BoundingBox2D (centre + size) of an [x1, y1, x2, y2] box."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return {"center_x": (x1 + x2) / 2, "center_y": (y1 + y2) / 2, "size_x": x2 - x1, "size_y": y2 - y1}


def bbox_to_xyxy(b: Any) -> list[float]:
    """A BoundingBox2D message (or dict) as [x1, y1, x2, y2]. ``b`` is an rclpy or rosbags
    message (duck-typed) or its plain-data dict."""
    get = b.get if isinstance(b, dict) else (lambda k: getattr(b, k))
    cx, cy, w, h = (float(get(k)) for k in ("center_x", "center_y", "size_x", "size_y"))
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def image_data(rgb: np.ndarray, hdr: dict) -> dict:
    """A sensor_msgs/Image (rgb8) of an (H, W, 3) uint8 image."""
    fields = msgs.numpy_to_image_fields(rgb, "rgb8")
    return {"header": hdr, **fields.as_dict()}


def _xyz(v: Sequence[float]) -> dict:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def _f(x: float) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0


def region_dict(r: RegionInfo) -> dict:
    """A fo1_ros/Region (NaN scores become 0; 3-D fields zero without 3-D)."""
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
    """A fo1_ros/RegionArray (``frame_3d`` only when a region has 3-D)."""
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


def frame_outputs(processed: ProcessedFrame, hdr_3d: dict, total_s: float, config: NodeConfig,
                  vision_msgs: bool) -> list[Output]:
    """Every output of one processed frame, as the parameters ask for them."""
    hdr, regions, counts = processed.header, processed.regions, processed.counts
    out = [Output("detections", OUTPUT_TOPICS["detections"],
                  region_array(hdr, processed.frame_3d, processed.queries, regions, total_s))]
    if config.count_mode != "off":
        out.append(Output("counts", OUTPUT_TOPICS["counts"], {"header": hdr, "counts": counts}))
    if config.publish_markers:
        out.append(Output("markers", OUTPUT_TOPICS["markers"],
                          {"markers": draw.markers(hdr_3d, regions)}))
    if config.publish_annotated_image:
        image = draw.annotate(processed.frame.rgb, regions, counts)
        out.append(Output("annotated_image", OUTPUT_TOPICS["annotated_image"],
                          image_data(image, hdr)))
    if vision_msgs:
        out += vision_outputs(hdr, hdr_3d, regions)
    return out


def descriptions_output(hdr: dict, descriptions: list[dict], inference_time_s: float) -> Output:
    """The descriptions topic (RegionDescriptionArray) of a caption round."""
    return Output("descriptions", OUTPUT_TOPICS["descriptions"],
                  {"header": hdr, "descriptions": descriptions, "inference_time_s": inference_time_s})
