"""fo1_ros.node.perception: the queries topic and service change the vocabulary; the status
output is JSON with the drop counters."""

from __future__ import annotations

import json

from .messages import make_node


def test_queries_topic_and_service(engine):
    node = make_node(engine)
    assert node.on_queries("red cube, ball")["success"] and node.queries == ["red cube", "ball"]
    assert not node.on_queries("x" * 1_000_000)["success"] and node.queries == ["red cube", "ball"]
    answer = node.call_service("set_queries", {"queries": ["<region2>"]})
    assert not answer["success"] and "reserved" in answer["message"]
    assert node.call_service("set_queries", {"queries": []})["success"] and node.queries == []


def test_status_output_is_json_with_drop_counters(engine):
    data = json.loads(make_node(engine).status_output().data["data"])
    for key in ("frames_processed", "dropped_total", "dropped_busy", "bad_image", "queries"):
        assert key in data
