"""Helpers of the node tests: the input messages of a synthetic scene (rosbags objects), a
node on the tiny model, and feeding one frame through it."""

from __future__ import annotations

import dataclasses

import numpy as np

from fo1_ros import msgs
from fo1_ros.node import NodeConfig, PerceptionNode, bbox, header

W, H = 160, 120


def scene_msgs(build, scene, stamp_ns=1_000_000_000, encoding="rgb8", depth=None, boxes=None):
    """(image, depth, camera_info, proposals) rosbags messages of a scene."""
    hdr = header(stamp_ns, scene.frame_id)
    rgb = scene.rgb if encoding == "rgb8" else scene.rgb[:, :, ::-1].copy()
    image = build.build("sensor_msgs/msg/Image",
                        {"header": hdr, **msgs.numpy_to_image_fields(rgb, encoding).as_dict()})
    depth = scene.depth_mm if depth is None else depth
    enc = "16UC1" if depth.dtype == np.uint16 else "32FC1"
    d = build.build("sensor_msgs/msg/Image",
                    {"header": hdr, **msgs.numpy_to_image_fields(depth, enc).as_dict()})
    info = msgs.fill_camera_info(build.build("sensor_msgs/msg/CameraInfo", {"header": hdr}),
                                 scene.K, scene.width, scene.height)
    boxes = np.array([o.box_2d for o in scene.objects]) if boxes is None else boxes
    props = build.build("fo1_ros/msg/RegionArray",
                        {"header": hdr, "regions": [{"index": i, "bbox": bbox(b), "proposal_score": 1.0}
                                                    for i, b in enumerate(boxes)]})
    return image, d, info, props


def make_node(engine, **kw):
    """A node with external proposals, queries cube and ball, no captions (and ``kw``)."""
    config = NodeConfig(**{"proposal_source": "external", "queries": ["cube", "ball"],
                           "caption_rate_hz": 0.0, **kw})
    return PerceptionNode(config, engine=engine)


def feed(node, image, depth=None, info=None, props=None, now=0):
    """One frame's messages into the node; the outputs of processing it."""
    for stream, m in (("proposals", props), ("depth", depth), ("camera_info", info)):
        if m is not None:
            getattr(node, "on_" + stream)(m, now)
    node.on_image(image, now)
    node.poll(now + 10**12)
    fs = node.slot.take(0)
    return node.process(fs) if fs is not None else []


def message_fields(m):
    """The fields of a rosbags message as a dict (to build a modified copy)."""
    return {f.name: getattr(m, f.name) for f in dataclasses.fields(m) if not f.name.startswith("__")}
