"""3-D lifting against the synthetic world's ground truth (held-out scenes, noisy sensor depth)."""

from __future__ import annotations

import numpy as np

from fo1_ros.eval.metrics import bucket_3d
from fo1_ros.geometry import CameraModel, lift_boxes
from fo1_ros.synth import make_scene

SEEDS = range(3_000_000, 3_000_012)


def _errors():
    unocc, occ = [], []
    for seed in SEEDS:
        s = make_scene(seed)
        cam = CameraModel.from_matrix(s.K, s.width, s.height)
        boxes = np.array([o.box_2d for o in s.objects], dtype=np.float64)
        for encoding, depth in (("32FC1", s.depth_m), ("16UC1", s.depth_mm)):
            lifted = lift_boxes(boxes, depth, cam, encoding=encoding)
            for o, l3 in zip(s.objects, lifted):
                if not l3.has_3d:
                    continue
                err = float(np.linalg.norm(l3.center - o.center_cam))
                bucket = bucket_3d(o.visible_fraction, o.distance_m)
                if bucket == "unoccluded":
                    unocc.append(err)
                elif bucket == "occluded":
                    occ.append(err)
    return np.array(unocc), np.array(occ)


def test_median_centre_error_within_2cm_for_unoccluded_objects_within_1_5m():
    unocc, occ = _errors()
    assert len(unocc) > 50
    assert np.median(unocc) <= 0.02, f"median {np.median(unocc):.4f} m"
    assert np.percentile(unocc, 90) <= 0.05
    # occluded objects are reported, with a looser bound (part of the object is hidden)
    assert len(occ) > 5 and np.median(occ) <= 0.06, f"occluded median {np.median(occ):.4f} m"


def test_every_object_with_depth_gets_3d_and_a_reason_otherwise():
    s = make_scene(SEEDS[0])
    cam = CameraModel.from_matrix(s.K, s.width, s.height)
    boxes = np.array([o.box_2d for o in s.objects] + [[0, 0, 1, 1]], dtype=np.float64)
    depth = s.depth_m.copy()
    depth[:4, :4] = np.nan
    lifted = lift_boxes(boxes, depth, cam)
    assert all(l3.has_3d for l3 in lifted[:-1])
    assert not lifted[-1].has_3d and lifted[-1].reason
