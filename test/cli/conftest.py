"""Fixtures of the fo1-ros command tests: one torch thread, a small synthetic scene."""

from __future__ import annotations

import pytest
import torch

from fo1_ros.synth import SceneConfig, make_scene


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread (two thrash on a shared, busy 2-core machine); restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scene():
    return make_scene(8, SceneConfig(width=160, height=120, n_objects=(3, 4)))
