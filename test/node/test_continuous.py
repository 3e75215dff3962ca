"""fo1_ros.node.continuous: 3-D moved to target_frame (and kept when tf fails); captions on
their own rate in source time."""

from __future__ import annotations

import numpy as np

from .messages import feed, make_node, scene_msgs


def xyz(v: dict) -> np.ndarray:
    return np.array([v["x"], v["y"], v["z"]])


def test_target_frame_transform_and_its_failure(engine, scene, build):
    """A target<-camera transform that rotates 90 degrees about z and translates: each 3-D
    centre becomes R c + t and each axis-aligned size |R| s (x and y swap)."""
    T = np.eye(4)
    T[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    T[:3, 3] = (1.0, 2.0, 3.0)
    node = make_node(engine, target_frame="base_link")
    node.transform = lambda target, source, stamp: T
    plain = make_node(engine)
    moved = {o.topic: o.data for o in feed(node, *scene_msgs(build, scene))}
    ref = {o.topic: o.data for o in feed(plain, *scene_msgs(build, scene))}
    assert moved["detections"]["frame_3d"] == "base_link"
    assert moved["detections"]["header"]["frame_id"] == scene.frame_id  # 2-D stays in the image
    pairs = [(a, b) for a, b in zip(moved["detections"]["regions"], ref["detections"]["regions"],
                                    strict=True) if b["has_3d"]]
    assert pairs and all(a["has_3d"] for a, _ in pairs)
    for a, b in pairs:
        c, s = xyz(b["center_3d"]), xyz(b["size_3d"])
        np.testing.assert_allclose(xyz(a["center_3d"]), [1.0 - c[1], 2.0 + c[0], 3.0 + c[2]], atol=1e-9)
        np.testing.assert_allclose(xyz(a["size_3d"]), [s[1], s[0], s[2]], atol=1e-9)
    assert all(m["header"]["frame_id"] == "base_link" for m in moved["markers"]["markers"])

    def broken(target, source, stamp):
        raise LookupError("no such frame")

    node.transform = broken
    out = {o.topic: o.data for o in feed(node, *scene_msgs(build, scene))}
    assert out["detections"]["frame_3d"] == scene.frame_id and node.stats()["transform_failed"] == 1


def test_captions_follow_their_own_rate_in_source_time(engine, scene, build):
    node = make_node(engine, caption_rate_hz=1.0, caption_max_regions=2)
    captioned = []
    for k, t in enumerate((0.0, 0.5, 1.0, 1.2, 2.1)):
        stamp = int(t * 1e9) + 1
        feed(node, *scene_msgs(build, scene, stamp), now=k)
        out = node.caption_step()
        if out:
            data = out[0].data
            assert len(data["descriptions"]) == 2 and data["header"]["stamp"]["nanosec"] == stamp % 10**9
            captioned.append(t)
    assert captioned == [0.0, 1.0, 2.1]
