"""fo1_ros.node.decode through the node: every image encoding, compressed images, depth in
mm and m, at half and quarter size (3-D centres against the ground truth), unusable depth or
camera_info (a reason, not a crash), bad images (counted drops) and 10 000 external proposals
(capped)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fo1_ros import msgs
from fo1_ros.eval.metrics import bucket_3d
from fo1_ros.node import header
from fo1_ros.node.decode import transform_to_matrix
from fo1_ros.node.outputs import bbox_to_xyxy
from fo1_ros.synth import SceneConfig, make_scene

from .messages import H, W, feed, make_node, message_fields, scene_msgs


def test_bad_images_are_counted_drops(engine, scene, build):
    node = make_node(engine)
    image, depth, info, props = scene_msgs(build, scene)
    bad_encoding = build.build("sensor_msgs/msg/Image", {**message_fields(image), "encoding": "rgb9"})
    truncated = build.build("sensor_msgs/msg/Image", {**message_fields(image), "data": image.data[:100]})
    empty = build.build("sensor_msgs/msg/Image", {"header": message_fields(image)["header"]})
    for bad in (bad_encoding, truncated, empty):
        assert feed(node, bad, depth, info, props) == []
    assert node.stats()["bad_image"] == 3
    assert feed(node, image, depth, info, props)  # and the next good frame works


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8", "mono8", "mono16"])
def test_every_image_encoding(engine, scene, build, encoding):
    rgb = scene.rgb
    image = {"bgr8": rgb[:, :, ::-1], "rgba8": np.dstack([rgb, np.full((H, W), 255, np.uint8)]),
             "bgra8": np.dstack([rgb[:, :, ::-1], np.full((H, W), 9, np.uint8)]),
             "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
             "mono16": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257}[encoding]
    msg = build.build("sensor_msgs/msg/Image", {"header": header(7, "cam"), **msgs.numpy_to_image_fields(
        np.ascontiguousarray(image), encoding).as_dict()})
    _, depth, info, props = scene_msgs(build, scene, 7)
    out = feed(make_node(engine), msg, depth, info, props)
    assert out and out[0].data["header"]["frame_id"] == "cam"


def test_compressed_image_and_32fc1_depth(engine, scene, build):
    image, _, info, props = scene_msgs(build, scene)
    fields = msgs.numpy_to_compressed_fields(scene.rgb, "rgb8", "jpeg")
    jpeg = build.build("sensor_msgs/msg/CompressedImage", {"header": message_fields(image)["header"],
                                                           **fields.as_dict()})
    depth = scene_msgs(build, scene, depth=scene.depth_m)[1]
    out = feed(make_node(engine), jpeg, depth, info, props)
    assert any(r["has_3d"] for r in out[0].data["regions"])


@pytest.mark.parametrize("case, reason", [
    ("nan", "no_valid_depth"), ("other_aspect", "no_depth"), ("wrong_encoding", "no_depth"),
    ("no_camera_info", "no_camera_info")])
def test_unusable_depth_gives_a_reason_not_a_crash(engine, scene, build, case, reason):
    image, depth, info, props = scene_msgs(build, scene)
    if case == "nan":
        depth = scene_msgs(build, scene, depth=np.full((H, W), np.nan, np.float32))[1]
    elif case == "other_aspect":
        depth = scene_msgs(build, scene, depth=np.full((50, 50), 1000, np.uint16))[1]
    elif case == "wrong_encoding":
        depth = build.build("sensor_msgs/msg/Image", {**message_fields(depth), "encoding": "rgb8",
                                                      "step": W * 3, "data": depth.data[: W * H * 3]})
    elif case == "no_camera_info":
        info = None
    out = feed(make_node(engine), image, depth, info, props)
    regions = out[0].data["regions"]
    assert regions and all(not r["has_3d"] and r["reason_3d"].startswith(reason) for r in regions), \
        [r["reason_3d"] for r in regions]


# Scenes of the depth-resolution test: 640x480 colour, 26 objects unoccluded and within 1.5 m
# (fo1_ros.eval.metrics.bucket_3d).
RESOLUTION_SEEDS = (2, 4, 5, 6)


def _centre_errors(engine, build, seed, factor):
    """Centre errors (m; inf without 3-D) of the unoccluded objects of one 640x480 scene, its
    depth rendered at 1/factor of the colour resolution (same world, the sensor's own noise)
    and decoded and lifted by the node, camera_info given for the colour image."""
    scene, small = (make_scene(seed, SceneConfig(width=640 // f, height=480 // f, n_objects=(6, 8)))
                    for f in (1, factor))
    assert [o.center_cam.tolist() for o in small.objects] == [o.center_cam.tolist() for o in scene.objects]
    image, _, info, props = scene_msgs(build, scene)
    depth = scene_msgs(build, scene, depth=small.depth_mm)[1]
    out = feed(make_node(engine), image, depth, info, props)[0]  # the detections
    errors = []
    for r in out.data["regions"]:
        box = np.array(bbox_to_xyxy(r["bbox"]))
        o = min(scene.objects, key=lambda o: np.abs(o.box_2d - box).sum())  # regions keep the boxes
        assert np.abs(o.box_2d - box).max() < 1e-3
        if bucket_3d(o.visible_fraction, o.distance_m) != "unoccluded":
            continue
        c = r["center_3d"]
        errors.append(np.linalg.norm([c["x"], c["y"], c["z"]] - o.center_cam) if r["has_3d"] else np.inf)
    return errors


def test_depth_at_half_and_quarter_resolution_lifts_centres_as_well_as_full(engine, build):
    """Depth smaller than the colour image is decoded with the colour K rescaled to it: the 3-D
    centres must be as good as with full-resolution depth (not merely present). The tolerance
    comes from full resolution in the same scenes (median 6.6 mm, p90 21.8 mm): +5 mm on the
    median (measured: half +0.8 mm, quarter +1.2 mm) and +10 mm on the 90th percentile (+1.1,
    +1.3 mm). Caught: the colour K unscaled (58 % of the objects without 3-D, the rest ~0.3 m
    off), focal length unscaled or 5 % long (median 16 mm), principal point 2 px off at quarter
    size (median 13.5 mm). Below its resolution: ``cx' = s cx`` without the half pixel (median
    +1.3 mm at quarter size; test/geometry/test_camera.py pins the formula)."""
    err = {f: np.array([e for seed in RESOLUTION_SEEDS for e in _centre_errors(engine, build, seed, f)])
           for f in (1, 2, 4)}
    stats = {f: (np.isfinite(e).mean(), np.median(e), np.percentile(e, 90)) for f, e in err.items()}
    summary = {f: f"{100 * ok:.0f}% with 3-D, median {1e3 * m:.1f} mm, p90 {1e3 * p:.1f} mm"
               for f, (ok, m, p) in stats.items()}
    assert len(err[1]) >= 20 and np.all(np.isfinite(err[1])) and stats[1][1] <= 0.02, summary
    assert np.all(np.isfinite(err[2])), summary  # every unoccluded object lifted at half size
    assert stats[4][0] >= 0.9, summary  # the smallest boxes may have too few depth pixels
    for f in (2, 4):
        assert stats[f][1] <= stats[1][1] + 0.005, summary
        assert np.percentile(err[f][np.isfinite(err[f])], 90) <= stats[1][2] + 0.010, summary


def test_ten_thousand_external_proposals_are_capped(engine, scene, build):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, [W - 12, H - 12], (10_000, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(4, 12, (10_000, 2))], 1)
    node = make_node(engine)
    out = feed(node, *scene_msgs(build, scene, boxes=boxes))
    assert 0 < len(out[0].data["regions"]) <= engine.max_regions
    assert node.stats()["proposals_capped"] == 1


def test_transform_to_matrix():
    class V:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    half = np.sqrt(0.5)  # 90 degrees about z
    T = transform_to_matrix(V(rotation=V(x=0.0, y=0.0, z=half, w=half),
                              translation=V(x=1.0, y=2.0, z=3.0)))
    assert T.shape == (4, 4) and np.allclose(T[3], [0, 0, 0, 1])
    assert np.allclose(T @ [1.0, 0.0, 0.0, 1.0], [1.0, 3.0, 3.0, 1.0])
