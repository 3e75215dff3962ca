"""Proposal sources: image (+ depth) -> class-agnostic boxes + scores, and shared post-processing.

VLM-FO1 never regresses coordinates: it selects among proposals, so recall here bounds every
downstream result. Every source returns `Proposals`; `postprocess` applies the reference's
filtering (reference §3: score >= 0.3, NMS IoU 0.8, top 100) after clipping to the image and
dropping degenerate boxes.

Dims: `N` boxes, `H, W` image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..config import Config
from ..model.boxes import nms


@dataclass
class Proposals:
    """boxes: (N, 4) float64 xyxy pixels; scores: (N,) float64 in [0, 1]; index: (N,) int64 position
    of each box in the source's raw output (so callers can map results back to their own boxes);
    labels: optional N class names from a detector that has them ('' = none); proposals stay
    class-agnostic, the labels are only carried along."""

    boxes: np.ndarray
    scores: np.ndarray
    source: str = ""
    dropped: dict[str, int] = field(default_factory=dict)  # how many boxes each filter removed
    index: np.ndarray | None = None
    labels: list[str] | None = None

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if self.boxes.shape[0] != self.scores.shape[0]:
            raise ValueError(f"{self.boxes.shape[0]} boxes but {self.scores.shape[0]} scores")
        self.index = (np.arange(len(self.boxes)) if self.index is None
                      else np.asarray(self.index, dtype=np.int64).reshape(-1))
        if self.labels is not None:
            self.labels = [str(v) for v in self.labels]
            if len(self.labels) != self.boxes.shape[0]:
                raise ValueError(f"{self.boxes.shape[0]} boxes but {len(self.labels)} labels")

    def __len__(self) -> int:
        return self.boxes.shape[0]


@dataclass
class ProposalConfig(Config):
    """Shared filtering, defaults as the reference (UPN: score 0.3, NMS 0.8, top 100)."""

    score_threshold: float = 0.3
    nms_iou: float = 0.8
    top_k: int = 100
    min_size: float = 2.0  # pixels; thinner boxes are degenerate

    def __post_init__(self):
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {self.nms_iou}")
        if not 1 <= self.top_k <= 10_000:
            raise ValueError(f"top_k must be in [1, 10000], got {self.top_k}")
        if self.min_size < 0:
            raise ValueError(f"min_size must be >= 0, got {self.min_size}")


def postprocess(boxes, scores, image_hw: tuple[int, int], cfg: ProposalConfig | None = None,
                source: str = "", sort: bool = True, labels=None) -> Proposals:
    """Clip to the image, drop non-finite/degenerate boxes, threshold, NMS, keep the top k.

    Args:
        boxes: (N, 4) xyxy pixels (any float/int array); scores: (N,) or None (all 1.0).
        image_hw: (H, W) of the image the boxes refer to.
        sort: order by descending score (the reference's order); False keeps the input order.
        labels: optional N class names, kept in step with the boxes (NMS stays class-agnostic).
    """
    cfg = cfg or ProposalConfig()
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.ones(len(b)) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(s)} scores")
    if labels is not None:
        labels = [str(v) for v in labels]
        if len(labels) != len(b):
            raise ValueError(f"{len(b)} boxes but {len(labels)} labels")
    dropped: dict[str, int] = {}
    idx = np.arange(len(b))

    def keep(mask: np.ndarray, why: str) -> None:
        nonlocal b, s, idx
        n = int((~mask).sum())
        if n:
            dropped[why] = dropped.get(why, 0) + n
        b, s, idx = b[mask], s[mask], idx[mask]

    keep(np.isfinite(b).all(1) & np.isfinite(s), "non_finite")
    H, W = image_hw
    b = np.stack([b[:, 0].clip(0, W), b[:, 1].clip(0, H), b[:, 2].clip(0, W), b[:, 3].clip(0, H)], 1)
    keep(((b[:, 2] - b[:, 0]) >= max(cfg.min_size, 1e-6)) & ((b[:, 3] - b[:, 1]) >= max(cfg.min_size, 1e-6)),
         "degenerate")
    keep(s >= cfg.score_threshold, "low_score")
    if len(b) and cfg.nms_iou < 1.0:
        kept = nms(torch.from_numpy(b), torch.from_numpy(s), cfg.nms_iou).numpy()
        mask = np.zeros(len(b), dtype=bool)
        mask[kept] = True
        keep(mask, "nms")
    order = np.argsort(-s, kind="stable") if sort else np.arange(len(s))
    b, s, idx = b[order], s[order], idx[order]
    if len(b) > cfg.top_k:
        dropped["top_k"] = len(b) - cfg.top_k
        b, s, idx = b[:cfg.top_k], s[:cfg.top_k], idx[:cfg.top_k]
    if labels is not None:
        labels = [labels[i] for i in idx]
    return Proposals(b, s, source, dropped, idx, labels)


class ProposalSource(Protocol):
    """Anything that proposes boxes for an RGB frame (depth and intrinsics optional)."""

    name: str

    def __call__(self, rgb: np.ndarray, depth_m: np.ndarray | None = None,
                 K: np.ndarray | None = None) -> Proposals: ...


@dataclass
class GivenBoxes:
    """Boxes supplied by the caller (user rectangles, another detector, a ROS topic)."""

    boxes: np.ndarray
    scores: np.ndarray | None = None
    config: ProposalConfig = field(default_factory=lambda: ProposalConfig(score_threshold=0.0, nms_iou=1.0,
                                                                          top_k=10_000, min_size=1.0))
    name: str = "given"

    def __call__(self, rgb: np.ndarray, depth_m: np.ndarray | None = None, K: np.ndarray | None = None) -> Proposals:
        # the caller's order is kept: region i is the caller's box index[i]
        return postprocess(self.boxes, self.scores, rgb.shape[:2], self.config, self.name, sort=False)
