"""make_sequence: shared objects, smooth camera motion, timestamps, determinism."""

import math

import numpy as np
import pytest

from fo1_ros.synth import SceneConfig, make_sequence

CFG = SceneConfig(width=160, height=120, n_objects=(4, 8))


@pytest.fixture(scope="module")
def orbit():
    return make_sequence(4, 12, CFG)


def heading(scene):
    f = scene.camera_pose[:3, 2]
    return math.degrees(math.atan2(f[1], f[0]))


def test_frames_and_stamps(orbit):
    assert len(orbit) == 12
    assert [s.frame_index for s in orbit] == list(range(12))
    assert [s.stamp_ns for s in orbit] == [i * 100_000_000 for i in range(12)]
    other = make_sequence(4, 3, CFG, rate_hz=30.0, start_ns=5_000)
    assert [s.stamp_ns for s in other] == [5_000, 5_000 + 33_333_333, 5_000 + 66_666_667]


def test_frames_share_the_same_objects(orbit):
    first = orbit[0].objects
    assert len(first) >= 4
    for s in orbit[1:]:
        assert len(s.objects) == len(first)
        for a, b in zip(first, s.objects):
            assert (a.instance_id, a.category, a.colour, a.text) == (
                b.instance_id, b.category, b.colour, b.text)
            assert np.array_equal(a.center_world, b.center_world) and a.yaw == b.yaw
    for s in (orbit[0], orbit[len(orbit) // 2], orbit[-1]):
        assert all(o.visible_pixels > 0 for o in s.objects)
    # Seen from different places, the camera-frame ground truth changes.
    assert not np.allclose(orbit[0].objects[0].center_cam, orbit[-1].objects[0].center_cam)


def test_camera_moves_smoothly(orbit):
    pos = np.array([s.camera_pose[:3, 3] for s in orbit])
    steps = np.diff(pos, axis=0)
    step_len = np.linalg.norm(steps, axis=1)
    assert step_len.min() > 0.005  # it moves every frame
    assert step_len.max() < 0.1
    # Nearly constant velocity: consecutive steps change little.
    assert np.linalg.norm(np.diff(steps, axis=0), axis=1).max() < 0.25 * step_len.mean()
    for a, b in zip(orbit, orbit[1:]):
        R = a.camera_pose[:3, :3].T @ b.camera_pose[:3, :3]
        angle = math.degrees(math.acos(np.clip((np.trace(R) - 1) / 2, -1, 1)))
        assert angle < 6
    turned = (heading(orbit[-1]) - heading(orbit[0]) + 180) % 360 - 180
    assert turned == pytest.approx(40.0, abs=1e-6)  # the default arc_deg


def test_dolly_approaches_the_table():
    seq = make_sequence(5, 6, CFG, motion="dolly", dolly_m=0.3)
    heights = [s.camera_pose[2, 3] for s in seq]
    assert all(b < a for a, b in zip(heights, heights[1:]))
    pos = np.array([s.camera_pose[:3, 3] for s in seq])
    travelled = np.linalg.norm(np.diff(pos, axis=0), axis=1).sum()
    assert travelled == pytest.approx(0.3, rel=0.1)


def test_sequence_is_deterministic(orbit):
    again = make_sequence(4, 12, CFG)
    for a, b in zip(orbit, again):
        assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth_mm, b.depth_mm)
        assert np.array_equal(a.camera_pose, b.camera_pose)
    assert not np.array_equal(make_sequence(5, 2, CFG)[0].rgb, orbit[0].rgb)


def test_sensor_noise_is_independent_between_frames():
    still = make_sequence(2, 2, CFG, arc_deg=0.0)  # the camera bobs only slightly
    z = [s.depth_true_m for s in still]
    res = [(s.depth_m - s.depth_true_m) / (0.0012 + 0.0019 * (s.depth_true_m - 0.4) ** 2)
           for s in still]
    both = np.isfinite(res[0]) & np.isfinite(res[1]) & (np.abs(z[0] - z[1]) < 1e-3)
    assert both.sum() > 500
    corr = np.corrcoef(res[0][both], res[1][both])[0, 1]
    assert abs(corr) < 0.2


def test_objects_stay_in_view_along_the_trajectory():
    tiny = SceneConfig(width=160, height=120, n_objects=(3, 10))
    for seed in range(6):
        for s in make_sequence(seed, 3, tiny, arc_deg=120.0):
            assert all(o.visible_pixels > 0 for o in s.objects), (seed, s.frame_index)


def test_single_frame_and_bad_arguments():
    assert len(make_sequence(1, 1, CFG)) == 1
    for kwargs, word in (({"n_frames": 0}, "n_frames"), ({"rate_hz": 0.0}, "rate_hz"),
                         ({"motion": "spin"}, "motion"), ({"arc_deg": 270}, "arc_deg"),
                         ({"dolly_m": -1}, "dolly_m")):
        args = {"seed": 1, "n_frames": 3, "config": CFG, **kwargs}
        with pytest.raises(ValueError, match=word):
            make_sequence(**args)
