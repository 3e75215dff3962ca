"""fo1_ros.node.outputs: a frame's outputs all carry the source header; the vision_msgs
arrays match the vision_msgs definitions."""

from __future__ import annotations

import math

import numpy as np
from rosbags.typesys import get_types_from_msg

from fo1_ros import draw, msgs
from fo1_ros.bag import RosbagsBuilder
from fo1_ros.node import NodeConfig, PerceptionNode, header

from .messages import H, W, feed, make_node, scene_msgs

# vision_msgs 4.x (Humble and later) definitions, to check the plain-data outputs against
# them where vision_msgs itself is not installable (it is not on PyPI).
VISION_MSGS = {
    "vision_msgs/msg/Point2D": "float64 x\nfloat64 y\n",
    "vision_msgs/msg/Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "vision_msgs/msg/BoundingBox2D": "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n",
    "vision_msgs/msg/BoundingBox3D": "geometry_msgs/Pose center\ngeometry_msgs/Vector3 size\n",
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/ObjectHypothesisWithPose":
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n",
    "vision_msgs/msg/Detection2D": "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] "
                                   "results\nvision_msgs/BoundingBox2D bbox\nstring id\n",
    "vision_msgs/msg/Detection2DArray": "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n",
    "vision_msgs/msg/Detection3D": "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] "
                                   "results\nvision_msgs/BoundingBox3D bbox\nstring id\n",
    "vision_msgs/msg/Detection3DArray": "std_msgs/Header header\nvision_msgs/Detection3D[] detections\n",
}



def test_a_frame_gives_every_output_with_the_source_header(engine, scene, build):
    node = make_node(engine)
    out = {o.topic: o for o in feed(node, *scene_msgs(build, scene))}
    assert set(out) == {"detections", "counts", "markers", "annotated_image"}
    det = out["detections"].data
    assert det["header"] == header(1_000_000_000, scene.frame_id)
    assert det["queries"] == ["cube", "ball"] and len(det["regions"]) == len(scene.objects)
    assert det["frame_3d"] == scene.frame_id
    lifted = [r for r in det["regions"] if r["has_3d"]]
    assert lifted
    err = [math.dist((r["center_3d"]["x"], r["center_3d"]["y"], r["center_3d"]["z"]),
                     scene.objects[r["index"]].center_cam) for r in lifted]
    assert np.median(err) < 0.05
    assert [c["label"] for c in out["counts"].data["counts"]] == ["cube", "ball"]
    markers = out["markers"].data["markers"]
    assert markers[0]["action"] == draw.DELETEALL
    assert all(m["header"] == det["header"] for m in markers)  # frame_3d is the image's here
    labelled = sum(1 for r in det["regions"] if r["label"] and r["has_3d"])
    assert len(markers) == 1 + 2 * labelled
    image = out["annotated_image"].data
    assert (image["width"], image["height"], image["encoding"]) == (W, H, "rgb8")
    for topic in ("detections", "counts", "annotated_image"):
        assert out[topic].data["header"] == det["header"]
    assert node.stats()["frames_processed"] == 1


def test_vision_msgs_outputs_match_the_vision_msgs_definitions(engine, scene, build):
    store = msgs.typestore()
    types = {}
    for name, text in VISION_MSGS.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    node = PerceptionNode(NodeConfig(proposal_source="external", queries=["cube", "ball"],
                                     caption_rate_hz=0.0, detection_threshold=0.0), engine=engine,
                          vision_msgs=True)
    out = {o.topic: o for o in feed(node, *scene_msgs(build, scene))}
    assert {"detections_2d", "detections_3d"} <= set(out)
    labelled = [r for r in out["detections"].data["regions"] if r["label"]]
    for topic in ("detections_2d", "detections_3d"):
        msg = RosbagsBuilder(store).build(out[topic].msgtype, out[topic].data)
        raw = store.serialize_cdr(msg, out[topic].msgtype)
        back = store.deserialize_cdr(raw, out[topic].msgtype)
        assert back.header.frame_id == scene.frame_id
    d2 = RosbagsBuilder(store).build("vision_msgs/msg/Detection2DArray", out["detections_2d"].data)
    assert [d.results[0].hypothesis.class_id for d in d2.detections] == [r["label"] for r in labelled]
    for d, r in zip(d2.detections, labelled):
        assert d.id == str(r["index"]) and d.bbox.center.position.x == r["bbox"]["center_x"]
