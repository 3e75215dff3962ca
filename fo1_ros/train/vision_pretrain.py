"""Stage 0: vision pretraining, the stand-in for the pretrained encoders VLM-FO1 starts from.

VLM-FO1 begins with a pretrained Qwen2.5-VL vision transformer and a pretrained Florence-2
DaViT; its two training stages only teach the language side to read region features. No
pretrained weights can be downloaded here, and a language model trained from scratch cannot
bootstrap from random region features: measured, its answers stay at the answer prior for
hundreds of steps while, given clean attribute-coded tokens, it learns to read them within
~150 steps. So, as ImageNet-style pretraining does for real backbones, the two encoders and
the region encoder are first trained as *region classifiers* on synthetic frames: linear
heads on the HFRE region feature predict colour, shape, size class and the printed
characters. The heads then seed the object-token projector (`init_projector_from_heads`) and
are thrown away; stages 1 and 2 use next-token loss on answers only.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..model.modeling import FO1ForCausalLM
from ..model.processing import prepare_frame
from ..synth import CATEGORIES, COLOURS, SIZE_CLASSES, TEXT_ALPHABET

MAX_CHARS = 4
ATTRIBUTES = {"colour": list(COLOURS), "category": list(CATEGORIES), "size_class": list(SIZE_CLASSES),
              "has_text": ["no", "yes"]}
CHAR_CLASSES = ["", *TEXT_ALPHABET]  # '' = no character at this position


@dataclass
class VisionPretrainConfig(Config):
    steps: int = 600
    lr: float = 2e-3
    batch_frames: int = 8
    max_objects: int = 12  # regions per frame (jittered ground-truth boxes)
    jitter: float = 0.05
    warmup: int = 50
    heldout_frames: int = 40  # frames of other seeds the trained heads are scored on at the end (0 = none)

    def __post_init__(self):
        if self.steps < 0 or self.lr <= 0 or self.batch_frames < 1 or self.heldout_frames < 0:
            raise ValueError(f"bad VisionPretrainConfig {self}")


class RegionHeads(nn.Module):
    """Throwaway linear classifiers on region features (D_region) -> attribute logits."""

    def __init__(self, dim: int):
        super().__init__()
        self.heads = nn.ModuleDict({k: nn.Linear(dim, len(v)) for k, v in ATTRIBUTES.items()})
        self.chars = nn.Linear(dim, MAX_CHARS * len(CHAR_CLASSES))

    def forward(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {k: h(feats) for k, h in self.heads.items()}
        out["chars"] = self.chars(feats).view(-1, MAX_CHARS, len(CHAR_CLASSES))  # (N, 4, 37)
        return out


def attribute_targets(objs) -> dict[str, torch.Tensor]:
    """Class indices of the objects' attributes: {name: (N,)}, "chars": (N, MAX_CHARS)."""
    t = {k: torch.tensor([v.index(getattr(o, k) if k != "has_text" else ("yes" if o.text else "no")) for o in objs])
         for k, v in ATTRIBUTES.items()}
    chars = torch.zeros(len(objs), MAX_CHARS, dtype=torch.long)
    for i, o in enumerate(objs):
        for j, c in enumerate(o.text[:MAX_CHARS]):
            chars[i, j] = CHAR_CLASSES.index(c)
    t["chars"] = chars
    return t


def heads_loss(logits: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed cross-entropy of RegionHeads `logits` against `attribute_targets` (computed in float32)."""
    loss = sum(F.cross_entropy(logits[k].float(), tgt[k]) for k in ATTRIBUTES)
    return loss + F.cross_entropy(logits["chars"].float().reshape(-1, len(CHAR_CLASSES)), tgt["chars"].reshape(-1))


@torch.no_grad()
def attribute_hits(logits: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Which predictions are right: {attribute: (N,) bool, "text_exact": (M,) bool for the M objects
    with text (every character right)}."""
    hits = {k: logits[k].argmax(-1) == tgt[k] for k in ATTRIBUTES}
    has = tgt["has_text"] == 1
    hits["text_exact"] = (logits["chars"].argmax(-1)[has] == tgt["chars"][has]).all(-1)
    return hits


def _jitter(b: np.ndarray, rng: np.random.Generator, frac: float) -> np.ndarray:
    w, h = b[2] - b[0], b[3] - b[1]
    out = b + rng.normal(0, frac, 4) * np.array([w, h, w, h])
    out[2], out[3] = max(out[2], out[0] + 2), max(out[3], out[1] + 2)
    return out


@torch.no_grad()
def init_projector_from_heads(model: FO1ForCausalLM, heads: RegionHeads) -> int:
    """Start `mm_projector_aux` from the attribute heads: its first units become the heads'
    logits (colour, shape, size, text flag, characters) and, for an MLP projector, the last
    layer starts as the identity. Object tokens then begin as clean attribute codes — the
    measured condition under which a from-scratch language model learns to read them quickly.
    Returns how many units were initialised this way."""
    proj = model.model.mm_projector_aux
    linears = [m for m in proj.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return 0  # identity projector: nothing to initialise
    first, last = linears[0], linears[-1]
    W = torch.cat([h.weight for h in heads.heads.values()] + [heads.chars.weight])  # (K, D_region)
    b = torch.cat([h.bias for h in heads.heads.values()] + [heads.chars.bias])
    k = min(W.shape[0], first.out_features)
    first.weight[:k] = W[:k].to(first.weight.dtype)
    first.bias[:k] = b[:k].to(first.bias.dtype)
    if last is not first and last.in_features == last.out_features:
        last.weight.copy_(torch.eye(last.out_features, dtype=last.weight.dtype))
        last.bias.zero_()
    return k


def region_features(model: FO1ForCausalLM, frames, rng: np.random.Generator | None, cfg: VisionPretrainConfig):
    """Region features of `frames`' visible objects: ((N, D_region) features, their objects).
    rng jitters the boxes and samples at most cfg.max_objects per frame; None = every visible
    object, exact boxes."""
    dev = model.device
    inputs, objs_all = [], []
    for frame in frames:
        objs = [o for o in frame.scene.objects if o.visible_pixels > 30]
        if rng is not None:
            objs = [objs[i] for i in rng.permutation(len(objs))[:cfg.max_objects]]
        if not objs:
            continue
        boxes = np.array([_jitter(np.asarray(o.box_2d, float), rng, cfg.jitter) if rng is not None
                          else np.asarray(o.box_2d, float) for o in objs])
        inputs.append(prepare_frame(frame.rgb, boxes, model.config))
        objs_all += objs
    if not inputs:
        return None, []
    pv = torch.cat([i.pixel_values for i in inputs]).to(dev)
    grid = torch.cat([i.grid_thw for i in inputs]).to(dev)
    aux = torch.cat([i.aux_pixel_values for i in inputs]).to(dev)
    _, levels = model.encode_images(pv, grid, return_levels=model.config.mm_use_vision_tower_region_feature)
    _, feats = model.encode_regions(aux, [i.boxes_aux.to(dev) for i in inputs], levels, grid, return_features=True)
    return torch.cat(feats), objs_all


@torch.no_grad()
def heldout_accuracy(model: FO1ForCausalLM, heads: RegionHeads, frames, cfg: VisionPretrainConfig,
                     chunk: int = 8) -> dict[str, float]:
    """Accuracy of `heads` on every visible object of `frames` (exact ground-truth boxes):
    {attribute: fraction right, "text_exact": all characters right, on objects with text}."""
    right: dict[str, list[float]] = {}
    frames = list(frames)
    for k in range(0, len(frames), chunk):
        feats, objs = region_features(model, frames[k:k + chunk], None, cfg)
        if feats is None:
            continue
        tgt = {name: v.to(feats.device) for name, v in attribute_targets(objs).items()}
        for name, hit in attribute_hits(heads(feats), tgt).items():
            right.setdefault(name, []).extend(hit.float().tolist())
    return {name: round(float(np.mean(v)), 3) if v else float("nan") for name, v in right.items()}


def pretrain_vision(model: FO1ForCausalLM, pool, cfg: VisionPretrainConfig, seed: int = 0, log=None,
                    heldout=None) -> list[dict]:
    """Train the encoders + region encoder of `model` in place as region classifiers, then start
    the object-token projector from the trained heads (`init_projector_from_heads`).

    heldout: frames never trained on (e.g. a FramePool of other seeds); when given, the last
    history entry holds the heads' accuracy on them ("heldout_acc", `heldout_accuracy`)."""
    rng = np.random.default_rng([seed, 0])
    dev = model.device
    heads = RegionHeads(model.config.region_hidden_size).to(dev)
    params = [p for n, p in model.named_parameters()
              if n.startswith(("model.vision_tower.", "model.vision_tower_aux.", "model.object_vp_extractor."))]
    opt = torch.optim.AdamW([{"params": params}, {"params": heads.parameters()}], lr=cfg.lr, weight_decay=0.01)
    history, t0, n_frames = [], time.time(), 0
    acc_hist: dict[str, list[float]] = {}
    for step in range(cfg.steps):
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / cfg.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        frames = []
        while len(frames) < cfg.batch_frames:
            frame = pool[int(rng.integers(len(pool)))]
            if any(o.visible_pixels > 30 for o in frame.scene.objects):
                frames.append(frame)
        feats, objs_all = region_features(model, frames, rng, cfg)
        logits = heads(feats)
        tgt = {k: v.to(dev) for k, v in attribute_targets(objs_all).items()}
        loss = heads_loss(logits, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params + list(heads.parameters()), 1.0)
        opt.step()
        n_frames += len(frames)
        for k, hit in attribute_hits(logits, tgt).items():
            if len(hit):
                acc_hist.setdefault(k, []).append(float(hit.float().mean()))
        if (step + 1) % 25 == 0 or step + 1 == cfg.steps:
            accs = {k: round(float(np.mean(v[-25:])), 3) for k, v in acc_hist.items()}
            rate = n_frames / (time.time() - t0)
            history.append({"step": step + 1, "loss": float(loss.detach()), "acc": accs})
            line = (f"\r[stage 0: vision pretraining] step {step + 1}/{cfg.steps} "
                    f"loss {float(loss.detach()):.3f} acc {accs} {rate:.1f} frames/s   ")
            sys.stderr.write(line)
            sys.stderr.flush()
            if log is not None:
                log.info("stage 0 step %d loss %.4f acc %s", step + 1, float(loss.detach()), accs)
    sys.stderr.write("\n")
    if heldout is not None and history:
        was = model.training
        model.eval()
        heads.eval()
        acc = heldout_accuracy(model, heads, (heldout[i] for i in range(len(heldout))), cfg)
        model.train(was)
        history[-1]["heldout_acc"] = acc
        sys.stderr.write(f"stage 0 held-out accuracy ({len(heldout)} frames, exact boxes): {acc}\n")
        if log is not None:
            log.info("stage 0 held-out accuracy %s", acc)
    k = init_projector_from_heads(model, heads)
    if log is not None:
        log.info("object-token projector: %d units start from the attribute heads", k)
    return history
