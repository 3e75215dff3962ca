"""Training the shipped default model as a library call: `train(cfg, run_dir, out_dir)`
(`fo1-ros train` parses its flags into a TrainConfig and calls it) and `export_checkpoint`.

Recipe:
  0. vision pretraining (`vision_pretrain.py`): a stand-in for the pretrained encoders FO1
     starts from — the two encoders and the region encoder learn region attributes through
     throwaway linear heads (no language model involved);
  then VLM-FO1's two stages with ordinary next-token loss on answers only (reference §5),
  each run by `loop.run_stage`:
  1. region-language alignment: region captions, attribute questions and OCR about regions,
     first with few regions per frame, so the language model learns to read object tokens,
     with two auxiliary losses that build the circuit tying `<regionK>` to object token K
     (StageConfig.attention_loss, binding_loss; see `losses.py` and TrainConfig);
  2. perception instruction tuning: every capability (detection, REC, counting, captions,
     OCR, VQA, visual prompts, grounding, label-all, reasoning) mixed.
All weights train in stages 1 and 2: the shipped model starts from random weights (no
pretrained Qwen2.5-VL can be downloaded on these machines). Batches pack one frame's
questions after a shared prefix (`batching.py`).

Runs are resumable (`run_dir` keeps checkpoints), seeded, and print progress with loss,
throughput and ETA. Training seeds are first_seed..first_seed+n_frames-1 (first_seed 0 by
default), always below the stage-0 validation seeds (VALIDATION_SEED_BASE) and the evaluation
seeds (`fo1_ros.eval.EVAL_SEED_BASE`). `continue_from=MODEL_DIR` trains a finished model's
stage 2 further (all of its weights, its tokenizer), e.g. on scenes it has not seen.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import PreTrainedTokenizerFast

from ..model.checkpoint import load_model, load_state_dict_checked, official_to_internal, save_model
from ..model.config import FO1Config
from ..model.modeling import FO1ForCausalLM
from ..model.prompt import PromptBuilder
from ..model.tokenizer import SPECIAL_TOKENS, load_tokenizer, train_tokenizer
from ..synth.questions import TASKS, QAGenerator
from .attention import HEAD_PROBS_ATTENTION
from .batching import BatchLoader
from .config import VALIDATION_SEED_BASE, TrainConfig
from .data import build_regions
from .loop import run_stage
from .pool import FramePool, build_pool
from .vision_pretrain import RegionHeads, pretrain_vision

logger = logging.getLogger(__name__)

ENCODER_MODULES = ("model.vision_tower.", "model.vision_tower_aux.", "model.object_vp_extractor.")
VISION_PROJECTORS = ("model.mm_projector.", "model.mm_projector_aux.")


def _param_groups(model: torch.nn.Module, weight_decay: float):
    """AdamW groups: (encoders | the rest) x (decay | no decay); groups know whether they are encoders."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        vision = name.startswith(ENCODER_MODULES)
        decay = not (p.ndim < 2 or "embed" in name or "norm" in name)
        groups.setdefault((vision, decay), []).append(p)
    return [{"params": ps, "weight_decay": weight_decay if decay else 0.0, "vision": vision}
            for (vision, decay), ps in groups.items()]


def build_tokenizer(pool: FramePool, cfg: TrainConfig, n_frames: int = 600) -> PreTrainedTokenizerFast:
    """Train the byte-level BPE tokenizer on generated questions/answers (offline)."""
    rng = np.random.default_rng(cfg.seed + 17)
    weights = {t: 1.0 for t in TASKS}
    corpus = []
    for i in rng.choice(len(pool), min(n_frames, len(pool)), replace=False):
        frame = pool[int(i)]
        regions = build_regions(frame.scene, rng, cfg.regions, (frame.proposal_boxes, frame.proposal_scores))
        for qa in QAGenerator(frame.scene, regions, rng).sample(weights, 12):
            corpus += [qa.question, qa.answer]
    corpus += ["system\nYou are a helpful assistant.", "user\n", "assistant\n"]
    return train_tokenizer(corpus, vocab_size=cfg.vocab_size)


def init_vision_from(model: FO1ForCausalLM, model_dir: str | Path) -> int:
    """Copy the vision side (both encoders, the region encoder and both projectors) of the model
    in `model_dir` into `model`, leaving the language model as initialised: stage 0 and the
    projectors' alignment are reused, the language side is trained afresh. Returns the number
    of tensors copied; raises ValueError if `model_dir` lacks any of them or shapes differ."""
    path = Path(model_dir) / "model.safetensors"
    if not path.exists():
        raise ValueError(f"init_from: no model.safetensors in {model_dir}")
    saved = {official_to_internal(k): v for k, v in load_file(str(path)).items()}
    own = model.state_dict()
    keep = [k for k in own if k.startswith(ENCODER_MODULES + VISION_PROJECTORS)]
    missing = [k for k in keep if k not in saved or saved[k].shape != own[k].shape]
    if missing:
        raise ValueError(f"init_from {model_dir}: {len(missing)} vision tensors missing or of another shape, "
                         f"e.g. {missing[:3]}")
    with torch.no_grad():
        for k in keep:
            own[k].copy_(saved[k].to(own[k].dtype))
    return len(keep)


@dataclass
class TrainingRun:
    """What a run trains and checkpoints: the model, the binding loss's throwaway heads, the
    optimizer, and its progress `state` ("stage", "step", "elapsed_s", "history"; saved as
    checkpoint/trainer_state.json)."""

    run_dir: Path
    model: FO1ForCausalLM
    binding_heads: RegionHeads
    opt: torch.optim.Optimizer
    tokenizer: PreTrainedTokenizerFast
    state: dict = field(default_factory=lambda: {"stage": 0, "step": 0, "elapsed_s": 0.0, "history": []})

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "checkpoint"

    def load_weights(self, folder: Path) -> list[str]:
        """Model weights, and the binding heads / optimizer moments where `folder` has them."""
        device = self.model.device
        load_state_dict_checked(self.model, folder)
        taken = ["weights"]
        if (folder / "binding_heads.pt").exists():
            self.binding_heads.load_state_dict(torch.load(folder / "binding_heads.pt", weights_only=True,
                                                          map_location=device))
            taken.append("binding heads")
        if (folder / "optimizer.pt").exists():
            try:
                self.opt.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True, map_location=device))
                taken.append("optimizer moments")
            except ValueError as e:  # a checkpoint written before the binding heads existed
                logger.warning("optimizer state not restored (%s); moments restart", e)
        return taken

    def save_checkpoint(self) -> None:
        """Write model, tokenizer, optimizer, binding heads and state to checkpoint/ (atomically:
        a temporary folder renamed over the old one)."""
        tmp = self.run_dir / "checkpoint.tmp"
        save_model(self.model, tmp, self.tokenizer)
        torch.save(self.opt.state_dict(), tmp / "optimizer.pt")
        torch.save(self.binding_heads.state_dict(), tmp / "binding_heads.pt")
        (tmp / "trainer_state.json").write_text(json.dumps(self.state))
        if self.checkpoint.exists():
            shutil.rmtree(self.checkpoint)
        tmp.rename(self.checkpoint)


def _adopt_continued_model(cfg: TrainConfig, continue_from: Path, run_dir: Path) -> None:
    """A continued run takes the source's architecture (cfg.model) and tokenizer (into run_dir)."""
    if not (continue_from / "model.safetensors").exists() or not (continue_from / "config.json").exists():
        raise ValueError(f"continue_from {continue_from}: needs a model folder with config.json and "
                         "model.safetensors")
    # the architecture is the continued model's own; the tokenizer ids are set again in _model_config
    cfg.model = FO1Config.from_json_file(continue_from / "config.json")
    tok_dir = run_dir / "tokenizer"
    if not (tok_dir / "tokenizer.json").exists():
        load_tokenizer(continue_from).save_pretrained(str(tok_dir))


def _frame_pools(cfg: TrainConfig, run_dir: Path, pool_dir: Path | None) -> tuple[FramePool, FramePool | None]:
    """The training pool (rendered once into pool_dir, default run_dir/pool) and stage 0's held-out pool."""
    pool_dir = Path(pool_dir) if pool_dir else run_dir / "pool"
    build_pool(pool_dir, cfg.training_seeds(), cfg.scene, workers=cfg.pool_workers,
               use_proposer=cfg.use_proposer)
    pool = FramePool(pool_dir)
    heldout = None
    if cfg.stage0.heldout_frames:  # stage 0 reports its heads' accuracy on frames it never sees
        seeds = list(range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + cfg.stage0.heldout_frames))
        heldout = FramePool(build_pool(run_dir / "heldout_pool", seeds, cfg.scene, workers=cfg.pool_workers,
                                       use_proposer=False))
    return pool, heldout


def _run_tokenizer(run_dir: Path, pool: FramePool, cfg: TrainConfig) -> PreTrainedTokenizerFast:
    """The run's tokenizer: run_dir/tokenizer when there, else trained on the pool and saved there."""
    tok_dir = run_dir / "tokenizer"
    if (tok_dir / "tokenizer.json").exists():
        return load_tokenizer(tok_dir)
    tokenizer = build_tokenizer(pool, cfg)
    tokenizer.save_pretrained(str(tok_dir))
    return tokenizer


def _model_config(cfg: TrainConfig, tokenizer: PreTrainedTokenizerFast) -> FO1Config:
    """cfg.model with the tokenizer's vocabulary size and special token ids."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                                                           "<|video_pad|>", "<|im_end|>", "<|endoftext|>")}
    mcfg = FO1Config.from_dict({
        **cfg.model.to_dict(),
        "text": {**cfg.model.text.to_dict(), "vocab_size": len(tokenizer), "eos_token_id": ids["<|im_end|>"],
                 "pad_token_id": ids["<|endoftext|>"], "bos_token_id": None},
        "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
        "image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"]})
    assert all(t in tokenizer.get_vocab() for t in SPECIAL_TOKENS)
    return mcfg


def _new_run(cfg: TrainConfig, run_dir: Path, tokenizer: PreTrainedTokenizerFast, mcfg: FO1Config) -> TrainingRun:
    """A freshly initialised model (seeded), binding heads and optimizer on cfg's device."""
    torch.manual_seed(cfg.seed)
    # the attention losses read a few heads' probabilities: SDPA plus those heads (same weights, same results)
    probs = any(st.attention_loss > 0 or st.pointer_loss > 0 for st in (cfg.stage1, cfg.stage2))
    device = cfg.torch_device()
    model = FO1ForCausalLM(mcfg, attn_implementation=HEAD_PROBS_ATTENTION if probs else "sdpa").to(device)
    model.train()
    # throwaway heads of the binding loss (StageConfig.binding_loss); trained, checkpointed, not shipped
    binding_heads = RegionHeads(mcfg.text.hidden_size).to(device)
    sys.stderr.write(f"training on {device}\n")
    groups = _param_groups(model, cfg.weight_decay) + [
        {"params": list(binding_heads.parameters()), "weight_decay": 0.0, "vision": False}]
    opt = torch.optim.AdamW(groups, lr=cfg.stage1.lr, betas=(0.9, 0.98))
    return TrainingRun(run_dir, model, binding_heads, opt, tokenizer)


def _start_from(run: TrainingRun, cfg: TrainConfig, init_from: str | Path | None, refine_vision: bool,
                continue_from: Path | None) -> None:
    """Resume from the run's checkpoint if it has one; else start from continue_from (stage 2) or
    init_from's vision side (stage 1, or stage 0 again with refine_vision); else from scratch."""
    state = run.state
    if (run.checkpoint / "trainer_state.json").exists():
        run.load_weights(run.checkpoint)
        run.state = state = json.loads((run.checkpoint / "trainer_state.json").read_text())
        logger.info("resumed from %s at stage %d step %d", run.checkpoint, state["stage"], state["step"])
        sys.stderr.write(f"resumed at stage {state['stage']} step {state['step']}\n")
    elif continue_from is not None:
        taken = run.load_weights(continue_from)
        state["stage"] = 2
        state["history"].append({"stage": 2, "continue_from": str(continue_from), "taken": taken})
        sys.stderr.write(f"stages 0-1 skipped: continuing {continue_from} ({', '.join(taken)}) with stage 2\n")
    elif init_from is not None:
        n = init_vision_from(run.model, init_from)
        state["history"].append({"stage": 0, "init_from": str(init_from), "tensors": n,
                                 "refined_steps": cfg.stage0.steps if refine_vision else 0})
        if refine_vision:
            sys.stderr.write(f"stage 0 continues from {n} encoder/projector tensors of {init_from}\n")
        else:
            state["stage"] = 1
            sys.stderr.write(f"stage 0 skipped: {n} encoder/projector tensors taken from {init_from}\n")


def _write_model(run: TrainingRun, cfg: TrainConfig, out_dir: Path, t_pool: float, t_start: float) -> Path:
    """The finished model folder (float16 weights, config, tokenizer, training_info.json)."""
    run.model.eval()
    # float16 storage keeps the shipped model under the repository's 20 MB budget; it loads into float32
    save_model(run.model, out_dir, run.tokenizer, dtype=torch.float16)
    info = {"train_config": cfg.to_dict(), "pool_seconds": t_pool, "train_seconds": run.state["elapsed_s"],
            "wall_seconds_this_run": time.time() - t_start, "final_losses": run.state["history"][-4:],
            "training_seeds": [cfg.first_seed, cfg.first_seed + cfg.n_frames - 1], "torch": torch.__version__}
    (out_dir / "training_info.json").write_text(json.dumps(info, indent=2))
    return out_dir


def train(cfg: TrainConfig, run_dir: str | Path, out_dir: str | Path, pool_dir: str | Path | None = None,
          init_from: str | Path | None = None, refine_vision: bool = False,
          continue_from: str | Path | None = None, max_steps: int | None = None) -> Path | None:
    """Train (or resume) and write the final model folder to `out_dir`.

    max_steps: stop after this many stage-1/2 steps in this call (stage 0 always runs whole),
    checkpoint and return None without writing `out_dir`; calling again with the same arguments
    resumes at that step and, seeded, ends with the weights an uninterrupted run ends with.

    init_from: a model folder whose vision side replaces stage 0 (`init_vision_from`); only
    used when the run has no checkpoint yet. refine_vision: with init_from, run stage 0
    (cfg.stage0) from those weights instead of skipping it — more vision pretraining without
    starting over. continue_from: a model folder (or a run's checkpoint folder) whose every
    weight, tokenizer and architecture the run starts from, going straight to stage 2
    (cfg.stage2); its optimizer moments and binding heads are taken when the folder has them
    (a checkpoint), else they start afresh. Only used when the run has no checkpoint yet."""
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"max_steps must be >= 0 (or None for no limit), got {max_steps}")
    if refine_vision and init_from is None:
        raise ValueError("refine_vision continues the vision side of init_from; give init_from")
    if continue_from is not None and init_from is not None:
        raise ValueError("give init_from (vision side only) or continue_from (the whole model), not both")
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if continue_from is not None:  # also when resuming such a run: its architecture is the source's
        continue_from = Path(continue_from)
        _adopt_continued_model(cfg, continue_from, run_dir)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t_start = time.time()
    (run_dir / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    logger.info("train config: %s", json.dumps(cfg.to_dict()))

    t0 = time.time()
    pool, heldout = _frame_pools(cfg, run_dir, pool_dir)
    t_pool = time.time() - t0
    tokenizer = _run_tokenizer(run_dir, pool, cfg)
    mcfg = _model_config(cfg, tokenizer)
    run = _new_run(cfg, run_dir, tokenizer, mcfg)
    _start_from(run, cfg, init_from, refine_vision, continue_from)

    if run.state["stage"] == 0:
        t0 = time.time()
        if cfg.stage0.steps:
            run.state["history"] += [{"stage": 0, **h} for h in pretrain_vision(run.model, pool, cfg.stage0, cfg.seed,
                                                                                  logger, heldout)]
        run.state["elapsed_s"] += time.time() - t0
        run.state["stage"], run.state["step"] = 1, 0
        run.save_checkpoint()
    prompts = PromptBuilder(tokenizer)
    stages = {1: cfg.stage1, 2: cfg.stage2}
    left = max_steps
    while run.state["stage"] <= 2:
        stage = stages[run.state["stage"]]
        loader = BatchLoader(pool, prompts, mcfg, cfg, run.state["stage"], stage, cfg.data_workers)
        taken = run_stage(run.model, run.binding_heads, run.opt, loader, cfg, stage, run.state, run.save_checkpoint,
                          left)
        if left is not None:
            left -= taken
        if run.state["step"] < stage.steps:  # the step budget ran out inside this stage
            run.save_checkpoint()
            sys.stderr.write(f"stopped after {max_steps} steps at stage {run.state['stage']} step "
                             f"{run.state['step']}; run again to resume\n")
            return None
        run.state["stage"] += 1
        run.state["step"] = 0
        run.save_checkpoint()
    return _write_model(run, cfg, out_dir, t_pool, t_start)


def export_checkpoint(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the last checkpoint of a run (cut short or finished) as a model folder, as `train` does
    at its end: float16 weights, config, tokenizer and a training_info.json that says where the run
    stopped ("stopped_at": stage, step; "complete": whether both stages ran to the end).

    run_dir: a run folder (its `checkpoint/` is taken) or a checkpoint folder itself.
    """
    run_dir = Path(run_dir)
    ckpt = run_dir / "checkpoint" if (run_dir / "checkpoint" / "trainer_state.json").exists() else run_dir
    if not (ckpt / "trainer_state.json").exists():
        raise FileNotFoundError(f"no training checkpoint in {run_dir} (looked for checkpoint/trainer_state.json "
                                f"and trainer_state.json)")
    state = json.loads((ckpt / "trainer_state.json").read_text())
    model = load_model(ckpt)
    out_dir = Path(out_dir)
    save_model(model, out_dir, load_tokenizer(ckpt), dtype=torch.float16)
    cfg_file = ckpt.parent / "train_config.json"
    info = {"train_config": json.loads(cfg_file.read_text()) if cfg_file.exists() else None,
            "train_seconds": state["elapsed_s"], "final_losses": state["history"][-4:],
            "exported_from": str(ckpt), "stopped_at": {"stage": state["stage"], "step": state["step"]},
            "complete": state["stage"] > 2, "torch": torch.__version__}
    (out_dir / "training_info.json").write_text(json.dumps(info, indent=2))
    return out_dir
