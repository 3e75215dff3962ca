"""`fo1-ros train`: flags into a TrainConfig handed to fo1_ros.train.run.train; --export-checkpoint;
errors before any work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import fo1_ros.train.run
from fo1_ros import cli


def test_train_flags_override_the_config_and_call_the_library(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(fo1_ros.train.run, "train",
                        lambda cfg, *rest, **kw: calls.append((cfg, rest, kw)) or Path("done"))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"first_seed": 100, "qa_per_frame": 3, "stage1": {"steps": 9, "lr": 1e-3,
                                                                                  "task_weights": {"vqa": 1.0}}}))
    assert cli.main(["train", "--run-dir", str(tmp_path / "run"), "--config", str(config), "--frames", "5",
                     "--stage0-steps", "0", "--stage2-steps", "3", "--batch-size", "4", "--no-proposer",
                     "--device", "cpu", "--pool-workers", "1", "--data-workers", "0", "--init-from", "src",
                     "--refine-vision"]) == 0
    assert "model written to done" in capsys.readouterr().out
    (cfg, rest, kw), = calls
    assert (cfg.first_seed, cfg.qa_per_frame, cfg.stage1.steps, cfg.stage1.task_weights) == (100, 3, 9, {"vqa": 1.0})
    assert (cfg.n_frames, cfg.stage0.steps, cfg.stage2.steps, cfg.batch_size) == (5, 0, 3, 4)
    assert (cfg.use_proposer, cfg.device, cfg.pool_workers, cfg.data_workers) == (False, "cpu", 1, 0)
    assert rest == (str(tmp_path / "run"), "fo1_ros/assets/default_model", None, "src", True, None)
    assert kw == {"max_steps": None}


def test_train_max_steps_reaches_the_library_and_a_stop_says_how_to_resume(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(fo1_ros.train.run, "train", lambda cfg, *rest, **kw: calls.append(kw))
    assert cli.main(["train", "--run-dir", str(tmp_path / "run"), "--device", "cpu", "--max-steps", "7"]) == 0
    assert calls == [{"max_steps": 7}]
    assert "run the same command again to resume" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--refine-vision"], "give --init-from"),
    (["--init-from", "a", "--continue-from", "b"], "give one"),
    (["--pool-workers", "0"], "needs an integer >= 1"),
])
def test_train_refuses_contradicting_flags(monkeypatch, tmp_path, capsys, argv, message):
    monkeypatch.setattr(fo1_ros.train.run, "train", lambda *a: pytest.fail("trained despite bad flags"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--run-dir", str(tmp_path / "run"), "--device", "cpu"] + argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_train_config_file_with_an_unknown_field_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"n_frame": 3}))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--run-dir", str(tmp_path / "run"), "--config", str(config)])
    assert exit_info.value.code == 2 and "did you mean 'n_frames'" in capsys.readouterr().err


def test_export_checkpoint_writes_a_model_folder_and_never_onto_the_shipped_model(tiny_model_dir, tmp_path, capsys):
    """--export-checkpoint of a run stopped in stage 2 (as a timeout leaves it), given as the
    checkpoint folder itself; without a checkpoint or without --out it refuses."""
    ckpt = tmp_path / "run" / "checkpoint"
    shutil.copytree(tiny_model_dir, ckpt)
    (ckpt / "trainer_state.json").write_text(json.dumps({"stage": 2, "step": 1, "elapsed_s": 5.0, "history": []}))
    assert cli.main(["train", "--run-dir", str(ckpt), "--out", str(tmp_path / "cut"), "--export-checkpoint"]) == 0
    info = json.loads((tmp_path / "cut" / "training_info.json").read_text())
    assert not info["complete"] and info["stopped_at"] == {"stage": 2, "step": 1}
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--run-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "none"),
                  "--export-checkpoint"])
    assert exit_info.value.code == 2 and "no training checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
    with pytest.raises(SystemExit) as exit_info:  # never onto the shipped model by default
        cli.main(["train", "--run-dir", str(tmp_path / "run"), "--export-checkpoint"])
    assert exit_info.value.code == 2 and "needs --out" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_train_cli_refuses_cuda_without_a_gpu_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--device", "cuda", "--run-dir", str(tmp_path / "run"), "--frames", "2"])
    assert exit_info.value.code == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing rendered or written
