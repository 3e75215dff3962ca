"""lift_boxes' 3-D extent (``Object3D.size``) against ray-cast ground truth, with the stray depth
pixels real sensors give: flying pixels at the object's depth beside it (edge interpolation,
multipath), near outliers on its face, and a background strip in the box at the object's depth.

The extent is the [p, 100 - p] percentile range of the cluster (``LiftConfig.percentile``): a
few stray pixels must not move it, as they would move a min/max range.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from fo1_ros.geometry import lift_boxes

from .synthetic import Solid, add_noise, grow_box, render

logger = logging.getLogger(__name__)

# One object each, 0.8-1.0 m from the camera; cuboids at yaw 0 so that their x extent is their
# world width. (w, d, h) = x, y (away from the camera), z (up).
SHAPES = {
    "wide_low_box": Solid.cuboid(0.0, 0.8, 0.14, 0.06, 0.05),
    "tall_thin_box": Solid.cuboid(0.05, 0.9, 0.05, 0.05, 0.14),
    "deep_box": Solid.cuboid(-0.05, 0.8, 0.07, 0.12, 0.07),
    "cylinder": Solid.cylinder(0.0, 0.9, 0.035, 0.12),
    "sphere": Solid.sphere(0.0, 0.85, 0.05),
}


def _visible_extent(sc):
    """(3,) x, y, z extent of the object's noise-free visible surface (ray-cast points)."""
    v, u = np.nonzero(sc.ids == 0)
    pts = sc.camera.back_project(np.column_stack([u, v]), sc.depth[v, u])
    return pts.max(axis=0) - pts.min(axis=0)


def _with_stray_pixels(sc, depth, box, rng):
    """``depth`` with stray pixels inside ``box`` (a copy). Flying pixels: 0.3 % of the box's
    background pixels above the object's middle row (where the background is the table far
    behind, or the wall: off the table plane the lifting removes) set to the object's median
    depth, and a one-pixel column of them at the box's left edge over an eighth of its height.
    Near outliers: 0.5 % of the object's pixels 4 cm nearer than they are."""
    out = depth.copy()
    x1, y1, x2, y2 = box.astype(int)
    obj = sc.ids == 0
    rows = np.nonzero(obj)[0]
    middle = int(rows.mean())
    upper = np.zeros(sc.ids.shape, dtype=bool)
    upper[y1:middle, x1:x2] = True
    z_obj = float(np.median(sc.depth[obj]))
    bg = np.flatnonzero(upper & ~obj)
    pick = rng.choice(bg, max(1, len(bg) // 300), replace=False)
    out.flat[pick] = z_obj + rng.normal(0, 0.003, len(pick))
    out[y1 + (y2 - y1) // 8 : y1 + (y2 - y1) // 4, x1] = z_obj
    on = np.flatnonzero(obj)
    near = rng.choice(on, max(1, len(on) // 200), replace=False)
    out.flat[near] -= 0.04
    return out


@pytest.mark.parametrize("name", list(SHAPES))
def test_extent_is_the_visible_surface_and_stray_pixels_move_neither_it_nor_the_centre(name):
    """Measured: the stray pixels move no extent by more than 0.7 mm and no centre by more than
    0.4 mm; x/y extents lie 2-14 % inside the visible surface's (the 2 % trimmed at each end of a
    round silhouette cost ~10 %). With min/max extents the same pixels move the extents by
    6-33 mm (one shape: 0.5 mm) and the centres by 8-33 mm, and widen x by 7-23 %."""
    sc = render([SHAPES[name]])
    rng = np.random.default_rng(0)
    clean = add_noise(sc.depth, rng)
    box = grow_box(sc.boxes[0], 1.3, sc.camera)  # a loose box: background all around
    (a,) = lift_boxes([box], clean, sc.camera)
    (b,) = lift_boxes([box], _with_stray_pixels(sc, clean, box, rng), sc.camera)
    truth = _visible_extent(sc)
    detail = (f"{name}: visible x/y/z {np.round(truth * 1e3)} mm, lifted {np.round(a.size * 1e3)}, "
              f"with stray pixels {np.round(b.size * 1e3)}; centres {np.round(a.center * 1e3)}, "
              f"{np.round(b.center * 1e3)}")
    logger.info(detail)
    assert a.has_3d and b.has_3d, detail
    for obj in (a, b):
        rel = obj.size[:2] / truth[:2] - 1.0
        assert np.all((rel >= -0.16) & (rel <= 0.05)), (rel, detail)
        assert np.linalg.norm(obj.center - sc.centers_cam[0]) <= 0.03, detail
    assert np.abs(b.size - a.size).max() <= 0.003, detail
    assert np.linalg.norm(b.center - a.center) <= 0.003, detail
