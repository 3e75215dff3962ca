"""Shared fixtures: a tiny random FO1 model folder (official layout) for plumbing tests, and
three rendered synthetic scenes for the question, region and training tests."""

from __future__ import annotations

import os

import pytest

# Anything that starts rclpy in this test session stays on this machine.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

TINY_CORPUS = [
    "Please detect red cube in this image. Answer the question with object indexes.",
    "<ground>red cube</ground><objects><region3><region5></objects>",
    "How many balls are there in this image? Provide a brief description for <region2>.",
    "Please provide the ocr results of <region1> in the image. a small red cube None No text.",
] * 30

THREE_SCENE_SEEDS = [11, 12, 13]


def make_tiny_model_dir(path, seed: int = 0):
    """Write a random `fo1-tiny` model + trained tokenizer to `path` (config.json, safetensors, tokenizer)."""
    # imported here: this conftest loads for every test, most of which need no torch
    import torch

    from fo1_ros.model.checkpoint import save_model
    from fo1_ros.model.config import preset
    from fo1_ros.model.modeling import FO1ForCausalLM
    from fo1_ros.model.tokenizer import train_tokenizer

    torch.manual_seed(seed)
    model = FO1ForCausalLM(preset("fo1-tiny")).eval()
    tok = train_tokenizer(TINY_CORPUS, vocab_size=600)
    save_model(model, path, tokenizer=tok)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def three_scenes():
    """Synthetic scenes of seeds 11, 12, 13 at the default size (read only: shared by the session)."""
    from fo1_ros.synth import make_scene

    return [make_scene(s) for s in THREE_SCENE_SEEDS]
