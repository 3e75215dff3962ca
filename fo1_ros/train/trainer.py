"""The trainer that produces the shipped default model (`fo1-ros train`).

Recipe:
  0. vision pretraining (`vision_pretrain.py`): a stand-in for the pretrained encoders FO1
     starts from — the two encoders and the region encoder learn region attributes through
     throwaway linear heads (no language model involved);
  then VLM-FO1's two stages with ordinary next-token loss on answers only (reference §5):
  1. region-language alignment: region captions, attribute questions and OCR about regions,
     first with few regions per frame, so the language model learns to read object tokens,
     with two auxiliary losses that build the circuit tying `<regionK>` to object token K
     (StageConfig.attention_loss, binding_loss; see TrainConfig);
  2. perception instruction tuning: every capability (detection, REC, counting, captions,
     OCR, VQA, visual prompts, grounding, label-all, reasoning) mixed.
All weights train in stages 1 and 2: the shipped model starts from random weights (no
pretrained Qwen2.5-VL can be downloaded on these machines).

Sequences are packed the way the engine answers: one frame's prefix (system turn, image
tokens, `<regionN>` + object token per region) followed by several question/answer segments
that each see the prefix and themselves only (a block attention mask, positions restarting
after the prefix). So every training question is exactly a single-turn question as the
engine asks it, while the frame is encoded once for all of them.

Runs are resumable (`--run-dir` keeps checkpoints), seeded, and print progress with loss,
throughput and ETA. Training seeds are first_seed..first_seed+n_frames-1 (first_seed 0 by
default), always below the stage-0 validation seeds (VALIDATION_SEED_BASE) and the evaluation
seeds (`fo1_ros.eval.EVAL_SEED_BASE`). `--continue-from MODEL_DIR` trains a finished model's
stage 2 further (all of its weights, its tokenizer), e.g. on scenes it has not seen.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import Config
from ..model.checkpoint import load_model, load_state_dict_checked, save_model
from ..model.config import FO1Config
from ..model.constants import IGNORE_INDEX, OBJECT_SLOT
from ..model.modeling import EncodedFrame, FO1ForCausalLM
from ..model.processing import FrameInputs, prepare_frame
from ..model.prompt import PromptBuilder
from ..model.tokenizer import REGION_TOKENS, SPECIAL_TOKENS, load_tokenizer, train_tokenizer
from ..synth import SceneConfig
from .attention import HEAD_PROBS_ATTENTION, PROB_HEADS_ATTR
from .data import TASKS, QAGenerator, RegionSampling, build_regions
from .pool import FramePool, build_pool
from .vision_pretrain import RegionHeads, VisionPretrainConfig, attribute_targets, heads_loss, pretrain_vision

logger = logging.getLogger(__name__)

# seeds of the frames stage 0 reports held-out accuracy on: above any training seed (0..n_frames-1)
# and below the evaluation seeds (fo1_ros.eval.EVAL_SEED_BASE = 1 000 000)
VALIDATION_SEED_BASE = 900_000

STAGE1_WEIGHTS = {"caption_brief": 3.0, "vqa": 4.0, "ocr": 1.0, "caption_detailed": 0.5}
STAGE2_WEIGHTS = {"detect": 3.0, "detect_multi": 1.0, "rec": 2.5, "caption_brief": 1.0, "caption_detailed": 0.5,
                  "ocr": 1.5, "vqa": 1.5, "count": 2.0, "visual_prompt": 1.0, "grounding": 0.5, "label_all": 0.5,
                  "reasoning": 1.0}


@dataclass
class StageConfig(Config):
    """One training stage: how long, how fast, what mix of tasks."""

    steps: int
    lr: float
    task_weights: dict[str, float]
    warmup: int = 100
    # (fraction of the stage, max objects): until that fraction, frames show only that many
    # objects as regions (jittered GT boxes); afterwards full proposal lists.
    curriculum: list = field(default_factory=list)
    min_lr_fraction: float = 0.1
    vision_lr_scale: float = 1.0  # LR multiplier for the image encoders and the region encoder (0 = frozen)
    # set layer 0 / head 0 of the language model to attend to the previous token when the stage
    # starts (seed_previous_token_head): the induction circuit that binds <regionK> to its object token
    seed_previous_token_head: bool = False
    # keep that head's query/key fixed through the stage (re-applied after every step): left
    # trainable, it drifted off the previous token within a few hundred steps (measured: attention
    # from object tokens to their <regionK> fell from ~0.96 to ~0.01 on 3 of 4 tokens); its
    # value/output projections still train
    freeze_previous_token_head: bool = False
    # weight of the binding loss: at every <regionK> after the prefix, throwaway linear heads
    # (vision_pretrain.RegionHeads) on the last hidden state must name object K's colour, shape,
    # size and text. It supervises the induction circuit where it forms, not ~11 template tokens
    # later (the bare task of benchmarks/binding_probe.py --gap 10, "seeded + aux" column: without
    # it no binding in 900 steps, with it in ~400). 0 = off. The heads are discarded with the run.
    binding_loss: float = 0.0
    # weight of the attention loss (attention_targets): layer 1 / head 2 at a cited <regionK>
    # must attend to object token K (the induction step), and layer 2 / head 2 at every position
    # from a question's only cited <regionK> to the end of the answer must attend to that
    # <regionK> (carrying it to where the answer is written). The circuit is supervised
    # directly; the weights and the architecture stay FO1's. Needs a model built with
    # HEAD_PROBS_ATTENTION (or eager). 0 = off.
    attention_loss: float = 0.0
    # weight of the pointer loss (attention_targets): layer 3 / head 2, where an answer is about to
    # name a <regionK>, must attend to the object tokens still to be named in that group — the
    # retrieval step of detection, REC and counting. Needs HEAD_PROBS_ATTENTION
    # (or eager). 0 = off.
    pointer_loss: float = 0.0

    def __post_init__(self):
        self.curriculum = [tuple(c) for c in self.curriculum]
        if self.steps < 0 or self.lr <= 0:
            raise ValueError(f"StageConfig needs steps >= 0 and lr > 0, got steps={self.steps} lr={self.lr}")
        unknown = sorted(set(self.task_weights) - set(TASKS))
        if unknown:
            raise ValueError(f"StageConfig.task_weights has unknown tasks {unknown}; known: {TASKS}")


@dataclass
class TrainConfig(Config):
    """Everything `fo1-ros train` uses; defaults produce the shipped model."""

    # Model
    model: FO1Config = field(default_factory=FO1Config)
    vocab_size: int = 1024
    # Data
    # training scenes (seeds first_seed..first_seed+n_frames-1). On 4000 the encoders memorised the
    # frames (probe shape 0.668 on them vs 0.582 held out); on 12 000 0.653 vs 0.621, and the model trained on those
    # encoders gained REC 0.368 -> 0.501, caption 0.504 -> 0.572, reasoning 0.420 -> 0.538
    # (500 held-out scenes; detection mAP 0.217 -> 0.211). The pool: ~12 min, ~11 GB on disk.
    n_frames: int = 12000
    # seed of the first training scene: a continuation (--continue-from) can train on scenes the
    # model has not seen (e.g. first_seed 12000 after a run on 0..11999)
    first_seed: int = 0
    scene: SceneConfig = field(default_factory=SceneConfig)
    use_proposer: bool = True  # train on the default proposer's boxes as well as jittered GT boxes
    qa_per_frame: int = 12
    regions: RegionSampling = field(default_factory=RegionSampling)
    # Optimisation
    batch_size: int = 8
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    # Stage 1 keeps the pretrained encoders frozen (as FO1's alignment stage does). The fresh
    # language model must learn the induction circuit that ties the question's <regionK> to the
    # K-th object token (a pretrained Qwen brings one). Grown by next-token loss alone it does not
    # form in the steps a CPU affords (benchmarks/binding_probe.py; the shipped v3 model named the
    # same object for every region), so the circuit is built and supervised directly:
    #   - layer 0 / head 0 is set to attend to the previous token and kept so
    #     (seed/freeze_previous_token_head): each object token sees its <regionK>;
    #   - the attention loss teaches layer 1 / head 2 to look from a cited <regionK> at object
    #     token K and layer 2 / head 2 to carry that to the answer (learned in ~100 steps);
    #   - the binding loss asks the hidden state at a cited <regionK> for object K's attributes.
    # Measured on 20 held-out scenes with up to 6 ground-truth boxes (colour / shape / size of
    # each region asked separately): v3 recipe 0.30 / 0.22 / 0.45, this one after 500 stage-1
    # steps 0.97 / 0.49 / 0.75. Two, then up to four objects per frame, then full proposal lists.
    # Stage 0 length: the shipped encoders had 2000 steps, then 2000 more (`--refine-vision`, lr 1e-3,
    # on 12 000 frames); on 4000 frames the second 2000 steps took linear probes of the region
    # features on held-out scenes (benchmarks/vision_probe.py) from colour 0.888 -> 0.931, shape
    # 0.519 -> 0.582, and detection mAP of the model trained on them 0.074 -> 0.217 (500 scenes).
    stage0: VisionPretrainConfig = field(default_factory=lambda: VisionPretrainConfig(steps=4000))
    stage1: StageConfig = field(default_factory=lambda: StageConfig(
        800, 1e-3, dict(STAGE1_WEIGHTS), warmup=50, curriculum=[(0.15, 2), (0.5, 4)], min_lr_fraction=0.3,
        vision_lr_scale=0.0, seed_previous_token_head=True, freeze_previous_token_head=True,
        binding_loss=0.5, attention_loss=0.5))
    # Stage 2: every task on full proposal lists; encoders still frozen (CPU time). The pointer
    # loss supervises retrieval (which object tokens an answer names). Measured half-way through
    # stage 2 (500 of 1000 steps, same stage 1, H200; `fo1-ros eval --scenes 100 --proposals
    # default`): detection mAP 0.019 -> 0.040, REC 0.197 -> 0.249, VQA 0.685 -> 0.730, counting
    # 0.366 -> 0.373, caption attributes 0.449 -> 0.416 (without -> with, weight 1.0).
    # Length: the shipped model had 1200 steps, then 400 more from that checkpoint (lr 3e-4, warm
    # restart), which took REC 0.432 -> 0.501, detection mAP 0.180 -> 0.211 (500 scenes, 12 000
    # frames: each frame is seen ~3x less often than on 4000); one 1600-step run is the default.
    # Stage 2 stays undertrained at that length: continuing it on unseen scenes (--continue-from,
    # first_seed) for 461 + 606 + 622 + 752 steps of 16 frames took detection mAP 0.211 -> 0.415 and
    # REC 0.501 -> 0.805 (the shipped model; README "Accuracy"); the last two, at lr 3e-4 and 2e-4,
    # gained more than one at 4e-4.
    stage2: StageConfig = field(default_factory=lambda: StageConfig(
        1600, 6e-4, dict(STAGE2_WEIGHTS), warmup=100, vision_lr_scale=0.0, freeze_previous_token_head=True,
        binding_loss=0.2, attention_loss=0.2, pointer_loss=1.0))
    # Bookkeeping
    seed: int = 0
    threads: int = 0  # 0 = torch default
    device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    pool_workers: int = 2  # processes rendering the frame pool
    data_workers: int = 0  # processes making batches ahead of the model (0 = inline; worth it on a GPU)
    checkpoint_every: int = 500
    log_every: int = 25

    def __post_init__(self):
        self.nested_from_dicts()
        if self.batch_size < 1 or self.qa_per_frame < 1 or self.n_frames < 1:
            raise ValueError("batch_size, qa_per_frame and n_frames must be >= 1")
        if self.first_seed < 0 or self.first_seed + self.n_frames > VALIDATION_SEED_BASE:
            raise ValueError(f"training seeds {self.first_seed}..{self.first_seed + self.n_frames - 1} (first_seed, "
                             f"n_frames) must lie in 0..{VALIDATION_SEED_BASE - 1}, below the held-out seeds")
        if self.pool_workers < 1 or self.data_workers < 0:
            raise ValueError(f"pool_workers must be >= 1 and data_workers >= 0, got {self.pool_workers}, "
                             f"{self.data_workers}")

    def training_seeds(self) -> list[int]:
        """Seeds of the training scenes (the frame pool), in order."""
        return list(range(self.first_seed, self.first_seed + self.n_frames))

    def torch_device(self) -> torch.device:
        """The device training runs on; raises ValueError for an unusable `device`."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(self.device)
        except RuntimeError as e:
            raise ValueError(f"TrainConfig.device {self.device!r} is not a torch device: {e}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"TrainConfig.device {self.device!r}: this torch ({torch.__version__}) sees no CUDA device")
        if dev.type not in ("cpu", "cuda"):
            raise ValueError(f"TrainConfig.device {self.device!r}: only cpu and cuda are supported")
        return dev


# ---- batches ---------------------------------------------------------------------------------
@dataclass
class Example:
    """One frame with its regions and QA segments, tokenised."""

    rgb: np.ndarray
    boxes: np.ndarray  # (N, 4) frame pixels
    prefix: list[int]  # with IMAGE_SLOT / OBJECT_SLOT
    segments: list[tuple[list[int], list[int]]]  # (ids, labels) per question
    tasks: list[str] = field(default_factory=list)  # task name per segment (for per-task losses)
    # binding targets: (segment index, offset in the segment, scene object) for every <regionK>
    # token in a segment whose region K is a box (IoU >= 0.5) of that object
    bind: list[tuple[int, int, object]] = field(default_factory=list)
    # every <regionK> token in a segment: (segment index, offset in the segment, K, in the question)
    cites: list[tuple[int, int, int, bool]] = field(default_factory=list)
    # prepare_frame(rgb, boxes) when a data worker made it already (BatchLoader); else made in forward_examples
    inputs: FrameInputs | None = None


def binding_targets(cites: list[tuple[int, int, int, bool]], match: np.ndarray, objects) -> list:
    """(segment, offset, object) for each cited region token (Example.cites) whose region is a box of
    an object. match: (N,) object index per region (-1 none)."""
    return [(k, t, objects[int(match[K])]) for k, t, K, _ in cites if K < len(match) and match[K] >= 0]


def _region_ids(tokenizer) -> dict[int, int]:
    """token id -> K for the `<regionK>` tokens of `tokenizer` (100 lookups: cheap next to a frame)."""
    return {tokenizer.convert_tokens_to_ids(t): k for k, t in enumerate(REGION_TOKENS)}


def make_example(frame, rng: np.random.Generator, prompts: PromptBuilder, weights: dict[str, float],
                 cfg: TrainConfig, max_objects: int | None = None) -> Example | None:
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
    seg_start = []  # (row, segment, first sequence index)
    for b, e in enumerate(examples):
        n_prefix = len(e.prefix) - 1 + frames[b].image_tokens.shape[0]  # the image slot expands
        seg[b, :n_prefix] = 0
        # the reference's rule: text after the prefix continues at its largest position + 1
        # (after an image that is start + max(rows, cols), not the last token's position + 1)
        start_pos = int(pos[:, b, :n_prefix].max()) + 1 if n_prefix else 0
        start = n_prefix
        for k, (s_ids, _) in enumerate(e.segments):
            n = len(s_ids)
            seg_start.append((b, k, start))
            seg[b, start:start + n] = k + 1
            pos[:, b, start:start + n] = start_pos + torch.arange(n, device=dev)  # each segment restarts
            start += n
    causal = torch.ones(T, T, dtype=torch.bool, device=dev).tril()
    same = (seg[:, :, None] == seg[:, None, :]) | (seg[:, None, :] == 0)
    allowed = causal[None] & same & (seg[:, None, :] >= 0) & (seg[:, :, None] >= 0)
    allowed |= torch.eye(T, dtype=torch.bool, device=dev)[None]  # padding rows attend to themselves (no NaN)
    if attention and _attn_implementation(model) == "eager":  # eager adds the mask: additive float, same meaning
        additive = torch.zeros(allowed.shape, dtype=batch.inputs_embeds.dtype, device=dev)
        mask = {"full_attention": additive.masked_fill(~allowed, torch.finfo(additive.dtype).min)[:, None]}
    else:
        mask = {"full_attention": allowed[:, None]}  # (B, 1, T, T), True = attend
    captured: dict[tuple[int, int], torch.Tensor | None] = {}  # (layer, head) -> (B, T, T) probabilities
    hooks, marked = [], []
    if attention:
        slots = attention_slots(model)
        for layer in {slot[0] for slot in slots}:
            heads = tuple(sorted({h for lo, h in slots if lo == layer}))
            attn = model.model.layers[layer].self_attn
            setattr(attn, PROB_HEADS_ATTR, heads)  # read by HEAD_PROBS_ATTENTION, for this pass only
            marked.append(attn)

            def hook(_m, _args, output, layer=layer, heads=heads):
                w = output[1]  # eager: (B, H, T, T); HEAD_PROBS_ATTENTION: {head: (B, T, T)}; sdpa: None
                for h in heads:
                    captured[(layer, h)] = None if w is None else (w[h] if isinstance(w, dict) else w[:, h])
            hooks.append(attn.register_forward_hook(hook))
    try:
        out = model(batch.inputs_embeds, pos, mask, labels=batch.labels)
    finally:
        for h in hooks:
            h.remove()
        for attn in marked:
            delattr(attn, PROB_HEADS_ATTR)
    if per_task is not None and out.token_losses is not None:
        # the loss at position t predicts token t+1: attribute each target to its segment's task
        keep = batch.labels[:, 1:] != IGNORE_INDEX
        seg_of_target = seg[:, 1:][keep]
        row_of_target = torch.arange(B, device=dev)[:, None].expand(B, T - 1)[keep]
        for loss_t, b, k in zip(out.token_losses.tolist(), row_of_target.tolist(), seg_of_target.tolist()):
            name = examples[b].tasks[k - 1] if 0 < k <= len(examples[b].tasks) else "?"
            acc = per_task.setdefault(name, [0.0, 0])
            acc[0] += loss_t
            acc[1] += 1
    if binding_heads is None and not attention:
        return out.loss
    starts = {(b, k): t for b, k, t in seg_start}
    zero = out.loss.new_zeros(())
    losses = {"answer": out.loss, "binding": zero, "attention": zero, "pointer": zero}
    where = [(b, starts[(b, k)] + t, o) for b, e in enumerate(examples) for k, t, o in e.bind]
    if binding_heads is not None and where:
        h = out.last_hidden_state[[b for b, _, _ in where], [t for _, t, _ in where]]  # (n, D)
        logits = binding_heads(h)
        tgt = {k: v.to(dev) for k, v in attribute_targets([o for _, _, o in where]).items()}
        losses["binding"] = heads_loss(logits, tgt)
    if attention:
        if any(captured.get(slot) is None for slot in slots):
            raise RuntimeError("the attention loss needs attention weights: build the model with "
                               f"attn_implementation={HEAD_PROBS_ATTENTION!r} (or 'eager'), not "
                               f"{_attn_implementation(model)!r}")
        parts = attention_loss(examples, batch.token_ids, starts, captured, slots)
        losses["attention"] = parts["induction"] + parts["carry"]
        losses["pointer"] = parts["pointer"]
    if per_task is not None:
        for name in ("binding", "attention", "pointer"):
            acc = per_task.setdefault("_" + name, [0.0, 0])
            acc[0] += float(losses[name].detach())
            acc[1] += 1
    return losses


def _attn_implementation(model: FO1ForCausalLM) -> str:
    return model.model.layers[0].self_attn.config._attn_implementation


ATTN_INDUCTION = (1, 2)  # (layer, head) that reads object token K at a cited <regionK>
ATTN_CARRY = (2, 2)  # (layer, head) that carries the question's <regionK> to the answer
ATTN_POINTER = (3, 2)  # (layer, head) that looks at the objects an answer is about to name


def attention_slots(model: FO1ForCausalLM) -> tuple[tuple[int, int], ...]:
    """(induction, carry, pointer) (layer, head) pairs: ATTN_* clamped to the model's size; on a
    model too small for distinct slots, a later one takes the next free head of its layer, then of
    the layers below (never layer 0 / head 0, the previous-token head)."""
    n_layers, n_heads = model.config.text.num_hidden_layers, model.config.text.num_attention_heads
    slots: list[tuple[int, int]] = []
    for layer, head in (ATTN_INDUCTION, ATTN_CARRY, ATTN_POINTER):
        layer, head = min(layer, n_layers - 1), min(head, n_heads - 1)
        order = [(layer, (head + i) % n_heads) for i in range(n_heads)]
        order += [(lo, h) for lo in range(layer - 1, -1, -1) for h in range(n_heads)]
        free = [c for c in order if c not in slots and c != (0, 0)]
        if not free:
            raise ValueError(f"a {n_layers}-layer, {n_heads}-head language model has no free heads for the "
                             "attention losses")
        slots.append(free[0])
    return tuple(slots)


def attention_targets(e: Example, obj_pos: list[int], starts: dict, b: int):
    """Supervised attention of one example: three lists of (query position, [key positions]).

    Induction: every <regionK> in a segment -> object token K. Carry: in a segment whose
    question cites exactly one region and whose answer cites none, every position after that
    <regionK> up to the last one that predicts an answer token -> the <regionK>. Pointer: in an
    answer, the position that predicts a <regionK> of a run of region tokens (one `<objects>`
    group) -> the object tokens of that and every later region of the run (the ones still to be
    named). The attention weights on a target's keys are summed.
    """
    induction = [(starts[(b, k)] + t, [obj_pos[K]]) for k, t, K, _ in e.cites if K < len(obj_pos)]
    carry, pointer = [], []
    for k, (ids, _) in enumerate(e.segments):
        q = [(t, K) for kk, t, K, in_q in e.cites if kk == k and in_q]
        a = [(t, K) for kk, t, K, in_q in e.cites if kk == k and not in_q and K < len(obj_pos)]
        if q and not a and len({K for _, K in q}) == 1:
            r = starts[(b, k)] + q[-1][0]
            carry += [(p, [r]) for p in range(r + 1, starts[(b, k)] + len(ids) - 1)]
        for i, (t, _) in enumerate(a):
            run = [a[i][1]]
            for j in range(i + 1, len(a)):
                if a[j][0] != a[j - 1][0] + 1:
                    break
                run.append(a[j][1])
            pointer.append((starts[(b, k)] + t - 1, [obj_pos[K] for K in run]))
    return induction, carry, pointer


def attention_loss(examples: list[Example], token_ids: torch.Tensor, starts: dict, weights: dict,
                   slots=(ATTN_INDUCTION, ATTN_CARRY, ATTN_POINTER)) -> dict[str, torch.Tensor]:
    """{"induction", "carry", "pointer"}: mean -log of the attention weight the slot's head puts on
    each target's keys (`attention_targets`); 0 where a batch has no target of that kind.

    weights: (layer, head) -> (B, T, T) attention probabilities of that head (only the slots of
    the kinds asked for need to be present); slots: (layer, head) per kind, in that order.
    """
    kinds = [(name, slot, pick) for pick, (name, slot) in enumerate(zip(("induction", "carry", "pointer"), slots))
             if slot in weights]
    found: dict[str, tuple[list, list, list]] = {name: ([], [], []) for name, _, _ in kinds}
    for b, e in enumerate(examples):  # every example's targets once, shared by the kinds
        obj_pos = (token_ids[b] == OBJECT_SLOT).nonzero().flatten().tolist()
        targets = attention_targets(e, obj_pos, starts, b)
        for name, _, pick in kinds:
            rows, qs, keys = found[name]
            for q, ks in targets[pick]:
                rows.append(b)
                qs.append(q)
                keys.append(ks)
    out = {}
    for name, (layer, head), _ in kinds:
        rows, qs, keys = found[name]
        if not rows:
            out[name] = weights[(layer, head)].new_zeros(())
            continue
        w = weights[(layer, head)][rows, qs].float()  # (n, T)
        on = torch.zeros_like(w, dtype=torch.bool)
        for i, ks in enumerate(keys):
            on[i, ks] = True
        out[name] = -torch.log((w * on).sum(-1) + 1e-6).mean()
    return out


# ---- batches of a stage ---------------------------------------------------------------------------
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

    def batches(self, start: int, stop: int):
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


# ---- training loop -----------------------------------------------------------------------------
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


@torch.no_grad()
def seed_previous_token_head(model: FO1ForCausalLM, layer: int = 0, head: int = 0, sharpness: float = 6.0) -> None:
    """Make one attention head attend (almost only) to the previous token.

    FO1 names object K in the prompt as ``<regionK>`` followed by its object token, and a
    question cites ``<regionK>``: answering needs an induction circuit (the object token learns
    which index precedes it; a later head matches the cited index). A pretrained Qwen has such
    heads; a language model trained from scratch here did not grow one in the steps we can
    afford. So the head's query and key become constant vectors (weights 0, biases set) whose
    RoPE dot product q_m . k_n = s^2 sum_i cos((m - n - 1) theta_i) peaks at n = m - 1. Its
    key/value head is shared with the other query heads of its GQA group, whose keys become
    positional too. Everything stays trainable.
    """
    attn = model.model.layers[layer].self_attn
    tcfg = model.config.text
    hd = tcfg.head_dim
    kv = head // (tcfg.num_attention_heads // tcfg.num_key_value_heads)
    inv_freq = 1.0 / (tcfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    q = torch.cat([torch.ones(hd // 2), torch.zeros(hd // 2)])
    k = torch.cat([torch.cos(inv_freq), torch.sin(inv_freq)])  # q rotated by one position back
    qs, ks = slice(head * hd, (head + 1) * hd), slice(kv * hd, (kv + 1) * hd)
    attn.q_proj.weight[qs] = 0
    attn.k_proj.weight[ks] = 0
    attn.q_proj.bias[qs] = sharpness * q.to(attn.q_proj.bias)
    attn.k_proj.bias[ks] = sharpness * k.to(attn.k_proj.bias)


def _lr(stage: StageConfig, step: int) -> float:
    if step < stage.warmup:
        return stage.lr * (step + 1) / stage.warmup
    progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
    lo = stage.min_lr_fraction
    return stage.lr * (lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _max_objects(stage: StageConfig, step: int) -> int | None:
    for until, k in stage.curriculum:
        if step < until * stage.steps:
            return int(k)
    return None


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def build_tokenizer(pool: FramePool, cfg: TrainConfig, n_frames: int = 600):
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
    from safetensors.torch import load_file

    path = Path(model_dir) / "model.safetensors"
    if not path.exists():
        raise ValueError(f"init_from: no model.safetensors in {model_dir}")
    from ..model.checkpoint import official_to_internal

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


def train(cfg: TrainConfig, run_dir: str | Path, out_dir: str | Path, pool_dir: str | Path | None = None,
          init_from: str | Path | None = None, refine_vision: bool = False,
          continue_from: str | Path | None = None) -> Path:
    """Train (or resume) and write the final model folder to `out_dir`.

    init_from: a model folder whose vision side replaces stage 0 (`init_vision_from`); only
    used when the run has no checkpoint yet. refine_vision: with init_from, run stage 0
    (cfg.stage0) from those weights instead of skipping it — more vision pretraining without
    starting over. continue_from: a model folder (or a run's checkpoint folder) whose every
    weight, tokenizer and architecture the run starts from, going straight to stage 2
    (cfg.stage2); its optimizer moments and binding heads are taken when the folder has them
    (a checkpoint), else they start afresh. Only used when the run has no checkpoint yet."""
    if refine_vision and init_from is None:
        raise ValueError("refine_vision continues the vision side of init_from; give init_from")
    if continue_from is not None and init_from is not None:
        raise ValueError("give init_from (vision side only) or continue_from (the whole model), not both")
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if continue_from is not None:  # also when resuming such a run: its architecture is the source's
        continue_from = Path(continue_from)
        if not (continue_from / "model.safetensors").exists() or not (continue_from / "config.json").exists():
            raise ValueError(f"continue_from {continue_from}: needs a model folder with config.json and "
                             "model.safetensors")
        # the architecture is the continued model's own; the tokenizer ids are set again below
        cfg.model = FO1Config.from_json_file(continue_from / "config.json")
        tok_dir = run_dir / "tokenizer"
        if not (tok_dir / "tokenizer.json").exists():
            load_tokenizer(continue_from).save_pretrained(str(tok_dir))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t_start = time.time()
    (run_dir / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    logger.info("train config: %s", json.dumps(cfg.to_dict()))

    pool_dir = Path(pool_dir) if pool_dir else run_dir / "pool"
    t0 = time.time()
    build_pool(pool_dir, cfg.training_seeds(), cfg.scene, workers=cfg.pool_workers,
               use_proposer=cfg.use_proposer)
    pool = FramePool(pool_dir)
    heldout = None
    if cfg.stage0.heldout_frames:  # stage 0 reports its heads' accuracy on frames it never sees
        seeds = list(range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + cfg.stage0.heldout_frames))
        heldout = FramePool(build_pool(run_dir / "heldout_pool", seeds, cfg.scene, workers=cfg.pool_workers,
                                       use_proposer=False))
    t_pool = time.time() - t0

    tok_dir = run_dir / "tokenizer"
    if (tok_dir / "tokenizer.json").exists():
        tokenizer = load_tokenizer(tok_dir)
    else:
        tokenizer = build_tokenizer(pool, cfg)
        tokenizer.save_pretrained(str(tok_dir))
    prompts = PromptBuilder(tokenizer)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                                                           "<|video_pad|>", "<|im_end|>", "<|endoftext|>")}
    mcfg = FO1Config.from_dict({
        **cfg.model.to_dict(),
        "text": {**cfg.model.text.to_dict(), "vocab_size": len(tokenizer), "eos_token_id": ids["<|im_end|>"],
                 "pad_token_id": ids["<|endoftext|>"], "bos_token_id": None},
        "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
        "image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"]})
    assert all(t in tokenizer.get_vocab() for t in SPECIAL_TOKENS)

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
    state = {"stage": 0, "step": 0, "elapsed_s": 0.0, "history": []}
    ckpt = run_dir / "checkpoint"

    def load_weights(folder: Path) -> list[str]:
        """Model weights, and the binding heads / optimizer moments where `folder` has them."""
        load_state_dict_checked(model, folder)
        taken = ["weights"]
        if (folder / "binding_heads.pt").exists():
            binding_heads.load_state_dict(torch.load(folder / "binding_heads.pt", weights_only=True,
                                                     map_location=device))
            taken.append("binding heads")
        if (folder / "optimizer.pt").exists():
            try:
                opt.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True, map_location=device))
                taken.append("optimizer moments")
            except ValueError as e:  # a checkpoint written before the binding heads existed
                logger.warning("optimizer state not restored (%s); moments restart", e)
        return taken

    if (ckpt / "trainer_state.json").exists():
        load_weights(ckpt)
        state = json.loads((ckpt / "trainer_state.json").read_text())
        logger.info("resumed from %s at stage %d step %d", ckpt, state["stage"], state["step"])
        sys.stderr.write(f"resumed at stage {state['stage']} step {state['step']}\n")
    elif continue_from is not None:
        taken = load_weights(continue_from)
        state["stage"] = 2
        state["history"].append({"stage": 2, "continue_from": str(continue_from), "taken": taken})
        sys.stderr.write(f"stages 0-1 skipped: continuing {continue_from} ({', '.join(taken)}) with stage 2\n")
    elif init_from is not None:
        n = init_vision_from(model, init_from)
        state["history"].append({"stage": 0, "init_from": str(init_from), "tensors": n,
                                 "refined_steps": cfg.stage0.steps if refine_vision else 0})
        if refine_vision:
            sys.stderr.write(f"stage 0 continues from {n} encoder/projector tensors of {init_from}\n")
        else:
            state["stage"] = 1
            sys.stderr.write(f"stage 0 skipped: {n} encoder/projector tensors taken from {init_from}\n")

    def save_checkpoint():
        tmp = run_dir / "checkpoint.tmp"
        save_model(model, tmp, tokenizer)
        torch.save(opt.state_dict(), tmp / "optimizer.pt")
        torch.save(binding_heads.state_dict(), tmp / "binding_heads.pt")
        (tmp / "trainer_state.json").write_text(json.dumps(state))
        if ckpt.exists():
            import shutil

            shutil.rmtree(ckpt)
        tmp.rename(ckpt)

    if state["stage"] == 0:
        t0 = time.time()
        if cfg.stage0.steps:
            state["history"] += [{"stage": 0, **h} for h in pretrain_vision(model, pool, cfg.stage0, cfg.seed, logger,
                                                                              heldout)]
        state["elapsed_s"] += time.time() - t0
        state["stage"], state["step"] = 1, 0
        save_checkpoint()
    stages = {1: cfg.stage1, 2: cfg.stage2}
    while state["stage"] <= 2:
        stage = stages[state["stage"]]
        if stage.seed_previous_token_head and state["step"] == 0:
            seed_previous_token_head(model)
            sys.stderr.write(f"stage {state['stage']}: layer 0 head 0 seeded as a previous-token head\n")
        losses: list[float] = []
        task_losses: dict[str, list] = {}
        t_log, n_log = time.time(), 0
        loader = BatchLoader(pool, prompts, mcfg, cfg, state["stage"], stage, cfg.data_workers)
        for _, examples in loader.batches(state["step"], stage.steps):
            lr = _lr(stage, state["step"])
            for g in opt.param_groups:
                g["lr"] = lr * (stage.vision_lr_scale if g.get("vision") else 1.0)
            if stage.binding_loss > 0 or stage.attention_loss > 0 or stage.pointer_loss > 0:
                parts = forward_examples(model, examples, task_losses,
                                         binding_heads if stage.binding_loss > 0 else None,
                                         stage.attention_loss > 0 or stage.pointer_loss > 0)
                answer_loss = parts["answer"]
                loss = (answer_loss + stage.binding_loss * parts["binding"] + stage.attention_loss * parts["attention"]
                        + stage.pointer_loss * parts["pointer"])
            else:
                loss = answer_loss = forward_examples(model, examples, task_losses)
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
                dt = time.time() - t_log
                state["elapsed_s"] += dt
                rate = n_log / max(dt, 1e-9)
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
                t_log, n_log = time.time(), 0
            if state["step"] % cfg.checkpoint_every == 0:
                save_checkpoint()
        sys.stderr.write("\n")
        state["stage"] += 1
        state["step"] = 0
        save_checkpoint()

    model.eval()
    # float16 storage keeps the shipped model under the repository's 20 MB budget; it loads into float32
    save_model(model, out_dir, tokenizer, dtype=torch.float16)
    info = {"train_config": cfg.to_dict(), "pool_seconds": t_pool, "train_seconds": state["elapsed_s"],
            "wall_seconds_this_run": time.time() - t_start, "final_losses": state["history"][-4:],
            "training_seeds": [cfg.first_seed, cfg.first_seed + cfg.n_frames - 1], "torch": torch.__version__}
    (out_dir / "training_info.json").write_text(json.dumps(info, indent=2))
    return out_dir


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


def _count(least: int):
    """argparse type: an integer >= least."""
    def parse(text: str) -> int:
        n = int(text)
        if n < least:
            raise argparse.ArgumentTypeError(f"needs an integer >= {least}, got {n}")
        return n
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fo1-ros train", description="Train the default FO1 model on synthetic data.")
    parser.add_argument("--run-dir", default="runs/default", help="checkpoints, frame pool, logs (resumable)")
    parser.add_argument("--out", default=None, help="final model folder (default: fo1_ros/assets/default_model, "
                                                     "the shipped model; required with --export-checkpoint)")
    parser.add_argument("--pool-dir", default=None, help="frame pool folder (default: RUN_DIR/pool)")
    parser.add_argument("--config", default=None, help="JSON file with TrainConfig fields to override")
    parser.add_argument("--frames", type=int, default=None, help="override n_frames")
    parser.add_argument("--stage1-steps", type=int, default=None)
    parser.add_argument("--stage2-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--no-proposer", action="store_true", help="train on jittered GT boxes + distractors only")
    parser.add_argument("--device", default=None, help="auto (CUDA when present), cpu or cuda[:N] (default: config)")
    parser.add_argument("--pool-workers", type=_count(1), default=None, help="processes rendering the frame pool")
    parser.add_argument("--data-workers", type=_count(0), default=None,
                        help="processes making batches ahead of the model (0 = inline)")
    parser.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                        help="skip stage 0: take the encoders and projectors of this model folder, train the "
                             "language model afresh (a new run only)")
    parser.add_argument("--continue-from", default=None, metavar="MODEL_DIR",
                        help="skip stages 0-1: start stage 2 from every weight and the tokenizer of this model "
                             "folder or checkpoint (a new run only; see also first_seed in --config)")
    parser.add_argument("--refine-vision", action="store_true",
                        help="with --init-from: run stage 0 from those encoders instead of skipping it")
    parser.add_argument("--stage0-steps", type=_count(0), default=None,
                        help="override stage0.steps (vision pretraining)")
    parser.add_argument("--export-checkpoint", action="store_true",
                        help="train nothing: write RUN_DIR's last checkpoint (e.g. of a run cut short) to --out as "
                             "a model folder")
    args = parser.parse_args(argv)
    if args.export_checkpoint:
        if args.out is None:
            parser.error("--export-checkpoint needs --out MODEL_DIR "
                         "(it will not overwrite the shipped model by default)")
        try:
            out = export_checkpoint(args.run_dir, args.out)
        except (FileNotFoundError, ValueError) as e:
            parser.error(str(e))
        print(f"model written to {out}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    over = json.loads(Path(args.config).read_text()) if args.config else {}
    cfg = TrainConfig(**over)
    if args.frames:
        cfg.n_frames = args.frames
    if args.refine_vision and not args.init_from:
        parser.error("--refine-vision continues the vision side of --init-from; give --init-from MODEL_DIR")
    if args.stage0_steps is not None:
        cfg.stage0.steps = args.stage0_steps
    if args.stage1_steps is not None:
        cfg.stage1.steps = args.stage1_steps
    if args.stage2_steps is not None:
        cfg.stage2.steps = args.stage2_steps
    if args.batch_size:
        cfg.batch_size = args.batch_size
    if args.no_proposer:
        cfg.use_proposer = False
    if args.device:
        cfg.device = args.device
    if args.pool_workers is not None:
        cfg.pool_workers = args.pool_workers
    if args.data_workers is not None:
        cfg.data_workers = args.data_workers
    try:
        cfg.torch_device()  # before the pool is rendered
    except ValueError as e:
        parser.error(str(e))
    if args.continue_from and args.init_from:
        parser.error("--continue-from takes the whole model, --init-from its vision side: give one")
    out = train(cfg, args.run_dir, args.out or "fo1_ros/assets/default_model", args.pool_dir, args.init_from,
                args.refine_vision, args.continue_from)
    print(f"model written to {out}")
    return 0
