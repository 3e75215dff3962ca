"""The optional open3d refinements (fo1_ros.geometry.open3d_refine), called directly; their
use inside lift_boxes is tested in test_lifting.py."""

import numpy as np
import pytest

from fo1_ros.geometry import open3d_refine
from fo1_ros.geometry.open3d_refine import OrientedBox, open3d_available, oriented_box, outlier_mask

needs_open3d = pytest.mark.skipif(not open3d_available(), reason="open3d is not importable here")


def _cuboid_points(n=400, seed=0):
    """(n, 3) points filling a 0.2 x 0.1 x 0.05 m box centred 1 m in front of the camera."""
    rng = np.random.default_rng(seed)
    return rng.uniform([-0.1, -0.05, 0.975], [0.1, 0.05, 1.025], size=(n, 3))


@needs_open3d
def test_outlier_mask_drops_a_far_point():
    points = np.concatenate([_cuboid_points(), [[2.0, 2.0, 3.0]]])
    keep = outlier_mask(points, neighbors=20, std_ratio=2.0)
    assert keep.shape == (len(points),) and keep.dtype == bool
    assert not keep[-1] and keep[:-1].mean() > 0.9


@needs_open3d
def test_oriented_box_of_a_cuboid():
    obb = oriented_box(_cuboid_points())
    assert isinstance(obb, OrientedBox)
    np.testing.assert_allclose(obb.center, [0.0, 0.0, 1.0], atol=0.01)
    np.testing.assert_allclose(obb.rotation @ obb.rotation.T, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(np.sort(obb.extent), [0.05, 0.1, 0.2], atol=0.02)


def test_unusable_open3d_reads_as_unavailable(monkeypatch):
    monkeypatch.setattr(open3d_refine, "_O3D", None)
    monkeypatch.setattr(open3d_refine, "_O3D_TRIED", True)  # as if the import had failed
    assert not open3d_available()
