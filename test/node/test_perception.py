"""fo1_ros.node.perception: the queries topic and service change the vocabulary; the status
output is JSON with the drop counters."""

from __future__ import annotations

import json

from .messages import make_node, scene_msgs


def test_queries_topic_and_service(engine):
    node = make_node(engine)
    assert node.on_queries("red cube, ball")["success"] and node.queries == ["red cube", "ball"]
    assert not node.on_queries("x" * 1_000_000)["success"] and node.queries == ["red cube", "ball"]
    answer = node.call_service("set_queries", {"queries": ["<region2>"]})
    assert not answer["success"] and "reserved" in answer["message"]
    assert node.call_service("set_queries", {"queries": []})["success"] and node.queries == []


def test_status_output_is_json_with_drop_counters(engine, scene, build):
    """Each kind of drop is counted where it happens and in dropped_total: a frame replaced in
    the worker's slot (busy), an image superseded by a newer complete one, one without the
    external proposals it needs."""
    node = make_node(engine)
    m = {t: scene_msgs(build, scene, t * 10**9) for t in (1, 2, 3, 4, 5)}
    for t in (1, 2):  # two complete frames, the worker takes neither: the first is replaced
        image, depth, info, props = m[t]
        node.on_proposals(props, t)
        node.on_depth(depth, t)
        node.on_camera_info(info, t)
        node.on_image(image, t)
    assert node.process(node.slot.take(0))
    node.on_image(m[3][0], 10)  # waits for its depth, camera_info and proposals ...
    image, depth, info, props = m[4]
    node.on_image(image, 11)
    node.on_proposals(props, 11)
    node.on_depth(depth, 11)
    node.on_camera_info(info, 11)  # ... and is superseded by image 4, complete first
    node.on_image(m[5][0], 12)  # no proposals ever: dropped once its wait runs out
    node.poll(12 + 10**10)
    data = json.loads(node.status_output().data["data"])
    assert (data["images_received"], data["frames_processed"]) == (5, 1), data
    assert (data["dropped_busy"], data["dropped_superseded"], data["dropped_no_proposals"]) == (1, 1, 1), data
    assert data["dropped_total"] == 3 and data["queries"] == ["cube", "ball"], data
