"""lift_boxes against ray-cast ground truth (test/geometry/synthetic.py).

Scenes: 640x480 camera 0.6 m above a table, pitched 35 deg down, a wall 2.2 m ahead;
spheres, yaw-rotated cuboids and upright cylinders 0.5-1.45 m from the camera; depth noise
1 mm + 2.5 mm * z^2 (structured-light-like) unless stated.
"""

import logging

import numpy as np
import pytest

from fo1_ros.geometry import (
    CENTER_MODES,
    CameraModel,
    LiftConfig,
    encode_depth,
    lift_boxes,
    open3d_available,
)

from .synthetic import Solid, add_noise, default_camera, grow_box, random_solids, render

logger = logging.getLogger(__name__)

MAX_CENTER_ERROR_M = 0.02


def _scene_solids():
    return [
        Solid.sphere(-0.25, 0.55, 0.05, label="ball"),
        Solid.cuboid(0.0, 0.75, 0.08, 0.08, 0.08, yaw_deg=30, label="cube"),
        Solid.cylinder(0.25, 0.95, 0.04, 0.12, label="can"),
        Solid.cuboid(-0.2, 1.15, 0.12, 0.06, 0.05, yaw_deg=70, label="box"),
        Solid.sphere(0.15, 0.45, 0.035, label="small ball"),
        Solid.cylinder(0.0, 1.3, 0.03, 0.1, label="far can"),
    ]


@pytest.fixture(scope="module")
def scene():
    return render(_scene_solids())


@pytest.fixture(scope="module")
def noisy(scene):
    return add_noise(scene.depth, np.random.default_rng(0))


def _errors(objs, centers):
    return np.array(
        [
            np.linalg.norm(o.center - c) if o.has_3d else np.inf
            for o, c in zip(objs, centers, strict=True)
        ]
    )


def test_scene_is_what_the_tests_assume(scene):
    assert np.all(scene.visible_fraction > 0.98), scene.visible_fraction
    assert np.all(scene.centers_cam[:, 2] < 1.5) and np.all(scene.centers_cam[:, 2] > 0.4)


def test_unoccluded_centres_within_2cm(scene, noisy):
    objs = lift_boxes(scene.boxes, noisy, scene.camera, labels=[s.label for s in scene.solids])
    err = _errors(objs, scene.centers_cam)
    logger.info("centre errors (mm): %s", np.round(err * 1000, 1))
    assert all(o.has_3d and o.reason == "" for o in objs)
    assert err.max() <= MAX_CENTER_ERROR_M, err
    assert [o.label for o in objs] == [s.label for s in scene.solids]
    assert [o.index for o in objs] == list(range(len(objs)))
    # the ball's size: its diameter within 25 % (extents of other shapes, and with stray
    # pixels: test_lifting_extent.py)
    np.testing.assert_allclose(objs[0].size, 0.10, rtol=0.25)
    assert objs[0].depth_m == pytest.approx(scene.centers_cam[0, 2] - 0.05, abs=0.02)


def test_random_scenes_centres_within_2cm():
    rng = np.random.default_rng(7)
    errs = []
    for _ in range(6):
        sc = render(random_solids(rng, 6))
        depth = add_noise(sc.depth, rng)
        ok = sc.visible_fraction > 0.98
        errs.append(_errors(lift_boxes(sc.boxes[ok], depth, sc.camera), sc.centers_cam[ok]))
    err = np.concatenate(errs)
    logger.info(
        "random scenes: %d objects, mean %.1f mm, max %.1f mm",
        len(err),
        err.mean() * 1e3,
        err.max() * 1e3,
    )
    assert len(err) >= 25
    assert err.max() <= MAX_CENTER_ERROR_M


def test_center_mode_comparison():
    """The default centre heuristic is the best of those measured, and the push-back matters."""
    rng = np.random.default_rng(11)
    scenes = []
    for _ in range(5):
        sc = render(random_solids(rng, 6))
        scenes.append((sc, add_noise(sc.depth, rng), sc.visible_fraction > 0.98))
    mean = {}
    for mode in CENTER_MODES:
        cfg = LiftConfig(center_mode=mode)
        e = np.concatenate(
            [
                _errors(lift_boxes(sc.boxes[ok], d, sc.camera, config=cfg), sc.centers_cam[ok])
                for sc, d, ok in scenes
            ]
        )
        mean[mode] = e.mean()
    logger.info(
        "mean centre error by center_mode (mm): %s", {k: round(v * 1e3, 1) for k, v in mean.items()}
    )
    assert min(mean, key=mean.get) == LiftConfig().center_mode
    assert mean["surface"] > 1.5 * mean[LiftConfig().center_mode]


def _single(solid):
    return render([solid])


BACKGROUND_SOLIDS = [
    Solid.sphere(0.1, 0.7, 0.05),
    Solid.cuboid(-0.1, 0.9, 0.08, 0.06, 0.1, yaw_deg=20),
    Solid.cylinder(0.2, 1.1, 0.04, 0.12),
]


def _naive_box_median(box, depth, camera):
    """What the plain box median gives: the box centre's ray at the box's median depth."""
    x1, y1, x2, y2 = box.astype(int)
    med = np.nanmedian(depth[y1:y2, x1:x2])
    return camera.back_project([[(box[0] + box[2]) / 2 - 0.5, (box[1] + box[3]) / 2 - 0.5]], [med])[
        0
    ]


@pytest.mark.parametrize("solid", BACKGROUND_SOLIDS, ids=["sphere", "cuboid", "cylinder"])
def test_half_the_box_is_background(solid):
    sc = render([solid])
    depth = add_noise(sc.depth, np.random.default_rng(3))
    box = grow_box(sc.boxes[0], np.sqrt(2.0), sc.camera)  # twice the area, table all around
    x1, y1, x2, y2 = box.astype(int)
    assert (sc.ids[y1:y2, x1:x2] == 0).mean() <= 0.5  # the object is at most half the box
    (obj,) = lift_boxes([box], depth, sc.camera)
    err = np.linalg.norm(obj.center - sc.centers_cam[0])
    logger.info("%s, loose box: error %.1f mm", solid.kind, err * 1e3)
    assert err <= MAX_CENTER_ERROR_M


@pytest.mark.parametrize("solid", BACKGROUND_SOLIDS, ids=["sphere", "cuboid", "cylinder"])
def test_background_behind_the_object_fills_half_the_box(solid):
    """A box stretched upward over the table behind the object (a sloppy detector box)."""
    sc = render([solid])
    depth = add_noise(sc.depth, np.random.default_rng(4))
    box = sc.boxes[0].copy()
    box[1] -= 1.2 * (box[3] - box[1])
    x1, y1, x2, y2 = box.astype(int)
    assert (sc.ids[y1:y2, x1:x2] == 0).mean() <= 0.5
    (obj,) = lift_boxes([box], depth, sc.camera)
    err = np.linalg.norm(obj.center - sc.centers_cam[0])
    naive_err = np.linalg.norm(_naive_box_median(box, depth, sc.camera) - sc.centers_cam[0])
    logger.info(
        "%s, background behind: error %.1f mm (plain box median: %.1f mm)",
        solid.kind,
        err * 1e3,
        naive_err * 1e3,
    )
    assert err <= MAX_CENTER_ERROR_M
    assert naive_err > 2 * MAX_CENTER_ERROR_M  # the case the robust estimator exists for


def test_nan_holes_and_dropout(scene):
    rng = np.random.default_rng(5)
    depth = add_noise(scene.depth, rng, dropout=0.3)
    # a solid hole over half of each object's box (specular highlight / IR absorption)
    for x1, y1, x2, y2 in scene.boxes.astype(int):
        depth[y1 : (y1 + y2) // 2, x1 : (x1 + x2) // 2] = np.nan
    objs = lift_boxes(scene.boxes, depth, scene.camera)
    err = _errors(objs, scene.centers_cam)
    logger.info("with holes: max centre error %.1f mm", err.max() * 1e3)
    assert err.max() <= MAX_CENTER_ERROR_M
    assert all(0.3 < o.valid_fraction < 0.7 for o in objs)


def test_foreground_clutter_at_the_box_edge_is_not_the_object():
    # a pole 0.18 m in front of the ball, over the right part of its box
    sc = render([Solid.sphere(0.0, 0.8, 0.06), Solid.cylinder(0.03, 0.62, 0.01, 0.3)])
    depth = add_noise(sc.depth, np.random.default_rng(1))
    x1, y1, x2, y2 = sc.boxes[0].astype(int)
    assert (sc.ids[y1:y2, x1:x2] == 1).mean() > 0.15  # a fifth of the box is pole
    (obj,) = lift_boxes(sc.boxes[:1], depth, sc.camera)
    front = sc.centers_cam[0, 2] - 0.06
    assert obj.depth_m == pytest.approx(front, abs=0.03)  # not the pole, ~0.15 m nearer
    assert np.linalg.norm(obj.center - sc.centers_cam[0]) <= 0.03


def test_no_3d_reasons(scene, noisy):
    depth = noisy.copy()
    x1, y1, x2, y2 = scene.boxes[0].astype(int)
    depth[y1:y2, x1:x2] = np.nan
    boxes = [
        scene.boxes[0],  # all NaN
        [700, 10, 800, 50],  # right of the image
        [-50, -50, -10, -10],  # above-left of the image
        [100.0, 100.0, 102.0, 102.0],  # 4 samples
        [50, 50, 40, 60],  # x2 < x1
        [np.nan, 0, 10, 10],
    ]
    objs = lift_boxes(boxes, depth, scene.camera)
    assert not any(o.has_3d for o in objs)
    assert "no valid depth in box" in objs[0].reason
    assert "outside the 640x480 depth image" in objs[1].reason
    assert "outside" in objs[2].reason
    assert objs[3].reason == "too few points (4 < 20)"
    assert "empty box" in objs[4].reason
    assert "not finite" in objs[5].reason
    assert all(np.isnan(o.center).all() and np.isnan(o.size).all() for o in objs)


def test_all_zero_16uc1_box_has_no_3d(scene):
    raw = encode_depth(scene.depth, "16UC1")
    x1, y1, x2, y2 = scene.boxes[1].astype(int)
    raw[y1:y2, x1:x2] = 0
    objs = lift_boxes(scene.boxes[:2], raw, scene.camera, encoding="16UC1")
    assert objs[0].has_3d and not objs[1].has_3d
    assert "no valid depth" in objs[1].reason


def test_box_partly_outside_the_image_is_clipped(scene, noisy):
    b = scene.boxes[0].copy()
    b[0] -= 1000  # far beyond the left edge
    (obj,) = lift_boxes([b], noisy, scene.camera)
    assert obj.has_3d


def test_16uc1_and_32fc1_agree(scene, noisy):
    a = lift_boxes(scene.boxes, noisy, scene.camera, encoding="32FC1")
    b = lift_boxes(scene.boxes, encode_depth(noisy, "16UC1"), scene.camera, encoding="16UC1")
    for oa, ob in zip(a, b, strict=True):
        assert np.linalg.norm(oa.center - ob.center) <= 0.003
    with pytest.raises(ValueError, match="'16UC1' needs a uint16"):
        lift_boxes(scene.boxes, noisy, scene.camera, encoding="16UC1")
    with pytest.raises(ValueError, match="unsupported depth encoding 'mono8'"):
        lift_boxes(scene.boxes, noisy, scene.camera, encoding="mono8")


def test_depth_of_another_size_needs_its_intrinsics(scene):
    small_cam = default_camera(320, 240)
    small = render(scene.solids, camera=small_cam)
    depth_small = add_noise(small.depth, np.random.default_rng(2))
    with pytest.raises(
        ValueError, match=r"depth image is 320x240 but the colour camera is 640x480"
    ):
        lift_boxes(scene.boxes, depth_small, scene.camera)
    with pytest.raises(ValueError, match="depth_camera is 640x480"):
        lift_boxes(scene.boxes, depth_small, scene.camera, depth_camera=scene.camera)
    # boxes stay in colour pixels; the depth image's K maps and back-projects them
    objs = lift_boxes(scene.boxes, depth_small, scene.camera, depth_camera=small_cam)
    err = _errors(objs, scene.centers_cam)
    logger.info("320x240 depth for 640x480 boxes: max centre error %.1f mm", err.max() * 1e3)
    assert err.max() <= MAX_CENTER_ERROR_M


def test_registered_depth_with_different_intrinsics(scene):
    # same optical frame, another focal length and principal point (a wider depth camera)
    dcam = CameraModel(fx=400.0, fy=400.0, cx=330.0, cy=250.0, width=640, height=480)
    other = render(scene.solids, camera=dcam)
    objs = lift_boxes(
        scene.boxes,
        add_noise(other.depth, np.random.default_rng(4)),
        scene.camera,
        depth_camera=dcam,
    )
    assert _errors(objs, scene.centers_cam).max() <= MAX_CENTER_ERROR_M
    # ignoring the difference (wrongly treating it as registered 1:1) is far off
    wrong = lift_boxes(scene.boxes, other.depth, scene.camera)
    assert _errors(wrong, scene.centers_cam).max() > MAX_CENTER_ERROR_M


@pytest.mark.skipif(not open3d_available(), reason="open3d is not importable here")
def test_open3d_and_numpy_paths_agree(scene, noisy):
    a = lift_boxes(scene.boxes, noisy, scene.camera)
    b = lift_boxes(
        scene.boxes, noisy, scene.camera, config=LiftConfig(use_open3d=True, oriented_box=True)
    )
    for oa, ob, c in zip(a, b, scene.centers_cam, strict=True):
        assert np.linalg.norm(oa.center - ob.center) <= 0.01
        assert np.linalg.norm(ob.center - c) <= MAX_CENTER_ERROR_M
        assert ob.n_points <= oa.n_points
        assert ob.oriented_box is not None and oa.oriented_box is None
        assert np.linalg.norm(ob.oriented_box.center - ob.center) <= 0.1
        np.testing.assert_allclose(
            ob.oriented_box.rotation @ ob.oriented_box.rotation.T, np.eye(3), atol=1e-6
        )


def test_keep_points_are_on_the_object(scene, noisy):
    (obj,) = lift_boxes(scene.boxes[:1], noisy, scene.camera, config=LiftConfig(keep_points=True))
    assert obj.points.shape == (obj.n_points, 3) and obj.points.dtype == np.float64
    dist = np.linalg.norm(obj.points - scene.centers_cam[0], axis=1)
    assert np.percentile(dist, 90) <= 0.05 + 0.01  # sphere radius + noise


def test_input_validation(scene, noisy):
    assert lift_boxes(np.zeros((0, 4)), noisy, scene.camera) == []
    assert lift_boxes([], noisy, scene.camera) == []
    with pytest.raises(ValueError, match=r"boxes must have shape \(N, 4\)"):
        lift_boxes([[1, 2, 3]], noisy, scene.camera)
    with pytest.raises(ValueError, match="2 labels for 1 boxes"):
        lift_boxes(scene.boxes[:1], noisy, scene.camera, labels=["a", "b"])


def test_lifting_100_random_boxes_gives_100_objects_in_order(scene, noisy):
    """Every box of a full proposal list comes back, in order (speed: benchmarks, not a test)."""
    rng = np.random.default_rng(0)
    c = rng.uniform([0, 0], [640, 480], size=(100, 2))
    wh = rng.uniform(20, 200, size=(100, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    objs = lift_boxes(boxes, noisy, scene.camera)
    assert len(objs) == 100
    assert [o.index for o in objs] == list(range(100))
    np.testing.assert_allclose([o.box for o in objs], boxes)


def test_config_round_trip_and_validation():
    cfg = LiftConfig(bin_width_m=0.02, center_mode="surface")
    assert LiftConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"'bin_width' is not a key of LiftConfig \(did you mean 'bin_width_m'\?\)"):
        LiftConfig.from_dict({"bin_width": 0.01})
    for kwargs, field in [
        (dict(central_fraction=0.0), "central_fraction"),
        (dict(bin_width_m=-0.01), "bin_width_m"),
        (dict(min_points=0), "min_points"),
        (dict(max_depth_m=0.05), "max_depth_m"),
        (dict(center_mode="middle"), "center_mode"),
        (dict(percentile=50), "percentile"),
        (dict(valley_ratio=1.0), "valley_ratio"),
        (dict(use_open3d="yes"), "use_open3d"),
    ]:
        with pytest.raises(ValueError, match=field):
            LiftConfig(**kwargs)


def test_split_modes_gaps_and_valleys():
    from fo1_ros.geometry.lifting import _split_modes

    # a one-bin gap is bridged, a two-bin gap splits
    assert _split_modes(np.array([3.0, 0, 3, 0, 0, 2, 2]), 0.5) == [(0, 3), (5, 7)]
    # a deep valley between two peaks splits; a shallow one does not
    deep = np.array([1.0, 8, 8, 1, 0.5, 1, 6, 6, 1])
    modes = _split_modes(deep, 0.5)
    assert len(modes) == 2 and modes[0][0] == 0 and modes[1][1] == 9
    assert _split_modes(np.array([1.0, 8, 8, 6, 7, 8, 1]), 0.5) == [(0, 7)]


def test_numpy_path_runs_without_open3d(scene, noisy, monkeypatch, caplog):
    import fo1_ros.geometry.open3d_refine as open3d_refine

    monkeypatch.setattr(open3d_refine, "_O3D", None)
    monkeypatch.setattr(open3d_refine, "_O3D_TRIED", True)  # as if the import had failed
    a = lift_boxes(scene.boxes, noisy, scene.camera)
    b = lift_boxes(
        scene.boxes, noisy, scene.camera, config=LiftConfig(use_open3d=True, oriented_box=True)
    )
    for oa, ob in zip(a, b, strict=True):
        np.testing.assert_array_equal(oa.center, ob.center)
        assert ob.oriented_box is None


def test_importing_geometry_does_not_import_open3d():
    import subprocess
    import sys

    code = "import sys, fo1_ros.geometry; assert 'open3d' not in sys.modules, 'imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)
