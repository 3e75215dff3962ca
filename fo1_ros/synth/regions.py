"""Regions linked to a synthetic scene's objects: which box is a box of which object.

Training (`fo1_ros.train.data.build_regions`) and evaluation (`fo1_ros.eval.run`) both ask
the model about a list of boxes and need to know, from the ground truth, what each box shows:
`link_regions` says which object each region matches (IoU >= 0.5) and which region is an
object's best box (its *primary* region, the only one through which the object is named).

Dims: `N` regions, `M` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..model.boxes import box_iou
from .scene import Scene


@dataclass
class RegionSet:
    """Regions of one frame.

    boxes: (N, 4) float64 xyxy frame pixels; scores: (N,) proposal scores (descending);
    match: (N,) int64 object index with IoU >= 0.5 (-1 none); primary: (N,) int64 object index
    this region is the best box of (-1 otherwise); region_of: dict object index -> region index.
    """

    boxes: np.ndarray
    scores: np.ndarray
    match: np.ndarray
    primary: np.ndarray
    region_of: dict[int, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.boxes)


def link_regions(boxes: np.ndarray, scores: np.ndarray, scene: Scene) -> RegionSet:
    """Link regions to ground-truth objects: match (IoU >= 0.5) and primary (best box per object).

    boxes: (N, 4) float64 xyxy pixels; scores: (N,). `scene` needs only `objects` (each with
    `box_2d`), so a training pool's scene-like view works too.
    """
    n = len(boxes)
    match = np.full(n, -1, dtype=np.int64)
    primary = np.full(n, -1, dtype=np.int64)
    region_of: dict[int, int] = {}
    gt = np.array([o.box_2d for o in scene.objects], dtype=np.float64).reshape(-1, 4)
    if n and len(gt):
        iou = box_iou(torch.tensor(boxes), torch.tensor(gt)).numpy()  # (N, M)
        best_obj = iou.argmax(1)
        ok = iou[np.arange(n), best_obj] >= 0.5
        match[ok] = best_obj[ok]
        for o in range(len(gt)):
            cands = np.where(match == o)[0]
            if len(cands):
                r = int(cands[np.argmax(iou[cands, o])])
                primary[r] = o
                region_of[o] = r
    return RegionSet(boxes, scores, match, primary, region_of)


__all__ = ["RegionSet", "link_regions"]
