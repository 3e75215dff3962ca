"""The continuous work of the node: on every frame, encode it once and detect (and, with
``count_mode: model``, count) the queries in force, giving the regions with labels and 3-D,
moved to ``target_frame``; and, on their own slower schedule in source time, brief captions
of a few regions of the latest frame (after its detections are out, so never delaying them).
"""

from __future__ import annotations

import time

import numpy as np

from ..engine import EncodedState, Engine, Frame, FrameResult
from ..proposals.base import Proposals
from ..tasks import CaptionTask, CountTask, DetectTask
from .config import NodeConfig
from .outputs import Output, bbox, descriptions_output
from .regions import (
    ProcessedFrame,
    RegionInfo,
    Transform,
    counts_of,
    label_regions,
    move_to,
    regions_of,
)
from .status import NodeStatus


def detect(engine: Engine, frame: Frame, proposals: Proposals | None, queries: list[str],
           count_mode: str) -> tuple[EncodedState, FrameResult]:
    """Encode the frame (with the external proposals, else the engine's source) and run the
    detection of the queries, plus the model's counts when ``count_mode`` is 'model'."""
    state = engine.encode(frame, proposals=proposals) if proposals is not None \
        else engine.encode(frame)
    tasks: list[DetectTask | CountTask] = [DetectTask(queries)]
    if count_mode == "model":
        tasks.append(CountTask(queries))
    return state, engine.run(state, tasks)


def processed_frame(frame: Frame, state: EncodedState, result: FrameResult, hdr: dict,
                    notes: list[str], queries: list[str], config: NodeConfig,
                    transform: Transform | None, status: NodeStatus) -> tuple[ProcessedFrame, dict]:
    """(the frame's record, the header of its 3-D outputs): regions labelled from the
    detections, 3-D moved to ``target_frame`` where possible, counts."""
    regions, frame_3d = regions_of(state, result.objects_3d, result.reason_no_3d, notes,
                                   config.lift_3d)
    label_regions(regions, result.results[0], config.detection_threshold)
    frame_3d, hdr_3d = to_target(regions, frame_3d, hdr, frame.stamp_ns, config, transform, status)
    counts = counts_of(queries, regions, result.results[1] if len(result.results) > 1 else None)
    processed = ProcessedFrame(hdr, frame.stamp_ns, frame, state, regions, frame_3d, queries, counts)
    return processed, hdr_3d


def to_target(regions: list[RegionInfo], frame_3d: str, hdr: dict, stamp_ns: int,
              config: NodeConfig, transform: Transform | None,
              status: NodeStatus) -> tuple[str, dict]:
    """(frame_3d, header of the 3-D outputs) after moving the regions' 3-D boxes to
    ``config.target_frame``; without a transform they stay in the camera frame (warned)."""
    target = config.target_frame
    if not target or not frame_3d or target == frame_3d:
        return frame_3d, hdr
    if transform is None:
        status.warn("no_tf", f"target_frame {target!r} is set but tf2 is not available here; "
                    f"3-D stays in {frame_3d!r}", config.log_throttle_s)
        return frame_3d, hdr
    try:
        T = np.asarray(transform(target, frame_3d, stamp_ns), dtype=np.float64)
        if T.shape != (4, 4) or not np.isfinite(T).all():
            raise ValueError(f"transform is not a finite 4x4 matrix: {T.shape}")
    except Exception as e:  # noqa: BLE001 - tf errors of every kind: publish in camera frame
        status.count("transform_failed")
        status.warn("transform_failed", f"no transform {frame_3d!r} -> {target!r}: {e}; "
                    "3-D stays in the camera frame", config.log_throttle_s)
        return frame_3d, hdr
    move_to(regions, T)
    return target, {"stamp": hdr["stamp"], "frame_id": target}


class CaptionSchedule:
    """When captions are due: once per ``1 / caption_rate_hz`` seconds of source (header)
    time, once per frame, on frames that were encoded and have regions."""

    def __init__(self) -> None:
        self.last_ns: int | None = None  # stamp of the last captioned frame

    def due(self, latest: ProcessedFrame, rate_hz: float) -> bool:
        """Whether to caption ``latest`` now; a yes marks it captioned (call under the lock)."""
        if rate_hz <= 0 or latest.captioned or latest.state is None or not latest.regions:
            return False
        if self.last_ns is not None and latest.stamp_ns - self.last_ns < 1e9 / rate_hz \
                and latest.stamp_ns >= self.last_ns:
            return False
        latest.captioned = True
        self.last_ns = latest.stamp_ns
        return True


def caption_round(engine: Engine, latest: ProcessedFrame, config: NodeConfig,
                  status: NodeStatus) -> list[Output]:
    """Caption the ``caption_max_regions`` best regions of the frame (detected ones first);
    the captions also become the regions' descriptions. Never raises (warns)."""
    order = sorted(latest.regions, key=lambda r: (r.label == "", -r.score, -r.proposal_score))
    chosen = sorted(r.index for r in order[:config.caption_max_regions])
    t0 = time.perf_counter()
    try:
        texts = engine.run(latest.state, [CaptionTask(chosen, config.caption_detail)]).results[0]
    except Exception as e:  # noqa: BLE001
        status.warn("caption_failed", f"captions failed: {type(e).__name__}: {e}", config.log_throttle_s)
        return []
    task = config.caption_detail
    descriptions = []
    for t in texts:
        i = t.region_indices[0]
        latest.regions[i].description = t.text
        descriptions.append({"region_index": i, "bbox": bbox(latest.regions[i].box),
                             "task": task, "text": t.text})
    status.count("captions", len(descriptions))
    return [descriptions_output(latest.header, descriptions, time.perf_counter() - t0)]
