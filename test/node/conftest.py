"""Fixtures of the node tests: the tiny model's engine, a synthetic RGB-D scene, a rosbags
message builder; torch on one thread while they run."""

from __future__ import annotations

import pytest
import torch

from fo1_ros.bag import RosbagsBuilder
from fo1_ros.engine import Engine, EngineConfig
from fo1_ros.synth import SceneConfig, make_scene

from .messages import H, W


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared, busy 2-core machine two threads thrash (measured
    ~40x slower for the tiny model under load). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return Engine(EngineConfig(model_path=str(tiny_model_dir), device="cpu"))


@pytest.fixture(scope="module")
def scene():
    return make_scene(5, SceneConfig(width=W, height=H, n_objects=(3, 5)))


@pytest.fixture(scope="module")
def build():
    return RosbagsBuilder()
