"""make_scene: determinism, ground-truth consistency, sensor model, variety."""

import math

import numpy as np
import pytest

from fo1_ros.synth import (
    CATEGORIES,
    COLOURS,
    SIZE_CLASSES,
    TEXT_ALPHABET,
    TEXT_CATEGORIES,
    SceneConfig,
    describe_object,
    make_scene,
)

SMALL = SceneConfig(width=320, height=240)
SEEDS = range(12)


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(s, SMALL) for s in SEEDS]


def project(scene, p):
    K = scene.K
    return K[0, 0] * p[0] / p[2] + K[0, 2], K[1, 1] * p[1] / p[2] + K[1, 2]


def footprint_radius(obj):
    sx, sy, _ = obj.size
    return math.hypot(sx, sy) / 2 if obj.category in ("cube", "box", "pyramid") else sx / 2


# --------------------------------------------------------------------------- determinism
def test_same_seed_is_bit_identical():
    a, b = make_scene(7), make_scene(7)
    for name in ("rgb", "depth_mm", "depth_m", "depth_true_m", "instance_mask", "K",
                 "camera_pose"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
    assert len(a.objects) == len(b.objects)
    for oa, ob in zip(a.objects, b.objects):
        assert (oa.category, oa.colour, oa.text, oa.rgb) == (ob.category, ob.colour, ob.text,
                                                             ob.rgb)
        assert np.array_equal(oa.box_2d, ob.box_2d)
        assert np.array_equal(oa.center_cam, ob.center_cam)


def test_different_seeds_differ(scenes):
    a, b = scenes[0], scenes[1]
    assert not np.array_equal(a.rgb, b.rgb)
    assert not np.array_equal(a.camera_pose, b.camera_pose)
    assert len({len(s.objects) for s in scenes}) > 3  # counts vary too


def test_no_global_random_state_is_used():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    make_scene(3, SMALL)
    assert np.array_equal(np.random.get_state()[1], before)


def test_layout_does_not_depend_on_resolution(scenes):
    tiny = make_scene(2, SceneConfig(width=160, height=120))
    ref = scenes[2]
    assert np.array_equal(tiny.camera_pose, ref.camera_pose)
    assert [o.category for o in tiny.objects] == [o.category for o in ref.objects]
    assert np.allclose([o.center_cam for o in tiny.objects], [o.center_cam for o in ref.objects])


# --------------------------------------------------------------------------- arrays
def test_array_types_and_intrinsics(scenes):
    s = scenes[0]
    H, W = 240, 320
    assert (s.width, s.height) == (W, H)
    assert s.rgb.shape == (H, W, 3) and s.rgb.dtype == np.uint8
    assert s.depth_m.shape == (H, W) and s.depth_m.dtype == np.float32
    assert s.depth_mm.shape == (H, W) and s.depth_mm.dtype == np.uint16
    assert s.instance_mask.shape == (H, W) and s.instance_mask.dtype == np.int16
    assert s.K.shape == (3, 3) and s.K.dtype == np.float64
    assert s.K[0, 0] == pytest.approx(160 / math.tan(math.radians(30)))
    assert (s.K[0, 2], s.K[1, 2]) == (159.5, 119.5)
    assert s.camera_pose.shape == (4, 4)
    R = s.camera_pose[:3, :3]
    assert np.allclose(R.T @ R, np.eye(3)) and np.linalg.det(R) == pytest.approx(1)
    info = s.camera_info()
    assert info["k"] == s.K.ravel().tolist() and info["width"] == W


def test_depth_encodings_agree(scenes):
    for s in scenes:
        valid = s.depth_mm > 0
        assert np.array_equal(valid, np.isfinite(s.depth_m))
        assert np.array_equal(np.rint(s.depth_m[valid] * 1000).astype(np.uint16),
                              s.depth_mm[valid])


def test_depth_holes_are_realistic(scenes):
    for s in scenes:
        invalid = s.depth_mm == 0
        assert 0.005 < invalid.mean() < 0.5
        # Beyond the sensor's range nothing is measured.
        assert np.all(invalid[s.depth_true_m > SMALL.depth_max_m])
    # Discontinuities are invalid: where the true depth jumps by >20 cm between columns.
    s = scenes[0]
    jump = np.abs(np.diff(s.depth_true_m, axis=1)) > 0.2
    assert jump.any()
    assert np.all(s.depth_mm[:, :-1][jump] == 0)


def test_depth_noise_grows_with_distance():
    cfg = SceneConfig(width=320, height=240, depth_max_m=8.0, depth_dropout_fraction=0.0,
                      camera_pitch_deg=(25, 30))
    near_res, far_res = [], []
    for seed in range(3):
        s = make_scene(seed, cfg)
        ok = np.isfinite(s.depth_m)
        z, r = s.depth_true_m[ok], (s.depth_m - s.depth_true_m)[ok]
        near_res.append(r[(z > 0.5) & (z < 1.0)])
        far_res.append(r[(z > 2.5) & (z < 3.5)])
    near, far = np.concatenate(near_res), np.concatenate(far_res)
    assert near.size > 1000 and far.size > 1000
    assert abs(np.median(near)) < 0.002 and abs(np.median(far)) < 0.01  # unbiased
    assert np.std(far) > 3 * np.std(near)
    assert np.std(far) == pytest.approx(0.0012 + 0.0019 * 2.6**2, rel=0.35)


def test_rgb_has_noise_and_is_not_flat(scenes):
    s = scenes[0]
    assert s.rgb.std() > 10
    quiet = make_scene(0, SceneConfig(width=320, height=240, rgb_noise_std=0.0))
    diff = s.rgb.astype(int) - quiet.rgb.astype(int)
    assert 1.0 < diff.std() < 4.0


# --------------------------------------------------------------------------- ground truth
def test_boxes_are_the_instance_mask_bounds(scenes):
    for s in scenes:
        ids = set(np.unique(s.instance_mask)) - {-1}
        assert ids == {o.instance_id for o in s.objects if o.visible_pixels > 0}
        for o in s.objects:
            assert o.instance_id == s.objects.index(o)
            m = s.instance_mask == o.instance_id
            assert m.sum() == o.visible_pixels > 0  # every object at least partly in view
            rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
            expected = [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
            assert o.box_2d.tolist() == expected
            a = o.amodal_box_2d
            assert a[0] <= expected[0] and a[1] <= expected[1]
            assert a[2] >= expected[2] and a[3] >= expected[3]
            assert 0 < o.visible_fraction <= 1


def test_projected_centre_falls_in_box(scenes):
    checked = 0
    for s in scenes:
        for o in s.objects:
            if o.visible_fraction < 0.5:
                continue
            u, v = project(s, o.center_cam)
            x1, y1, x2, y2 = o.box_2d
            # K puts pixel centres at integers, boxes use pixel edges: shift by 0.5.
            assert x1 <= u + 0.5 <= x2 and y1 <= v + 0.5 <= y2, (s.seed, o.instance_id)
            checked += 1
    assert checked > 30


def test_depth_inside_mask_matches_3d_box(scenes):
    checked = 0
    for s in scenes:
        for o in s.objects:
            m = s.instance_mask == o.instance_id
            zmin, zmax = o.corners_cam[:, 2].min(), o.corners_cam[:, 2].max()
            true = s.depth_true_m[m]
            assert true.min() >= zmin - 1e-4 and true.max() <= zmax + 1e-4
            measured = s.depth_m[m & np.isfinite(s.depth_m)]
            if measured.size < 20:
                continue
            tol = 3 * (0.0012 + 0.0019 * (zmax - 0.4) ** 2) + 0.002
            assert zmin - tol <= np.median(measured) <= zmax + tol
            assert abs(np.median(measured) - np.median(true)) < tol
            checked += 1
    assert checked > 30


def test_3d_boxes_are_consistent(scenes):
    for s in scenes:
        pose = s.camera_pose
        for o in s.objects:
            # corners_cam is the box of size `size` rotated by rotation_cam about center_cam.
            local = (o.corners_cam - o.center_cam) @ o.rotation_cam
            assert np.allclose(np.abs(local), o.size / 2, atol=1e-9)
            world = o.center_cam @ pose[:3, :3].T + pose[:3, 3]
            assert np.allclose(world, o.center_world)
            # Resting on the table (z up, top at 0) and upright: yaw only.
            assert o.center_world[2] == pytest.approx(o.size[2] / 2)
            R_world = pose[:3, :3] @ o.rotation_cam
            assert np.allclose(R_world[:, 2], [0, 0, 1], atol=1e-9)
            assert math.atan2(R_world[1, 0], R_world[0, 0]) == pytest.approx(
                math.remainder(o.yaw, 2 * math.pi), abs=1e-9)
            assert o.distance_m == pytest.approx(np.linalg.norm(o.center_cam))


def test_objects_do_not_interpenetrate(scenes):
    for s in scenes:
        objs = s.objects
        for i in range(len(objs)):
            for j in range(i + 1, len(objs)):
                a, b = objs[i], objs[j]
                gap = np.hypot(*(a.center_world[:2] - b.center_world[:2]))
                assert gap >= footprint_radius(a) + footprint_radius(b)


def test_attributes_come_from_the_vocabulary(scenes):
    seen_cats, seen_cols = set(), set()
    for s in scenes:
        for o in s.objects:
            assert o.category in CATEGORIES and o.colour in COLOURS
            assert o.size_class in SIZE_CLASSES
            assert np.abs(np.subtract(o.rgb, COLOURS[o.colour])).max() <= 20
            lo, hi = {"small": (0.035, 0.055), "medium": (0.06, 0.09),
                      "large": (0.10, 0.15)}[o.size_class]
            assert lo - 1e-9 <= o.size.max() <= hi + 1e-9
            seen_cats.add(o.category)
            seen_cols.add(o.colour)
    assert seen_cats == set(CATEGORIES)
    assert len(seen_cols) >= 10


def test_some_objects_are_occluded(scenes):
    fractions = [o.visible_fraction for s in scenes for o in s.objects]
    assert min(fractions) >= 0.1
    assert sum(f < 0.95 for f in fractions) >= 5


def test_camera_pose_ranges(scenes):
    for s in scenes:
        forward = s.camera_pose[:3, 2]
        right = s.camera_pose[:3, 0]
        pitch = math.degrees(math.asin(-forward[2]))
        assert 25 - 1e-6 <= pitch <= 60 + 1e-6
        assert abs(right[2]) <= math.sin(math.radians(3)) + 1e-9  # roll <= 3 deg
        # The optical axis meets the table top 0.5-1.6 m away.
        height = s.camera_pose[2, 3]
        assert 0.5 - 1e-6 <= height / -forward[2] <= 1.6 + 1e-6


# --------------------------------------------------------------------------- config effects
@pytest.mark.parametrize("lo, hi", [(1, 1), (3, 5), (12, 14)])
def test_object_counts_within_range(lo, hi):
    cfg = SceneConfig(width=160, height=120, n_objects=(lo, hi))
    counts = [len(make_scene(seed, cfg).objects) for seed in range(4)]
    assert all(lo <= c <= hi for c in counts), counts


def test_vocabulary_restrictions_are_obeyed():
    cfg = SceneConfig(width=160, height=120, n_objects=(6, 6), categories=("ball", "cone"),
                      colours=("red", "pink"), size_classes=("small",))
    for seed in range(3):
        for o in make_scene(seed, cfg).objects:
            assert o.category in ("ball", "cone") and o.colour in ("red", "pink")
            assert o.size_class == "small" and o.text == ""


def test_text_objects_carry_text():
    cfg = SceneConfig(width=160, height=120, n_objects=(5, 5), categories=TEXT_CATEGORIES,
                      text_probability=1.0, text_length=(1, 4))
    lengths = set()
    for seed in range(4):
        for o in make_scene(seed, cfg).objects:
            assert 1 <= len(o.text) <= 4 and set(o.text) <= set(TEXT_ALPHABET)
            assert o.text_rgb is not None and o.text_height_px > 0
            luma = lambda c: 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]  # noqa: E731
            assert abs(luma(o.text_rgb) - luma(o.rgb)) > 60  # contrasting ink
            assert o.size_class != "small"
            lengths.add(len(o.text))
    assert len(lengths) >= 3
    none = SceneConfig(width=160, height=120, text_probability=0.0)
    assert all(o.text == "" and o.text_rgb is None for o in make_scene(1, none).objects)


def test_printed_text_is_visible_ink():
    """Dark ink on light objects: the darkest pixels inside the mask are ink, not shading."""
    cfg = SceneConfig(width=320, height=240, n_objects=(4, 6), categories=("cube", "box"),
                      colours=("white", "yellow"), text_probability=1.0, ambient=(0.45, 0.5),
                      camera_distance_m=(0.5, 0.8))
    checked = 0
    for seed in range(3):
        s = make_scene(seed, cfg)
        luma = s.rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        for o in s.objects:
            if o.text_height_px < 10 or o.visible_fraction < 0.9:
                continue
            m = s.instance_mask == o.instance_id
            inner = m & np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1)
            assert luma[inner].min() < 45, (seed, o.text)
            checked += 1
    assert checked >= 3


def test_no_text_no_dark_pixels_on_light_objects():
    """Counterpart of the ink test: without text the same check must fail."""
    cfg = SceneConfig(width=320, height=240, n_objects=(4, 6), categories=("cube", "box"),
                      colours=("white", "yellow"), text_probability=0.0, ambient=(0.45, 0.5),
                      camera_distance_m=(0.5, 0.8))
    s = make_scene(0, cfg)
    luma = s.rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    for o in s.objects:
        m = s.instance_mask == o.instance_id
        inner = m & np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1)
        if inner.sum() > 50:
            assert luma[inner].min() > 45


def test_placement_failure_is_reported():
    cfg = SceneConfig(width=160, height=120, n_objects=(50, 50), size_classes=("large",),
                      camera_distance_m=(0.5, 0.5))
    with pytest.raises(RuntimeError, match="n_objects"):
        make_scene(0, cfg)


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        make_scene(-1)
    with pytest.raises(TypeError, match="seed"):
        make_scene(1.5)
    with pytest.raises(TypeError, match="config"):
        make_scene(1, {"width": 320})


# --------------------------------------------------------------------------- describe
def test_describe_object_words(scenes):
    for s in scenes[:4]:
        for o in s.objects:
            d = describe_object(o, s.width, s.height)
            cu = (o.box_2d[0] + o.box_2d[2]) / 2
            assert d["horizontal"] == ("left" if cu < s.width / 3 else
                                       "right" if cu >= 2 * s.width / 3 else "middle")
            assert d["name"] == f"{o.colour} {o.category}"
            assert d["phrase"].startswith(f"the {o.size_class} {o.colour} {o.category}")
            assert (f'"{o.text}"' in d["phrase"]) == bool(o.text)
            cv = (o.box_2d[1] + o.box_2d[3]) / 2
            assert (d["range"] == "near") == (cv >= 2 * s.height / 3)


def test_supersampling_changes_colour_only(scenes):
    plain = scenes[5]
    fine = make_scene(5, SceneConfig(width=320, height=240, supersample=2))
    assert np.array_equal(plain.instance_mask, fine.instance_mask)
    assert np.array_equal(plain.depth_true_m, fine.depth_true_m)
    assert np.array_equal(plain.depth_mm, fine.depth_mm)
    for a, b in zip(plain.objects, fine.objects):
        assert np.array_equal(a.box_2d, b.box_2d)
        assert np.array_equal(a.amodal_box_2d, b.amodal_box_2d)
        assert a.visible_fraction == b.visible_fraction
    diff = np.abs(plain.rgb.astype(int) - fine.rgb.astype(int))
    assert 0.2 < diff.mean() < 6  # the same picture, with smoother edges
    # Edges are where the two differ most.
    edges = np.zeros(plain.instance_mask.shape, bool)
    edges[:, 1:] = plain.instance_mask[:, 1:] != plain.instance_mask[:, :-1]
    assert diff[edges].mean() > 2 * diff[~edges].mean()
