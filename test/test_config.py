"""The config base (fo1_ros/config.py) and every ``*Config`` of the package that uses it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from fo1_ros.config import Config, unknown_key_problems
from fo1_ros.engine import EngineConfig
from fo1_ros.eval.run import EvalConfig
from fo1_ros.geometry.config import LiftConfig, RelationConfig
from fo1_ros.model.config import AuxConfig, FO1Config, TextConfig, VisionConfig, preset
from fo1_ros.node import NodeConfig
from fo1_ros.proposals.base import ProposalConfig
from fo1_ros.proposals.hf_detector import HFDetectorConfig
from fo1_ros.proposals.rgbd_config import RGBDConfig
from fo1_ros.synth import SceneConfig
from fo1_ros.train.config import StageConfig, TrainConfig
from fo1_ros.train.data import RegionSampling
from fo1_ros.train.vision_pretrain import VisionPretrainConfig


@dataclasses.dataclass
class _Inner(Config):
    size: int = 1
    pair: tuple[int, int] = (1, 2)

    def __post_init__(self) -> None:
        self.pair = tuple(self.pair)


@dataclasses.dataclass
class _Outer(Config):
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    maybe: _Inner | None = None
    name: str = "x"

    def __post_init__(self) -> None:
        self.nested_from_dicts()


def test_round_trip_through_json_with_nested_configs():
    cfg = _Outer(inner=_Inner(3, (4, 5)), maybe=_Inner(size=7), name="y")
    data = cfg.to_dict()
    assert data == {"inner": {"size": 3, "pair": [4, 5]}, "maybe": {"size": 7, "pair": [1, 2]}, "name": "y"}
    assert _Outer.from_dict(json.loads(json.dumps(data))) == cfg
    assert _Outer.from_dict({}) == _Outer()


def test_nested_config_takes_a_dict_or_an_instance_in_the_constructor_too():
    assert _Outer(inner={"size": 9}).inner == _Inner(size=9)
    assert _Outer(maybe={"size": 2}).maybe == _Inner(size=2)
    with pytest.raises(TypeError, match=r"_Outer.inner must be a _Inner or a dict, got int: 5"):
        _Outer(inner=5)


def test_unknown_keys_name_the_owner_and_a_close_match_at_every_level():
    with pytest.raises(ValueError, match=r"'nmae' is not a key of _Outer \(did you mean 'name'\?\)"):
        _Outer.from_dict({"nmae": "z"})
    with pytest.raises(ValueError, match=r"'sise' is not a key of _Inner \(did you mean 'size'\?\)"):
        _Outer.from_dict({"inner": {"sise": 1}})
    with pytest.raises(ValueError, match=r"'zzz' is not a key of _Inner; known: \['size', 'pair'\]"):
        _Inner.from_dict({"zzz": 1})
    with pytest.raises(TypeError, match="_Inner.from_dict expects a mapping, got list"):
        _Inner.from_dict([("size", 1)])


def test_unknown_key_problems_one_line_per_key():
    assert unknown_key_problems({"a": 1, "queris": 2}, ["queries", "a"], "fo1_node", "parameter") == [
        "'queris' is not a parameter of fo1_node (did you mean 'queries'?)"]
    assert unknown_key_problems({"a": 1}, ["a"], "X") == []


ALL_CONFIGS = [
    TextConfig(), VisionConfig(), AuxConfig(), FO1Config(), preset("fo1-3b"), preset("fo1-tiny"),
    LiftConfig(), RelationConfig(), ProposalConfig(score_threshold=0.1), RGBDConfig(max_side=320),
    HFDetectorConfig(folder="/nonexistent/detector", queries=("cup",)), EngineConfig(dtype="float32"),
    NodeConfig(queries=["a cup"]), SceneConfig(n_objects=(2, 3)), RegionSampling(n_distractors=(1, 2)),
    StageConfig(10, 1e-3, {"vqa": 1.0}, curriculum=[(0.5, 2)]), VisionPretrainConfig(steps=3),
    TrainConfig(n_frames=4), EvalConfig(n_scenes=2),
]


@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=lambda c: type(c).__name__)
def test_every_package_config_round_trips_through_json(cfg):
    assert isinstance(cfg, Config)
    again = type(cfg).from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    with pytest.raises(ValueError, match="is not a"):
        type(cfg).from_dict({**cfg.to_dict(), "no_such_key": 1})
