"""Regions linked to a scene's objects (fo1_ros.synth.regions)."""

from __future__ import annotations

import numpy as np
import torch

from fo1_ros.model.boxes import box_iou
from fo1_ros.train.data import build_regions


def test_every_primary_region_is_the_best_box_of_its_object(three_scenes):
    scene = three_scenes[1]
    regions = build_regions(scene, np.random.default_rng(3))
    gt = torch.tensor(np.array([o.box_2d for o in scene.objects], dtype=np.float64))
    iou = box_iou(torch.tensor(regions.boxes), gt).numpy()
    for o, r in regions.region_of.items():
        assert iou[r, o] >= 0.5 and iou[r, o] == iou[regions.match == o, o].max()
