"""fo1_ros.node.services: every service on the latest frame or a given image; every bad request
answers success = false with a message naming the problem."""

from __future__ import annotations

import math

import pytest

from fo1_ros.synth import SceneConfig, make_scene

from .messages import H, W, feed, make_node, message_fields, scene_msgs


def test_no_queries_means_no_model_work_but_services_still_answer(engine, scene, build):
    node = make_node(engine, queries=[])
    assert feed(node, *scene_msgs(build, scene)) == []
    answer = node.call_service("detect_objects", {"queries": ["cube"]})
    assert answer["success"] and len(answer["detections"]["regions"]) == len(scene.objects)
    answer = node.call_service("detect_objects", {"queries": []})
    assert not answer["success"] and "vocabulary" in answer["message"]


def test_services_on_the_latest_frame(engine, scene, build):
    """Two frames (5 objects at stamp 42, then 3 at stamp 43): every service answers about the
    second, by its header and by its number of regions."""
    node = make_node(engine)
    feed(node, *scene_msgs(build, scene, 42))
    other = make_scene(6, SceneConfig(width=W, height=H, n_objects=(3, 5)))
    assert len(other.objects) != len(scene.objects)
    feed(node, *scene_msgs(build, other, 43))
    n, latest = len(other.objects), {"sec": 0, "nanosec": 43}
    answer = node.call_service("detect_objects", {"queries": ["cube"]})
    assert answer["success"] and answer["detections"]["header"]["stamp"] == latest
    regions = answer["detections"]["regions"]
    assert len(regions) == n
    from_camera = [math.dist((0, 0, 0), tuple(r["center_3d"].values())) for r in regions if r["has_3d"]]
    answer = node.call_service("describe_regions", {"region_indices": [0, 1], "task": "detailed"})
    assert answer["success"] and [d["region_index"] for d in answer["descriptions"]["descriptions"]] == [0, 1]
    assert answer["descriptions"]["header"]["stamp"] == latest
    answer = node.call_service("describe_regions", {"task": "ocr"})
    assert answer["success"] and len(answer["descriptions"]["descriptions"]) == n
    answer = node.call_service("ask_region", {"question": "What colour is <region1>?"})
    assert answer["success"], answer["message"]
    answer = node.call_service("ask_region", {"question": "Which is bigger?", "region_indices": [0, 1],
                                              "reasoning": True})
    assert answer["success"], answer["message"]
    answer = node.call_service("ask_region", {"question": "What is <region4>?"})  # 5 in the first frame
    assert not answer["success"] and "out of range" in answer["message"]
    answer = node.call_service("count_objects", {"labels": ["cube", "ball"]})
    assert answer["success"] and [c["label"] for c in answer["counts"]["counts"]] == ["cube", "ball"]
    assert answer["counts"]["header"]["stamp"] == latest
    answer = node.call_service("spatial_query", {"relation": "nearest"})
    assert answer["success"] and len(answer["matches"]["regions"]) == len(answer["distances_m"]) == 1
    assert answer["matches"]["header"]["stamp"] == latest
    assert answer["distances_m"][0] == pytest.approx(min(from_camera), abs=1e-6)  # of this frame
    answer = node.call_service("spatial_query", {"relation": "within", "radius_m": 0.3,
                                                 "reference": "region 0"})
    assert answer["success"], answer["message"]
    assert all(d <= 0.3 for d in answer["distances_m"])


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
    node = make_node(engine)
    feed(node, *scene_msgs(build, scene))
    answer = node.call_service(name, request_)
    assert not answer["success"] and words in answer["message"], answer["message"]


def test_services_with_a_given_image(engine, scene, build):
    node = make_node(engine)
    image = scene_msgs(build, scene, 77)[0]
    answer = node.call_service("describe_regions", {"image": image, "boxes": [
        {"center_x": 40, "center_y": 40, "size_x": 20, "size_y": 20}]})
    assert answer["success"] and answer["descriptions"]["header"]["stamp"]["nanosec"] == 77
    answer = node.call_service("detect_objects", {"image": image, "queries": ["cube"]})
    assert not answer["success"] and "boxes" in answer["message"]  # external proposals only
    bad = build.build("sensor_msgs/msg/Image", {**message_fields(image), "data": image.data[:10]})
    answer = node.call_service("describe_regions", {"image": bad, "boxes": [
        {"center_x": 40, "center_y": 40, "size_x": 20, "size_y": 20}]})
    assert not answer["success"] and "data" in answer["message"]


def test_services_before_any_frame_and_when_inactive(engine):
    node = make_node(engine)
    answer = node.call_service("count_objects", {"labels": ["cube"]})
    assert not answer["success"] and "no frame" in answer["message"]
    node.unload_engine()
    answer = node.call_service("count_objects", {"labels": ["cube"]})
    assert not answer["success"] and "not active" in answer["message"]
    assert node.process(object()) == []
