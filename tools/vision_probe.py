"""How much do a model's region features say about each object? (linear probe, issue 4)

The vision side of a model is frozen; fresh linear heads (`vision_pretrain.RegionHeads`) are fitted
on the region features of scenes no training run uses (seeds 950 000.., ground-truth boxes with
stage 0's jitter) and scored, with exact boxes, on two sets the heads never saw: training scenes
(seeds 0.., which the encoders were trained on) and held-out scenes (seeds 900 000.., which stage 0
reports on). A gap between the two is what the encoders memorised of their training frames rather
than learned. About three minutes per model on this CPU.

    python tools/vision_probe.py MODEL_DIR [MODEL_DIR ...] [--fit-frames 400] [--test-frames 100]
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import numpy as np
import torch

from fo1_ros.model.checkpoint import load_model
from fo1_ros.synth import make_scene
from fo1_ros.train.config import VALIDATION_SEED_BASE
from fo1_ros.train.vision_pretrain import (
    ATTRIBUTES,
    RegionHeads,
    VisionPretrainConfig,
    attribute_hits,
    attribute_targets,
    heads_loss,
    region_features,
)


@torch.no_grad()
def features(model, seeds: list[int], jitter_seed: int | None, cfg: VisionPretrainConfig):
    """(N, D_region) features and their objects for the visible objects of scenes `seeds`."""
    rng = None if jitter_seed is None else np.random.default_rng(jitter_seed)
    feats, objs = [], []
    for k in range(0, len(seeds), 8):
        scenes = [make_scene(s) for s in seeds[k:k + 8]]
        f, o = region_features(model, [SimpleNamespace(rgb=s.rgb, scene=s) for s in scenes], rng, cfg)
        if f is not None:
            feats.append(f)
            objs += o
        sys.stderr.write(f"\r  features of {min(k + 8, len(seeds))}/{len(seeds)} scenes")
    sys.stderr.write("\n")
    return torch.cat(feats), objs


def accuracy(heads: RegionHeads, feats: torch.Tensor, objs) -> dict[str, float]:
    with torch.no_grad():
        logits, tgt = heads(feats), attribute_targets(objs)
    out = {k: float(hit.float().mean()) for k, hit in attribute_hits(logits, tgt).items()}
    has = tgt["has_text"] == 1  # characters right one by one ('' past the end of the text counts too)
    out["text_char"] = float((logits["chars"].argmax(-1)[has] == tgt["chars"][has]).float().mean())
    return out


FIT_SEED_BASE = 950_000  # between the held-out seeds of stage 0 and the evaluation seeds (1 000 000..)


def probe(model_dir: str, n_fit: int, n_test: int, steps: int) -> tuple[dict, dict]:
    """(accuracy on training scenes, accuracy on held-out scenes) of linear heads fitted on other scenes."""
    model = load_model(model_dir).float().eval()
    cfg = VisionPretrainConfig(max_objects=12)
    fit_f, fit_o = features(model, list(range(FIT_SEED_BASE, FIT_SEED_BASE + n_fit)), 0, cfg)
    seen_f, seen_o = features(model, list(range(n_test)), None, cfg)
    test_f, test_o = features(model, list(range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + n_test)), None, cfg)
    torch.manual_seed(0)
    heads = RegionHeads(fit_f.shape[1])
    mean, std = fit_f.mean(0), fit_f.std(0) + 1e-6  # standardised inputs: one learning rate fits every model
    fit_f, seen_f, test_f = (fit_f - mean) / std, (seen_f - mean) / std, (test_f - mean) / std
    opt = torch.optim.AdamW(heads.parameters(), lr=3e-3, weight_decay=1e-2)
    tgt = attribute_targets(fit_o)
    for _ in range(steps):  # full batch: a few thousand vectors
        loss = heads_loss(heads(fit_f), tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return accuracy(heads, seen_f, seen_o), accuracy(heads, test_f, test_o)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--fit-frames", type=int, default=400,
                    help=f"scenes the heads are fitted on (seeds {FIT_SEED_BASE}..)")
    ap.add_argument("--test-frames", type=int, default=100,
                    help=f"scenes of each test set (training seeds 0.., held-out seeds {VALIDATION_SEED_BASE}..)")
    ap.add_argument("--steps", type=int, default=500, help="full-batch steps of the linear heads")
    args = ap.parse_args()
    names = list(ATTRIBUTES) + ["text_char", "text_exact"]
    rows = []
    for m in args.models:
        print(f"probing {m}", file=sys.stderr)
        rows.append((m, *probe(m, args.fit_frames, args.test_frames, args.steps)))
    print(f"{'model':40s} " + " ".join(f"{n:>21s}" for n in names))
    print(f"{'':40s} " + " ".join(f"{'trained-on / held-out':>21s}" for _ in names))
    for m, tr, te in rows:
        print(f"{m[-40:]:40s} " + " ".join(f"{tr[n]:>10.3f} / {te[n]:<8.3f}" for n in names))


if __name__ == "__main__":
    main()
