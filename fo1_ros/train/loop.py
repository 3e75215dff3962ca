"""The stage loop of stages 1 and 2: `run_stage` trains one stage from where the run stands.

Per step: the learning rate of the schedule (linear warm-up, cosine decay to
StageConfig.min_lr_fraction; encoders scaled by vision_lr_scale), one packed batch
(`batching.forward_examples`) with the stage's auxiliary losses (`losses`), a clipped AdamW
step, and the previous-token head put back where the stage freezes it. Every cfg.log_every
steps the mean next-token loss, per-task losses and learning rate go into the run's history,
the log and a progress line on stderr (throughput, ETA); every cfg.checkpoint_every steps the
run is checkpointed.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from ..model.modeling import FO1ForCausalLM
from .batching import BatchLoader, forward_examples
from .config import StageConfig, TrainConfig
from .data import Example
from .losses import seed_previous_token_head
from .vision_pretrain import RegionHeads

logger = logging.getLogger(__name__)


def learning_rate(stage: StageConfig, step: int) -> float:
    """The stage's learning rate at `step`: linear warm-up, then cosine decay to min_lr_fraction."""
    if step < stage.warmup:
        return stage.lr * (step + 1) / stage.warmup
    progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
    lo = stage.min_lr_fraction
    return stage.lr * (lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _stage_loss(model: FO1ForCausalLM, examples: list[Example], stage: StageConfig, task_losses: dict,
                binding_heads: RegionHeads) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to minimise, next-token loss on the answers) of one batch under the stage's weights."""
    if stage.binding_loss > 0 or stage.attention_loss > 0 or stage.pointer_loss > 0:
        parts = forward_examples(model, examples, task_losses, binding_heads if stage.binding_loss > 0 else None,
                                 stage.attention_loss > 0 or stage.pointer_loss > 0)
        answer_loss = parts["answer"]
        loss = (answer_loss + stage.binding_loss * parts["binding"] + stage.attention_loss * parts["attention"]
                + stage.pointer_loss * parts["pointer"])
        return loss, answer_loss
    loss = forward_examples(model, examples, task_losses)
    return loss, loss


def _log_progress(state: dict, stage: StageConfig, cfg: TrainConfig, losses: list[float], task_losses: dict,
                  lr: float, n_frames: int, dt: float) -> None:
    """Record the last cfg.log_every steps in state["history"] and the log, print a progress line
    (loss, auxiliary losses, lr, throughput, ETA) to stderr; empties task_losses."""
    state["elapsed_s"] += dt
    rate = n_frames / max(dt, 1e-9)
    avg = float(np.mean(losses[-cfg.log_every:]))
    left = (stage.steps - state["step"]) * cfg.batch_size / max(rate, 1e-9)
    if state["stage"] == 1:
        left += cfg.stage2.steps * cfg.batch_size / max(rate, 1e-9) * 1.1
    per = {t: round(v[0] / max(v[1], 1), 4) for t, v in sorted(task_losses.items())}
    task_losses.clear()
    state["history"].append({"stage": state["stage"], "step": state["step"], "loss": avg, "lr": lr,
                             "task_losses": per})
    logger.info("stage %d step %d loss %.4f per task %s", state["stage"], state["step"], avg, per)
    bind = "".join(f"{k[1:]} {per[k]:.3f} " for k in ("_binding", "_attention", "_pointer") if k in per)
    sys.stderr.write(f"\r[stage {state['stage']}] step {state['step']}/{stage.steps} loss {avg:.3f} {bind}"
                     f"lr {lr:.1e} {rate:.1f} frames/s ({rate * cfg.qa_per_frame:.0f} QA/s) "
                     f"ETA {_fmt_time(left)}   ")
    sys.stderr.flush()


def run_stage(model: FO1ForCausalLM, binding_heads: RegionHeads, opt: torch.optim.Optimizer, loader: BatchLoader,
              cfg: TrainConfig, stage: StageConfig, state: dict, save_checkpoint: Callable[[], None],
              max_steps: int | None = None) -> int:
    """Train stage state["stage"] (1 or 2, configured by `stage`) from step state["step"] to its end,
    or for `max_steps` steps if that comes first; returns the number of steps taken.

    loader: that stage's batches; state: the run's progress as trainer_state.json keeps it
    ("stage", "step", "elapsed_s", "history"), updated in place (the caller moves on to the
    next stage when state["step"] reached stage.steps); save_checkpoint: called every
    cfg.checkpoint_every steps. Batch k depends on k alone (`BatchLoader`), so a stage resumed
    at step k trains on what an uninterrupted one would; history entries average the steps of
    this call only (resume on a multiple of cfg.log_every to reproduce them exactly).
    """
    if stage.seed_previous_token_head and state["step"] == 0:
        seed_previous_token_head(model)
        sys.stderr.write(f"stage {state['stage']}: layer 0 head 0 seeded as a previous-token head\n")
    losses: list[float] = []
    task_losses: dict[str, list] = {}
    t_log, n_log = time.time(), 0
    first = state["step"]
    stop = stage.steps if max_steps is None else min(stage.steps, first + max(0, max_steps))
    for _, examples in loader.batches(first, stop):
        lr = learning_rate(stage, state["step"])
        for g in opt.param_groups:
            g["lr"] = lr * (stage.vision_lr_scale if g.get("vision") else 1.0)
        loss, answer_loss = _stage_loss(model, examples, stage, task_losses, binding_heads)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if stage.freeze_previous_token_head:
            seed_previous_token_head(model)
        state["step"] += 1
        losses.append(float(answer_loss.detach()))  # the next-token loss (progress is comparable across runs)
        n_log += len(examples)
        if state["step"] % cfg.log_every == 0 or state["step"] == stage.steps:
            _log_progress(state, stage, cfg, losses, task_losses, lr, n_log, time.time() - t_log)
            t_log, n_log = time.time(), 0
        if state["step"] % cfg.checkpoint_every == 0:
            save_checkpoint()
    sys.stderr.write("\n")
    return state["step"] - first
