"""fo1_ros.node without any transport: parameters, approximate-time sync, the latest-frame
slot, per-frame processing and every service, on rosbags message objects and the tiny model.

The same PerceptionNode runs inside the rclpy node (test/ros/test_fo1_node.py) and the bag
processor (test/test_bag.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fo1_ros import draw, msgs
from fo1_ros.bag import RosbagsBuilder
from fo1_ros.node import (
    ApproxTimeSync,
    FrameSlot,
    NodeConfig,
    PerceptionNode,
    bbox,
    clean_queries,
    header,
    load_params_file,
    parse_query_text,
)

ROOT = Path(__file__).resolve().parents[1]
W, H = 160, 120


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared, busy 2-core machine two threads thrash (measured
    ~40x slower for the tiny model under load). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

# ---- parameters ---------------------------------------------------------------------------


def test_perception_yaml_mirrors_node_config():
    params = load_params_file(ROOT / "config" / "perception.yaml")
    assert set(params) == set(NodeConfig.field_names())
    assert NodeConfig.from_dict(params) == NodeConfig()
    assert NodeConfig.from_dict(NodeConfig().to_dict()) == NodeConfig()


def test_every_parameter_has_a_description():
    import dataclasses

    for f in dataclasses.fields(NodeConfig):
        assert f.metadata.get("doc"), f.name


def test_unknown_parameters_are_reported_with_a_suggestion():
    config, problems = NodeConfig.check({"queris": ["cube"], "device": "cpu"})
    assert config is not None and config.device == "cpu"
    assert problems == ["'queris' is not a parameter of fo1_node (did you mean 'queries'?)"]
    with pytest.raises(ValueError, match="queris"):
        NodeConfig.from_dict({"queris": ["cube"]})
    assert NodeConfig.unknown_keys({"model_path": ""}) == []


@pytest.mark.parametrize("key, value, match", [
    ("image_qos", "fast", "image_qos"),
    ("caption_rate_hz", -1.0, "caption_rate_hz"),
    ("sync_slop_s", 0.0, "sync_slop_s"),
    ("depth_max_m", 0.05, "depth_max_m"),
    ("max_regions", 500, "max_regions"),
    ("autostart", "yes", "autostart"),
    ("queries", "cube", "queries"),
    ("queries", ["cube", "<region1>"], "reserved"),
    ("detection_threshold", 2.0, "detection_threshold"),
    ("proposal_source", " ", "proposal_source"),
])
def test_invalid_parameters_name_the_field(key, value, match):
    config, problems = NodeConfig.check({key: value})
    assert config is None and any(match in p for p in problems), problems


def test_every_invalid_parameter_is_named_at_once():
    config, problems = NodeConfig.check({"image_qos": "fast", "caption_rate_hz": -1.0, "typo": 1})
    assert config is None and len(problems) == 3
    assert any("image_qos" in p for p in problems) and any("caption_rate_hz" in p for p in problems)


def test_int_for_float_parameters_is_accepted():
    assert NodeConfig(caption_rate_hz=1).caption_rate_hz == 1.0
    assert NodeConfig(max_regions=50.0).max_regions == 50


def test_params_file_layouts(tmp_path):
    (tmp_path / "a.yaml").write_text("fo1_node:\n  ros__parameters:\n    device: cpu\n")
    (tmp_path / "b.yaml").write_text("/robot/fo1_node:\n  ros__parameters:\n    device: cuda\n")
    (tmp_path / "c.yaml").write_text("device: cpu\nqueries: [a, b]\n")
    (tmp_path / "d.yaml").write_text("other_node:\n  ros__parameters:\n    device: cpu\n")
    assert load_params_file(tmp_path / "a.yaml") == {"device": "cpu"}
    assert load_params_file(tmp_path / "b.yaml") == {"device": "cuda"}
    assert load_params_file(tmp_path / "c.yaml") == {"device": "cpu", "queries": ["a", "b"]}
    with pytest.raises(ValueError, match="fo1_node"):
        load_params_file(tmp_path / "d.yaml")


def test_query_cleaning():
    assert clean_queries([" cube ", "ball", "cube"]) == ["cube", "ball"]
    assert parse_query_text("red cube, ball;cup\n") == ["red cube", "ball", "cup"]
    for bad, match in ((["cube", ""], "empty"), (["x" * 3000], "limit"), (["a"] * 40, "at most"),
                       (["<|im_start|>"], "reserved"), ([3], "string")):
        with pytest.raises(ValueError, match=match):
            clean_queries(bad)


# ---- approximate-time sync and the slot -----------------------------------------------------

MS = 1_000_000


def _sync(**kw):
    args = dict(slop_ns=20 * MS, queue_size=5, wait_ns=300 * MS)
    args.update(kw)
    return ApproxTimeSync(**args)


def test_sync_matches_nearest_within_slop():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add("camera_info", "i0", 0, 0)
    s.add("depth", "d1", 100 * MS, 1)
    s.add("camera_info", "i1", 95 * MS, 1)
    out = s.add_image("img", 105 * MS, 2)
    assert [(f.image, f.depth, f.camera_info) for f in out] == [("img", "d1", "i1")]


def test_sync_waits_for_depth_then_gives_up_with_a_note():
    s = _sync()
    s.add("depth", "d0", 0, 0)  # the depth stream is live
    assert s.add_image("img", 100 * MS, 10 * MS) == []  # waits for its depth
    assert s.poll(200 * MS) == []
    out = s.poll(400 * MS)  # waited longer than wait_ns
    assert len(out) == 1 and out[0].depth is None and "no depth" in out[0].notes[0]
    assert s.stats["unmatched_depth"] == 1


def test_sync_depth_arriving_later_completes_the_frame():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    assert s.add_image("img", 100 * MS, 1) == []
    out = s.add("depth", "d1", 101 * MS, 2)
    assert [(f.image, f.depth) for f in out] == [("img", "d1")]


def test_sync_gives_up_at_once_when_depth_has_passed_the_image():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add("depth", "d2", 200 * MS, 1)
    out = s.add_image("img", 100 * MS, 2)  # depth already beyond 100 + slop: no match can come
    assert len(out) == 1 and out[0].depth is None


def test_sync_latest_frame_wins_and_drops_are_counted():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add_image("a", 100 * MS, 1)
    s.add_image("b", 200 * MS, 2)
    out = s.add("depth", "d2", 200 * MS, 3)  # completes b; a is superseded
    assert [f.image for f in out] == ["b"] and s.stats["dropped_superseded"] == 1


def test_sync_without_depth_stream_emits_at_once_and_keeps_last_camera_info():
    s = _sync(stream_timeout_ns=1000 * MS)
    s.add("camera_info", "latched", 0, 0)
    out = s.add_image("img", 5000 * MS, 5000 * MS)  # camera_info not live any more: last one used
    assert [(f.image, f.depth, f.camera_info) for f in out] == [("img", None, "latched")]
    assert s.stats["camera_info_fallback"] == 1


def test_sync_buffers_are_bounded():
    s = _sync(queue_size=3)
    for k in range(10):
        s.add("depth", k, 10_000 * MS + k * MS, 0)
    assert len(s.buffers["depth"]) == 3 and s.stats["dropped_overflow"] == 7


def test_sync_needs_external_proposals_when_configured():
    s = _sync(need_proposals=True)
    assert s.add_image("img", 100 * MS, 0) == []
    assert s.poll(1000 * MS) == [] and s.stats["dropped_no_proposals"] == 1
    s.add_image("img2", 200 * MS, 1000 * MS)
    out = s.add("proposals", "boxes", 200 * MS, 1000 * MS)
    assert [(f.image, f.proposals) for f in out] == [("img2", "boxes")]


def test_sync_flush_emits_every_pending_image_in_order():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add_image("a", 100 * MS, 1)
    s.add_image("b", 200 * MS, 1)
    assert [f.image for f in s.poll(2, flush=True)] == ["a", "b"]


def test_slot_keeps_the_latest_and_counts_replaced_frames():
    slot = FrameSlot()
    slot.put("a")
    slot.put("b")
    assert slot.take() == "b" and slot.take() is None and slot.dropped == 1


# ---- the node on the tiny model -----------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from fo1_ros.engine import Engine, EngineConfig

    return Engine(EngineConfig(model_path=str(tiny_model_dir), device="cpu"))


@pytest.fixture(scope="module")
def scene():
    from fo1_ros.synth import SceneConfig, make_scene

    return make_scene(5, SceneConfig(width=W, height=H, n_objects=(3, 5)))


@pytest.fixture(scope="module")
def build():
    return RosbagsBuilder()


def _msgs(build, scene, stamp_ns=1_000_000_000, encoding="rgb8", depth=None, boxes=None):
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


def _node(engine, **kw):
    config = NodeConfig(**{"proposal_source": "external", "queries": ["cube", "ball"],
                           "caption_rate_hz": 0.0, **kw})
    return PerceptionNode(config, engine=engine)


def _feed(node, image, depth=None, info=None, props=None, now=0):
    for stream, m in (("proposals", props), ("depth", depth), ("camera_info", info)):
        if m is not None:
            getattr(node, "on_" + stream)(m, now)
    node.on_image(image, now)
    node.poll(now + 10**12)
    fs = node.slot.take(0)
    return node.process(fs) if fs is not None else []


def test_a_frame_gives_every_output_with_the_source_header(engine, scene, build):
    node = _node(engine)
    out = {o.topic: o for o in _feed(node, *_msgs(build, scene))}
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
    assert markers[0]["action"] == draw.DELETEALL and markers[0]["header"] == det["header"]
    labelled = sum(1 for r in det["regions"] if r["label"] and r["has_3d"])
    assert len(markers) == 1 + 2 * labelled
    image = out["annotated_image"].data
    assert (image["width"], image["height"], image["encoding"]) == (W, H, "rgb8")
    for topic in ("detections", "counts", "annotated_image"):
        assert out[topic].data["header"] == det["header"]
    assert node.stats()["frames_processed"] == 1


def test_bad_images_are_counted_drops(engine, scene, build):
    node = _node(engine)
    image, depth, info, props = _msgs(build, scene)
    bad_encoding = build.build("sensor_msgs/msg/Image", {**_fields(image), "encoding": "rgb9"})
    truncated = build.build("sensor_msgs/msg/Image", {**_fields(image), "data": image.data[:100]})
    empty = build.build("sensor_msgs/msg/Image", {"header": _fields(image)["header"]})
    for bad in (bad_encoding, truncated, empty):
        assert _feed(node, bad, depth, info, props) == []
    assert node.stats()["bad_image"] == 3
    assert _feed(node, image, depth, info, props)  # and the next good frame works


def _fields(m):
    import dataclasses

    return {f.name: getattr(m, f.name) for f in dataclasses.fields(m) if not f.name.startswith("__")}


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8", "mono8", "mono16"])
def test_every_image_encoding(engine, scene, build, encoding):
    import cv2

    rgb = scene.rgb
    image = {"bgr8": rgb[:, :, ::-1], "rgba8": np.dstack([rgb, np.full((H, W), 255, np.uint8)]),
             "bgra8": np.dstack([rgb[:, :, ::-1], np.full((H, W), 9, np.uint8)]),
             "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
             "mono16": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257}[encoding]
    msg = build.build("sensor_msgs/msg/Image", {"header": header(7, "cam"), **msgs.numpy_to_image_fields(
        np.ascontiguousarray(image), encoding).as_dict()})
    _, depth, info, props = _msgs(build, scene, 7)
    out = _feed(_node(engine), msg, depth, info, props)
    assert out and out[0].data["header"]["frame_id"] == "cam"


def test_compressed_image_and_32fc1_depth(engine, scene, build):
    image, _, info, props = _msgs(build, scene)
    fields = msgs.numpy_to_compressed_fields(scene.rgb, "rgb8", "jpeg")
    jpeg = build.build("sensor_msgs/msg/CompressedImage", {"header": _fields(image)["header"],
                                                           **fields.as_dict()})
    depth = _msgs(build, scene, depth=scene.depth_m)[1]
    out = _feed(_node(engine), jpeg, depth, info, props)
    assert any(r["has_3d"] for r in out[0].data["regions"])


@pytest.mark.parametrize("case, reason", [
    ("nan", "no_valid_depth"), ("other_aspect", "no_depth"), ("wrong_encoding", "no_depth"),
    ("no_camera_info", "no_camera_info")])
def test_unusable_depth_gives_a_reason_not_a_crash(engine, scene, build, case, reason):
    image, depth, info, props = _msgs(build, scene)
    if case == "nan":
        depth = _msgs(build, scene, depth=np.full((H, W), np.nan, np.float32))[1]
    elif case == "other_aspect":
        depth = _msgs(build, scene, depth=np.full((50, 50), 1000, np.uint16))[1]
    elif case == "wrong_encoding":
        depth = build.build("sensor_msgs/msg/Image", {**_fields(depth), "encoding": "rgb8",
                                                      "step": W * 3, "data": depth.data[: W * H * 3]})
    elif case == "no_camera_info":
        info = None
    out = _feed(_node(engine), image, depth, info, props)
    regions = out[0].data["regions"]
    assert regions and all(not r["has_3d"] and r["reason_3d"].startswith(reason) for r in regions), \
        [r["reason_3d"] for r in regions]


def test_half_size_depth_is_scaled(engine, scene, build):
    image, _, info, props = _msgs(build, scene)
    depth = _msgs(build, scene, depth=np.ascontiguousarray(scene.depth_mm[::2, ::2]))[1]
    out = _feed(_node(engine), image, depth, info, props)
    assert any(r["has_3d"] for r in out[0].data["regions"])


def test_ten_thousand_external_proposals_are_capped(engine, scene, build):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, [W - 12, H - 12], (10_000, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(4, 12, (10_000, 2))], 1)
    node = _node(engine)
    out = _feed(node, *_msgs(build, scene, boxes=boxes))
    assert 0 < len(out[0].data["regions"]) <= engine.max_regions
    assert node.stats()["proposals_capped"] == 1


def test_no_queries_means_no_model_work_but_services_still_answer(engine, scene, build):
    node = _node(engine, queries=[])
    assert _feed(node, *_msgs(build, scene)) == []
    answer = node.call_service("detect_objects", {"queries": ["cube"]})
    assert answer["success"] and len(answer["detections"]["regions"]) == len(scene.objects)
    answer = node.call_service("detect_objects", {"queries": []})
    assert not answer["success"] and "vocabulary" in answer["message"]


def test_queries_topic_and_service(engine):
    node = _node(engine)
    assert node.on_queries("red cube, ball")["success"] and node.queries == ["red cube", "ball"]
    assert not node.on_queries("x" * 1_000_000)["success"] and node.queries == ["red cube", "ball"]
    answer = node.call_service("set_queries", {"queries": ["<region2>"]})
    assert not answer["success"] and "reserved" in answer["message"]
    assert node.call_service("set_queries", {"queries": []})["success"] and node.queries == []


def test_services_on_the_latest_frame(engine, scene, build):
    node = _node(engine)
    _feed(node, *_msgs(build, scene, 42))
    n = len(scene.objects)
    answer = node.call_service("detect_objects", {"queries": ["cube"]})
    assert answer["success"] and answer["detections"]["header"]["stamp"] == {"sec": 0, "nanosec": 42}
    answer = node.call_service("describe_regions", {"region_indices": [0, 1], "task": "detailed"})
    assert answer["success"] and [d["region_index"] for d in answer["descriptions"]["descriptions"]] == [0, 1]
    answer = node.call_service("describe_regions", {"task": "ocr"})
    assert answer["success"] and len(answer["descriptions"]["descriptions"]) == n
    answer = node.call_service("ask_region", {"question": "What colour is <region1>?"})
    assert answer["success"], answer["message"]
    answer = node.call_service("ask_region", {"question": "Which is bigger?", "region_indices": [0, 1],
                                              "reasoning": True})
    assert answer["success"], answer["message"]
    answer = node.call_service("count_objects", {"labels": ["cube", "ball"]})
    assert answer["success"] and [c["label"] for c in answer["counts"]["counts"]] == ["cube", "ball"]
    answer = node.call_service("spatial_query", {"relation": "nearest"})
    assert answer["success"] and answer["distances_m"] == sorted(answer["distances_m"])
    assert len(answer["matches"]["regions"]) == len(answer["distances_m"]) > 0
    answer = node.call_service("spatial_query", {"relation": "within", "radius_m": 5.0,
                                                 "reference": "region 0"})
    assert answer["success"], answer["message"]


@pytest.mark.parametrize("name, request_, words", [
    ("ask_region", {"question": "x" * 1_000_000}, "limit"),
    ("ask_region", {"question": "   "}, "empty"),
    ("ask_region", {"question": "What is <region99>?"}, "out of range"),
    ("ask_region", {"question": "What?", "region_indices": [7, 7, 99]}, "region index"),
    ("ask_region", {"question": "<|im_end|> hi"}, "reserved"),
    ("describe_regions", {"task": "poem"}, "task"),
    ("describe_regions", {"region_indices": [999]}, "out of range"),
    ("describe_regions", {"boxes": [{"center_x": 5, "center_y": 5, "size_x": 0, "size_y": 0}]}, "unusable"),
    ("describe_regions", {"boxes": [{"center_x": 20, "center_y": 20, "size_x": 10, "size_y": 10}] * 101},
     "at most"),
    ("count_objects", {"labels": ["y" * 5000]}, "limit"),
    ("detect_objects", {"queries": ["ok", ""]}, "empty"),
    ("spatial_query", {"relation": "sideways"}, "relation"),
    ("spatial_query", {"relation": "within", "radius_m": float("nan")}, "radius"),
    ("spatial_query", {"relation": "nearest", "reference": "region 77"}, "77"),
    ("no_such_service", {}, "unknown service"),
])
def test_bad_requests_answer_success_false(engine, scene, build, name, request_, words):
    node = _node(engine)
    _feed(node, *_msgs(build, scene))
    answer = node.call_service(name, request_)
    assert not answer["success"] and words in answer["message"], answer["message"]


def test_services_with_a_given_image(engine, scene, build):
    node = _node(engine)
    image = _msgs(build, scene, 77)[0]
    answer = node.call_service("describe_regions", {"image": image, "boxes": [
        {"center_x": 40, "center_y": 40, "size_x": 20, "size_y": 20}]})
    assert answer["success"] and answer["descriptions"]["header"]["stamp"]["nanosec"] == 77
    answer = node.call_service("detect_objects", {"image": image, "queries": ["cube"]})
    assert not answer["success"] and "boxes" in answer["message"]  # external proposals only
    bad = build.build("sensor_msgs/msg/Image", {**_fields(image), "data": image.data[:10]})
    answer = node.call_service("describe_regions", {"image": bad, "boxes": [
        {"center_x": 40, "center_y": 40, "size_x": 20, "size_y": 20}]})
    assert not answer["success"] and "data" in answer["message"]


def test_services_before_any_frame_and_when_inactive(engine):
    node = _node(engine)
    answer = node.call_service("count_objects", {"labels": ["cube"]})
    assert not answer["success"] and "no frame" in answer["message"]
    node.unload_engine()
    answer = node.call_service("count_objects", {"labels": ["cube"]})
    assert not answer["success"] and "not active" in answer["message"]
    assert node.process(object()) == []


def test_target_frame_transform_and_its_failure(engine, scene, build):
    T = np.eye(4)
    T[:3, 3] = (1.0, 2.0, 3.0)
    node = _node(engine, target_frame="base_link")
    node.transform = lambda target, source, stamp: T
    plain = _node(engine)
    moved = {o.topic: o.data for o in _feed(node, *_msgs(build, scene))}
    ref = {o.topic: o.data for o in _feed(plain, *_msgs(build, scene))}
    assert moved["detections"]["frame_3d"] == "base_link"
    assert moved["detections"]["header"]["frame_id"] == scene.frame_id  # 2-D stays in the image
    for a, b in zip(moved["detections"]["regions"], ref["detections"]["regions"]):
        if a["has_3d"]:
            assert a["center_3d"]["z"] == pytest.approx(b["center_3d"]["z"] + 3.0)
    assert all(m["header"]["frame_id"] == "base_link" for m in moved["markers"]["markers"])

    def broken(target, source, stamp):
        raise LookupError("no such frame")

    node.transform = broken
    out = {o.topic: o.data for o in _feed(node, *_msgs(build, scene))}
    assert out["detections"]["frame_3d"] == scene.frame_id and node.stats()["transform_failed"] == 1


def test_captions_follow_their_own_rate_in_source_time(engine, scene, build):
    node = _node(engine, caption_rate_hz=1.0, caption_max_regions=2)
    captioned = []
    for k, t in enumerate((0.0, 0.5, 1.0, 1.2, 2.1)):
        stamp = int(t * 1e9) + 1
        _feed(node, *_msgs(build, scene, stamp), now=k)
        out = node.caption_step()
        if out:
            data = out[0].data
            assert len(data["descriptions"]) == 2 and data["header"]["stamp"]["nanosec"] == stamp % 10**9
            captioned.append(t)
    assert captioned == [0.0, 1.0, 2.1]


def test_status_output_is_json_with_drop_counters(engine):
    import json

    data = json.loads(_node(engine).status_output().data["data"])
    for key in ("frames_processed", "dropped_total", "dropped_busy", "bad_image", "queries"):
        assert key in data


# ---- drawing --------------------------------------------------------------------------------


def test_markers_and_annotation():
    from fo1_ros.node import RegionInfo

    regions = [RegionInfo(0, np.array([10, 10, 50, 40.0]), 0.9, label="cube", score=0.8, has_3d=True,
                          center=np.array([0.1, 0.0, 1.0]), size=np.array([0.05, 0.05, 0.05])),
               RegionInfo(1, np.array([60, 20, 90, 60.0]), 0.5),
               RegionInfo(2, np.array([100, 20, 120, 60.0]), 0.5, label="ball", score=0.4)]
    hdr = header(5, "cam")
    ms = draw.markers(hdr, regions)
    assert [(m["action"], m.get("type")) for m in ms] == [(draw.DELETEALL, None), (draw.ADD, draw.CUBE),
                                                         (draw.ADD, draw.TEXT_VIEW_FACING)]
    assert ms[2]["pose"]["position"]["y"] < ms[1]["pose"]["position"]["y"]  # label above the cube
    RosbagsBuilder().build("visualization_msgs/msg/MarkerArray", {"markers": ms})
    rgb = np.zeros((H, W, 3), np.uint8)
    out = draw.annotate(rgb, regions, [{"label": "cube", "count": 1}])
    assert out.shape == rgb.shape and out.any() and not rgb.any()
    assert draw.label_colour("cube") == draw.label_colour("cube") != draw.label_colour("ball")
    sheet = draw.contact_sheet([out] * 5, ["a"] * 5, columns=2, thumb_width=80)
    assert sheet.shape == (3 * 60, 160, 3)


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


def test_vision_msgs_outputs_match_the_vision_msgs_definitions(engine, scene, build):
    from rosbags.typesys import get_types_from_msg

    store = msgs.typestore()
    types = {}
    for name, text in VISION_MSGS.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    node = PerceptionNode(NodeConfig(proposal_source="external", queries=["cube", "ball"],
                                     caption_rate_hz=0.0, detection_threshold=0.0), engine=engine,
                          vision_msgs=True)
    out = {o.topic: o for o in _feed(node, *_msgs(build, scene))}
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
