"""fo1_ros.node.params: the parameter YAML file layouts and the query vocabulary."""

from __future__ import annotations

import pytest

from fo1_ros.node import clean_queries, load_params_file, parse_query_text


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
