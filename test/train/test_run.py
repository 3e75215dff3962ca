"""train() and export_checkpoint(): tiny runs end to end, resuming, init_from, refine_vision, continue_from."""

from __future__ import annotations

import json
import math

import pytest
import torch

from fo1_ros.model.checkpoint import load_model, save_model
from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.train.config import STAGE1_WEIGHTS, STAGE2_WEIGHTS, StageConfig, TrainConfig
from fo1_ros.train.run import export_checkpoint, init_vision_from, train
from fo1_ros.train.vision_pretrain import VisionPretrainConfig


def test_tiny_training_run_writes_a_loadable_model_and_rerunning_it_finished_changes_nothing(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=12, use_proposer=False, qa_per_frame=3,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1, heldout_frames=2),
                      stage1=StageConfig(3, 1e-3, dict(STAGE1_WEIGHTS), warmup=1, curriculum=[(0.5, 1)]),
                      stage2=StageConfig(3, 1e-3, dict(STAGE2_WEIGHTS), warmup=1), log_every=1, checkpoint_every=2)
    cfg.scene.width, cfg.scene.height = 160, 120
    run, out = tmp_path / "run", tmp_path / "model"
    train(cfg, run, out)
    model = load_model(out)
    assert model.config.text.vocab_size > 500
    info = json.loads((out / "training_info.json").read_text())
    assert info["train_config"]["stage2"]["steps"] == 3
    state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
    assert state["stage"] == 3  # both stages done
    scored = [h["heldout_acc"] for h in state["history"] if "heldout_acc" in h]
    assert len(scored) == 1 and all(0.0 <= scored[0][k] <= 1.0 for k in ("colour", "category", "size_class"))
    # resuming a finished run does no more steps and rewrites the same weights
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(cfg, run, out)
    after = load_model(out).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def _stage_steps(run_dir) -> tuple[dict, list[tuple]]:
    """(trainer state, [(stage, step, loss, lr)] of every logged stage-1/2 step) of a run's checkpoint."""
    state = json.loads((run_dir / "checkpoint" / "trainer_state.json").read_text())
    return state, [(h["stage"], h["step"], h["loss"], h["lr"]) for h in state["history"] if h["stage"] > 0]


def test_a_run_stopped_mid_stage_resumes_at_that_step_and_ends_as_an_uninterrupted_run(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=8, use_proposer=False, qa_per_frame=3,
                      batch_size=2, stage0=VisionPretrainConfig(steps=0, heldout_frames=0),
                      stage1=StageConfig(3, 1e-3, dict(STAGE1_WEIGHTS), warmup=1, binding_loss=0.5),
                      stage2=StageConfig(2, 1e-3, dict(STAGE2_WEIGHTS), warmup=1), log_every=1, checkpoint_every=50)
    cfg.scene.width, cfg.scene.height = 160, 120
    pool = tmp_path / "pool"
    train(cfg, tmp_path / "whole", tmp_path / "model_whole", pool)
    cut = tmp_path / "cut"
    # stopped inside stage 1, then again inside stage 2: each call resumes where the last one stopped
    for budget, stopped_at in ((2, (1, 2)), (2, (2, 1))):
        assert train(cfg, cut, tmp_path / "model_cut", pool, max_steps=budget) is None
        state, steps = _stage_steps(cut)
        assert (state["stage"], state["step"]) == stopped_at
        assert not (tmp_path / "model_cut").exists()
    assert train(cfg, cut, tmp_path / "model_cut", pool) == tmp_path / "model_cut"
    # every step once, in order (none redone, none skipped), each with the loss and lr of the whole run
    whole_state, whole_steps = _stage_steps(tmp_path / "whole")
    cut_state, cut_steps = _stage_steps(cut)
    assert [s[:2] for s in cut_steps] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    assert cut_steps == whole_steps
    # and the same weights (float32 checkpoints): optimizer moments and data position were restored
    a, b = load_model(tmp_path / "whole" / "checkpoint").state_dict(), load_model(cut / "checkpoint").state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="max_steps"):
        train(cfg, cut, tmp_path / "model_cut", pool, max_steps=-1)


def test_export_checkpoint_writes_the_run_as_a_model_folder_and_says_where_it_stopped(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=4, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=0, heldout_frames=0),
                      stage1=StageConfig(1, 1e-3, dict(STAGE1_WEIGHTS)),
                      stage2=StageConfig(2, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    run = tmp_path / "run"
    trained = load_model(train(cfg, run, tmp_path / "model")).state_dict()
    exported = load_model(export_checkpoint(run, tmp_path / "exported")).state_dict()
    assert trained.keys() == exported.keys() and all(torch.equal(trained[k], exported[k]) for k in trained)
    info = json.loads((tmp_path / "exported" / "training_info.json").read_text())
    assert info["complete"] and info["stopped_at"] == {"stage": 3, "step": 0}
    assert info["train_config"]["stage2"]["steps"] == 2
    assert (tmp_path / "exported" / "tokenizer.json").read_text() == (tmp_path / "model" / "tokenizer.json").read_text()
    # a checkpoint of a run stopped in stage 2 (as a timeout leaves it), given as the checkpoint folder itself
    state_file = run / "checkpoint" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "stage": 2, "step": 1}))
    export_checkpoint(run / "checkpoint", tmp_path / "cut")
    info = json.loads((tmp_path / "cut" / "training_info.json").read_text())
    assert not info["complete"] and info["stopped_at"] == {"stage": 2, "step": 1}
    with pytest.raises(FileNotFoundError, match="no training checkpoint"):
        export_checkpoint(tmp_path / "nothing", tmp_path / "none")
    assert not (tmp_path / "none").exists()
    # `fo1-ros train --export-checkpoint` (its messages, and no default onto the shipped model): test/cli/test_train.py


def test_init_vision_from_copies_the_vision_side_only(tmp_path):
    torch.manual_seed(0)
    src = FO1ForCausalLM(preset("fo1-tiny"))
    save_model(src, tmp_path / "src")
    torch.manual_seed(1)
    dst = FO1ForCausalLM(preset("fo1-tiny"))
    n = init_vision_from(dst, tmp_path / "src")
    a, b = src.state_dict(), dst.state_dict()
    assert n > 0
    for k in a:
        vision = k.startswith(("model.vision_tower", "model.object_vp_extractor", "model.mm_projector"))
        if vision:
            assert torch.equal(a[k], b[k]), k
        elif a[k].ndim >= 2:  # randomly initialised language-model weights stay the receiver's own
            assert not torch.equal(a[k], b[k]), k
    with pytest.raises(ValueError, match="no model.safetensors"):
        init_vision_from(dst, tmp_path)


def test_refine_vision_continues_stage_0_from_the_given_encoders(tmp_path):
    torch.manual_seed(0)
    save_model(FO1ForCausalLM(preset("fo1-tiny")), tmp_path / "src")
    src = load_model(tmp_path / "src").state_dict()
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=6, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1, heldout_frames=0),
                      stage1=StageConfig(0, 1e-3, dict(STAGE1_WEIGHTS)),
                      stage2=StageConfig(0, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    pool = tmp_path / "pool"
    encoder = "model.vision_tower_aux."
    for refine in (False, True):
        out = train(cfg, tmp_path / f"run{refine}", tmp_path / f"model{refine}", pool, tmp_path / "src", refine)
        got = load_model(out).state_dict()
        same = [torch.allclose(got[k].float(), src[k].float(), atol=1e-3) for k in src if k.startswith(encoder)]
        assert same and all(same) != refine  # copied as is, or trained on from there
        history = json.loads((tmp_path / f"run{refine}" / "checkpoint" / "trainer_state.json").read_text())["history"]
        assert history[0]["init_from"] == str(tmp_path / "src") and history[0]["refined_steps"] == (2 if refine else 0)
        assert sum(h.get("step", 0) > 0 for h in history if h["stage"] == 0) == (1 if refine else 0)
    with pytest.raises(ValueError, match="give init_from"):
        train(cfg, tmp_path / "run_bad", tmp_path / "model_bad", pool, None, True)


def test_continue_from_starts_stage_2_from_the_whole_model_on_new_scenes(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=4, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=0, heldout_frames=0),
                      stage1=StageConfig(1, 1e-3, dict(STAGE1_WEIGHTS)),
                      stage2=StageConfig(1, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    src = train(cfg, tmp_path / "run0", tmp_path / "src", tmp_path / "pool0")
    before = load_model(src).state_dict()
    for steps in (0, 2):
        cont = TrainConfig(**{**cfg.to_dict(), "model": preset("fo1-small").to_dict(), "first_seed": 50})
        cont.stage2.steps = steps
        run = tmp_path / f"cont{steps}"
        out = train(cont, run, tmp_path / f"model{steps}", tmp_path / f"pool{steps}", continue_from=src)
        after = load_model(out).state_dict()  # the source's architecture, not the config's fo1-small
        same = [torch.equal(before[k], after[k]) for k in before]
        assert all(same) if steps == 0 else not all(same)
        state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
        assert state["history"][0] == {"stage": 2, "continue_from": str(src), "taken": ["weights"]}
        assert not any(h.get("stage") in (0, 1) for h in state["history"])
        assert sum(h.get("stage") == 2 and h.get("step", 0) > 0 for h in state["history"]) == (1 if steps else 0)
        assert json.loads((tmp_path / f"pool{steps}" / "pool.json").read_text())["seeds"] == [50, 51, 52, 53]
        assert (run / "tokenizer" / "tokenizer.json").read_text() == (src / "tokenizer.json").read_text()
    # resuming that run (same arguments) takes the source's architecture again, not the config's
    cont.stage2.steps = 3
    train(cont, tmp_path / "cont2", tmp_path / "model2b", tmp_path / "pool2", continue_from=src)
    # a run's checkpoint also carries the optimizer moments and the binding heads
    out = train(cont, tmp_path / "cont_ckpt", tmp_path / "model_ckpt", tmp_path / "pool2",
                continue_from=tmp_path / "run0" / "checkpoint")
    state = json.loads((tmp_path / "cont_ckpt" / "checkpoint" / "trainer_state.json").read_text())
    assert state["history"][0]["taken"] == ["weights", "binding heads", "optimizer moments"]
    with pytest.raises(ValueError, match="not both"):
        train(cfg, tmp_path / "bad", tmp_path / "m_bad", tmp_path / "pool0", init_from=src, continue_from=src)
    with pytest.raises(ValueError, match="needs a model folder"):
        train(cfg, tmp_path / "bad2", tmp_path / "m_bad2", tmp_path / "pool0", continue_from=tmp_path / "pool0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tiny_training_run_on_cuda_with_every_auxiliary_loss(tmp_path):
    """Stage 0, both stages with binding / attention / pointer losses, on the GPU; the saved model loads on CPU."""
    aux = dict(binding_loss=0.5, attention_loss=0.5, pointer_loss=0.5, seed_previous_token_head=True,
               freeze_previous_token_head=True)
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=12, use_proposer=False, qa_per_frame=3,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1),
                      stage1=StageConfig(3, 1e-3, dict(STAGE1_WEIGHTS), warmup=1, **aux),
                      stage2=StageConfig(3, 1e-3, dict(STAGE2_WEIGHTS), warmup=1, **aux), log_every=1,
                      checkpoint_every=2, device="cuda")
    cfg.scene.width, cfg.scene.height = 160, 120
    out = train(cfg, tmp_path / "run", tmp_path / "model")
    model = load_model(out)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    info = json.loads((out / "training_info.json").read_text())
    assert info["train_config"]["device"] == "cuda"
    assert all(math.isfinite(h["loss"]) for h in info["final_losses"] if "loss" in h)
