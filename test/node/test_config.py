"""fo1_ros.node.config: NodeConfig mirrors config/perception.yaml, checks every value and names
every problem at once; the parameter specs fo1_node declares."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fo1_ros.node import NodeConfig, load_params_file
from fo1_ros.node.config import RUNTIME_PARAMETERS, parameter_specs

ROOT = Path(__file__).resolve().parents[2]


def test_perception_yaml_mirrors_node_config():
    params = load_params_file(ROOT / "config" / "perception.yaml")
    assert set(params) == set(NodeConfig.field_names())
    assert NodeConfig.from_dict(params) == NodeConfig()
    assert NodeConfig.from_dict(NodeConfig().to_dict()) == NodeConfig()


def test_every_parameter_has_a_description():
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


def test_parameter_specs_are_the_fields_with_their_defaults_and_docs():
    specs = parameter_specs()
    assert [s.name for s in specs] == list(NodeConfig.field_names())
    defaults = NodeConfig().to_dict()
    for spec in specs:
        assert spec.default == defaults[spec.name] and spec.description, spec.name
    assert RUNTIME_PARAMETERS <= set(NodeConfig.field_names())
