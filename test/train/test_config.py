"""TrainConfig: training seeds below the held-out ones, the device checked."""

from __future__ import annotations

import pytest
import torch

from fo1_ros.train.config import VALIDATION_SEED_BASE, TrainConfig


def test_training_seeds_stay_below_the_held_out_seeds():
    assert TrainConfig(n_frames=3, first_seed=7).training_seeds() == [7, 8, 9]
    TrainConfig(n_frames=10, first_seed=VALIDATION_SEED_BASE - 10)
    for bad in ({"n_frames": 10, "first_seed": VALIDATION_SEED_BASE - 9}, {"first_seed": -1},
                {"n_frames": VALIDATION_SEED_BASE + 1}):
        with pytest.raises(ValueError, match="below the held-out seeds"):
            TrainConfig(**bad)


def test_train_config_device_is_checked():
    assert TrainConfig(device="cpu").torch_device() == torch.device("cpu")
    assert TrainConfig().torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a torch device"):
        TrainConfig(device="gpu0").torch_device()
    with pytest.raises(ValueError, match="only cpu and cuda"):
        TrainConfig(device="meta").torch_device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            TrainConfig(device="cuda").torch_device()
    with pytest.raises(ValueError, match="pool_workers"):
        TrainConfig(pool_workers=0)
