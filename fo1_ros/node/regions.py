"""What the node knows of each region of a frame: ``RegionInfo`` (box, proposal score, the
label it was retrieved as, captions, 3-D), built from the engine's encoded state, labelled from
detections, counted, and moved to ``target_frame``; ``ProcessedFrame``: the latest frame as
the services see it.

Dimension names: ``N`` regions of the frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..engine import EncodedState, Frame
from ..geometry import Object3D
from ..proposals.base import Proposals
from ..tasks import CountResult, Detections

#: The codes msg/Region.msg gives ``reason_3d`` when a region has no 3-D.
REASON_CODES = ("no_depth", "no_camera_info", "no_valid_depth", "disabled")

#: ``(target_frame, source_frame, stamp_ns) -> (4, 4) target<-source`` or raising (tf2 live).
Transform = Callable[[str, str, int], np.ndarray]


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
    """The latest frame, kept for the services and the captions."""

    header: dict
    stamp_ns: int
    frame: Frame
    state: EncodedState | None  # None until encoded (no continuous queries: encoded on request)
    regions: list[RegionInfo]
    frame_3d: str
    queries: list[str]
    counts: list[dict]
    captioned: bool = False
    proposals: Proposals | None = None  # external proposals of the frame (for the lazy encode)


def regions_of(state: EncodedState, objects_3d: list[Object3D] | None, reason_no_3d: str,
               notes: list[str], lift_3d: bool) -> tuple[list[RegionInfo], str]:
    """(regions, frame_3d): one unlabelled RegionInfo per proposal, with its 3-D box or the
    reason it has none; frame_3d is the camera frame when 3-D was computed, else ''."""
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
        code = reason_code(reason_no_3d, notes, lift_3d)
        for r in regions:
            r.reason_3d = code
    return regions, frame_3d


def reason_code(reason: str, notes: list[str], lift_3d: bool) -> str:
    """The REASON_CODES entry (or a decode note starting with one) for a frame without 3-D."""
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


def label_regions(regions: list[RegionInfo], dets: Detections, threshold: float) -> None:
    """Give each region its best retrieved label (highest combined score >= threshold)."""
    for label, i, ms, s in zip(dets.labels, dets.region_indices, dets.model_scores, dets.scores):
        r = regions[int(i)]
        if float(s) >= threshold and (not r.label or float(s) > r.score):
            r.label, r.model_score, r.score = label, float(ms), float(s)


def unlabelled(regions: Sequence[RegionInfo]) -> list[RegionInfo]:
    """Copies of the regions with their labels and scores cleared (a service labels its own)."""
    return [dataclasses.replace(r, label="", model_score=0.0, score=0.0) for r in regions]


def frame_3d_of(state: EncodedState, regions: list[RegionInfo]) -> str:
    """The frame of the regions' 3-D boxes: the image's frame when any has 3-D, else ''."""
    return state.frame.frame_id if any(r.has_3d for r in regions) else ""


def move_to(regions: list[RegionInfo], T: np.ndarray) -> None:
    """Apply a (4, 4) target<-source transform to every region's 3-D box, in place."""
    R, t = T[:3, :3], T[:3, 3]
    for r in regions:
        if r.has_3d:
            r.center = R @ r.center + t
            r.size = np.abs(R) @ r.size  # axis-aligned extent of the rotated box


def counts_of(queries: list[str], regions: list[RegionInfo],
              model_counts: list[CountResult] | None) -> list[dict]:
    """The counts topic's entries: the model's counts when it was asked, else the detected
    regions per query."""
    if model_counts is not None:
        return [{"label": c.label, "count": int(c.best_count),
                 "region_indices": [int(i) for i in c.region_indices]} for c in model_counts]
    out = []
    for q in queries:
        idx = [r.index for r in regions if r.label == q]
        out.append({"label": q, "count": len(idx), "region_indices": idx})
    return out
