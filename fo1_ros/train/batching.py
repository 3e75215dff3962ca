"""Batches: one frame's regions and questions as a tokenised `Example` (`data.py`), a batch of
them packed into one forward pass (`forward_examples`), and the `BatchLoader` that makes a
stage's batches.

Sequences are packed the way the engine answers: one frame's prefix (system turn, image
tokens, `<regionN>` + object token per region) followed by several question/answer segments
that each see the prefix and themselves only (a block attention mask, positions restarting
after the prefix). So every training question is exactly a single-turn question as the
engine asks it, while the frame is encoded once for all of them.

Dims: `B` examples (rows), `T` tokens of the longest packed row, `N` regions.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..model.config import FO1Config
from ..model.constants import IGNORE_INDEX
from ..model.modeling import EncodedFrame, FO1ForCausalLM, SplicedBatch
from ..model.processing import prepare_frame
from ..model.prompt import PromptBuilder
from ..model.tokenizer import REGION_TOKENS
from ..synth.questions import QAGenerator
from .attention import HEAD_PROBS_ATTENTION, head_probs_captured
from .config import StageConfig, TrainConfig
from .data import Example, build_regions
from .losses import attention_loss, attention_slots, attn_implementation, binding_loss, binding_targets
from .pool import FramePool, PoolFrame
from .vision_pretrain import RegionHeads


def _region_ids(tokenizer) -> dict[int, int]:
    """token id -> K for the `<regionK>` tokens of `tokenizer` (100 lookups: cheap next to a frame)."""
    return {tokenizer.convert_tokens_to_ids(t): k for k, t in enumerate(REGION_TOKENS)}


def make_example(frame: PoolFrame, rng: np.random.Generator, prompts: PromptBuilder, weights: dict[str, float],
                 cfg: TrainConfig, max_objects: int | None = None) -> Example | None:
    """One frame's training example: its region list (`build_regions`; with `max_objects`, only
    that many objects' jittered boxes), up to cfg.qa_per_frame questions drawn by `weights`, each
    tokenised as a segment after the shared prefix; None when the frame gave no question."""
    props = (frame.proposal_boxes, frame.proposal_scores) if cfg.use_proposer else None
    regions = build_regions(frame.scene, rng, cfg.regions, props, max_objects=max_objects)
    qas = QAGenerator(frame.scene, regions, rng).sample(weights, cfg.qa_per_frame)
    if not qas:
        return None
    built = prompts.build("", regions.n)
    segments = []
    for qa in qas:
        suffix = prompts.build(qa.question, regions.n).suffix
        answer = prompts.answer_ids(qa.answer)
        segments.append((suffix + answer, [IGNORE_INDEX] * len(suffix) + answer))
    region_ids = _region_ids(prompts.tokenizer)
    cites = [(k, t, region_ids[tok], lab[t] == IGNORE_INDEX) for k, (ids, lab) in enumerate(segments)
             for t, tok in enumerate(ids) if tok in region_ids]
    bind = binding_targets(cites, regions.match, frame.scene.objects)
    return Example(frame.rgb, regions.boxes, built.prefix, segments, [qa.task for qa in qas], bind, cites)


@dataclass
class PackedBatch:
    """A batch of examples spliced into one padded row each: prefix, then every QA segment.

    spliced: the model inputs (inputs_embeds (B, T, D), labels (B, T), token_ids (B, T));
    seg: (B, T) int64, -1 padding, 0 prefix, k + 1 segment k; pos: (3, B, T) RoPE positions,
    each segment restarting after the prefix; starts: (row, segment) -> its first index.
    """

    spliced: SplicedBatch
    seg: torch.Tensor
    pos: torch.Tensor
    starts: dict[tuple[int, int], int]


def pack_examples(model: FO1ForCausalLM, examples: list[Example]) -> PackedBatch:
    """Encode every example's frame once and splice prefix + segments into one row per example."""
    cfg = model.config
    inputs = [e.inputs if e.inputs is not None else prepare_frame(e.rgb, e.boxes, cfg) for e in examples]
    dev = model.device
    pv = torch.cat([i.pixel_values for i in inputs]).to(dev)
    grid = torch.cat([i.grid_thw for i in inputs]).to(dev)
    aux = torch.cat([i.aux_pixel_values for i in inputs]).to(dev)
    image_tokens, levels = model.encode_images(pv, grid, return_levels=cfg.mm_use_vision_tower_region_feature)
    object_tokens = model.encode_regions(aux, [i.boxes_aux.to(dev) for i in inputs], levels, grid)
    frames = [EncodedFrame(image_tokens[k], object_tokens[k], grid[k]) for k in range(len(examples))]
    ids = [e.prefix + [t for s in e.segments for t in s[0]] for e in examples]
    labels = [[IGNORE_INDEX] * len(e.prefix) + [t for s in e.segments for t in s[1]] for e in examples]
    batch = model.splice(ids, frames, labels=labels, padding_side="right")
    B, T = batch.attention_mask.shape
    seg = torch.full((B, T), -1, dtype=torch.long, device=dev)  # -1 pad, 0 prefix, k+1 segment k
    pos = batch.position_ids.clone()
    starts = {}  # (row, segment) -> first sequence index
    for b, e in enumerate(examples):
        n_prefix = len(e.prefix) - 1 + frames[b].image_tokens.shape[0]  # the image slot expands
        seg[b, :n_prefix] = 0
        # the reference's rule: text after the prefix continues at its largest position + 1
        # (after an image that is start + max(rows, cols), not the last token's position + 1)
        start_pos = int(pos[:, b, :n_prefix].max()) + 1 if n_prefix else 0
        start = n_prefix
        for k, (s_ids, _) in enumerate(e.segments):
            n = len(s_ids)
            starts[(b, k)] = start
            seg[b, start:start + n] = k + 1
            pos[:, b, start:start + n] = start_pos + torch.arange(n, device=dev)  # each segment restarts
            start += n
    return PackedBatch(batch, seg, pos, starts)


def block_mask(seg: torch.Tensor, additive_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The packed rows' attention mask: causal, each segment sees the prefix and itself.

    seg: (B, T) as PackedBatch.seg. Returns {"full_attention": (B, 1, T, T)}, boolean (True =
    attend), or additive float of `additive_dtype` (0 / dtype min) for eager attention.
    """
    T, dev = seg.shape[1], seg.device
    causal = torch.ones(T, T, dtype=torch.bool, device=dev).tril()
    same = (seg[:, :, None] == seg[:, None, :]) | (seg[:, None, :] == 0)
    allowed = causal[None] & same & (seg[:, None, :] >= 0) & (seg[:, :, None] >= 0)
    allowed |= torch.eye(T, dtype=torch.bool, device=dev)[None]  # padding rows attend to themselves (no NaN)
    if additive_dtype is not None:  # eager adds the mask: additive float, same meaning
        additive = torch.zeros(allowed.shape, dtype=additive_dtype, device=dev)
        return {"full_attention": additive.masked_fill(~allowed, torch.finfo(additive.dtype).min)[:, None]}
    return {"full_attention": allowed[:, None]}  # (B, 1, T, T), True = attend


def _add_task_losses(per_task: dict, token_losses: torch.Tensor, packed: PackedBatch, examples: list[Example]) -> None:
    """Add each target token's loss to its segment's task: per_task[task] = [sum, n tokens]."""
    B, T = packed.seg.shape
    # the loss at position t predicts token t+1: attribute each target to its segment's task
    keep = packed.spliced.labels[:, 1:] != IGNORE_INDEX
    seg_of_target = packed.seg[:, 1:][keep]
    row_of_target = torch.arange(B, device=packed.seg.device)[:, None].expand(B, T - 1)[keep]
    for loss_t, b, k in zip(token_losses.tolist(), row_of_target.tolist(), seg_of_target.tolist()):
        name = examples[b].tasks[k - 1] if 0 < k <= len(examples[b].tasks) else "?"
        acc = per_task.setdefault(name, [0.0, 0])
        acc[0] += loss_t
        acc[1] += 1


def forward_examples(model: FO1ForCausalLM, examples: list[Example], per_task: dict | None = None,
                     binding_heads: RegionHeads | None = None, attention: bool = False):
    """Loss of a batch: frames encoded once, each QA segment attends to the prefix and itself.

    per_task: if given, receives {task: (sum of token losses, n tokens)} for this batch.
    binding_heads / attention: the auxiliary losses of StageConfig.binding_loss / attention_loss
        and pointer_loss (`attention` needs a model built with HEAD_PROBS_ATTENTION or eager).
        Without them the return is the answer loss; with either, a dict {"answer", "binding",
        "attention", "pointer"} of scalars (the unused ones 0), also accumulated into
        per_task["_binding"] etc.
    """
    packed = pack_examples(model, examples)
    batch = packed.spliced
    eager = attention and attn_implementation(model) == "eager"
    mask = block_mask(packed.seg, batch.inputs_embeds.dtype if eager else None)
    slots = attention_slots(model) if attention else ()
    with head_probs_captured(model, slots) as captured:  # (layer, head) -> (B, T, T) probabilities
        out = model(batch.inputs_embeds, packed.pos, mask, labels=batch.labels)
    if per_task is not None and out.token_losses is not None:
        _add_task_losses(per_task, out.token_losses, packed, examples)
    if binding_heads is None and not attention:
        return out.loss
    zero = out.loss.new_zeros(())
    losses = {"answer": out.loss, "binding": zero, "attention": zero, "pointer": zero}
    if binding_heads is not None:
        bind = binding_loss(out.last_hidden_state, examples, packed.starts, binding_heads)
        losses["binding"] = zero if bind is None else bind
    if attention:
        if any(captured.get(slot) is None for slot in slots):
            raise RuntimeError("the attention loss needs attention weights: build the model with "
                               f"attn_implementation={HEAD_PROBS_ATTENTION!r} (or 'eager'), not "
                               f"{attn_implementation(model)!r}")
        parts = attention_loss(examples, batch.token_ids, packed.starts, captured, slots)
        losses["attention"] = parts["induction"] + parts["carry"]
        losses["pointer"] = parts["pointer"]
    if per_task is not None:
        for name in ("binding", "attention", "pointer"):
            acc = per_task.setdefault("_" + name, [0.0, 0])
            acc[0] += float(losses[name].detach())
            acc[1] += 1
    return losses


def _max_objects(stage: StageConfig, step: int) -> int | None:
    """The curriculum's cap on objects per frame at `step` (StageConfig.curriculum); None = no cap."""
    for until, k in stage.curriculum:
        if step < until * stage.steps:
            return int(k)
    return None


def stage_example(frames: FramePool, prompts: PromptBuilder, model_cfg: FO1Config, cfg: TrainConfig, stage: int,
                  stage_cfg: StageConfig, step: int, i: int) -> Example:
    """Example `i` of batch `step` of `stage`, its frame inputs prepared.

    Its random choices come from the seed [cfg.seed, stage, step, i, attempt] alone, so a batch
    is the same whichever process makes it and however many make them (attempt counts frames
    that gave no question)."""
    for attempt in range(100):
        rng = np.random.default_rng([cfg.seed, stage, step, i, attempt])
        ex = make_example(frames[int(rng.integers(len(frames)))], rng, prompts, stage_cfg.task_weights, cfg,
                          _max_objects(stage_cfg, step))
        if ex is not None:
            ex.inputs = prepare_frame(ex.rgb, ex.boxes, model_cfg)
            return ex
    raise RuntimeError(f"stage {stage} step {step}: 100 frames in a row gave no question; check task_weights "
                       f"{stage_cfg.task_weights}")


_LOADER_ARGS: tuple = ()  # set before the data workers fork; read by _loader_job in them


def _loader_init() -> None:
    torch.set_num_threads(1)


def _loader_job(step_i: tuple[int, int]) -> Example:
    return stage_example(*_LOADER_ARGS, *step_i)


class BatchLoader:
    """The batches of one stage, made inline (workers=0) or by `workers` forked processes that
    keep `ahead` batches in flight (the GPU need not wait for Python). The batches are identical
    either way (stage_example)."""

    def __init__(self, frames: FramePool, prompts: PromptBuilder, model_cfg: FO1Config, cfg: TrainConfig,
                 stage: int, stage_cfg: StageConfig, workers: int = 0, ahead: int = 4):
        self.args = (frames, prompts, model_cfg, cfg, stage, stage_cfg)
        self.batch_size, self.workers, self.ahead = cfg.batch_size, workers, ahead

    def batches(self, start: int, stop: int) -> Iterator[tuple[int, list[Example]]]:
        """Yield (step, list of Example) for step in [start, stop). The workers live as long as the
        generator: they end with it, also when the consumer stops early or raises."""
        if self.workers == 0:
            for step in range(start, stop):
                yield step, [stage_example(*self.args, step, i) for i in range(self.batch_size)]
            return
        global _LOADER_ARGS
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the tokenizer is used after the fork
        _LOADER_ARGS = self.args
        pool = mp.get_context("fork").Pool(self.workers, initializer=_loader_init)
        pending: deque = deque()
        try:
            nxt = start
            while nxt < stop or pending:
                while nxt < stop and len(pending) < self.ahead:
                    pending.append((nxt, pool.map_async(_loader_job, [(nxt, i) for i in range(self.batch_size)])))
                    nxt += 1
                step, res = pending.popleft()
                yield step, res.get()
        finally:
            # End the workers gracefully: let the batches in flight finish (at most `ahead`), then
            # close + join. Pool.terminate() with tasks queued can deadlock (a worker killed while
            # it holds the task queue's lock); it stays the fallback for a worker that hangs.
            deadline = time.monotonic() + 120.0
            for _, res in pending:
                res.wait(max(0.0, deadline - time.monotonic()))
            if all(res.ready() for _, res in pending):
                pool.close()
                pool.join()
            else:
                pool.terminate()
