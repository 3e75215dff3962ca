"""The model core reproduces the reference VLM-FO1 implementation stage by stage.

Vector sets are folders holding a tiny official-format checkpoint (config.json +
model.safetensors) and `vectors.safetensors` with the reference's inputs and outputs
(`test/fixtures/fo1-vectors/README.md`). They are found in `test/fixtures/fo1-vectors/` (set
`A`, kept in the repository so that a clone alone runs these tests), in `$FO1_VECTORS_DIR`
(folders or parents of folders, ':'-separated) and in `../shared/reference/fo1-vectors/` beside
the repository; a set found twice (same `vectors.safetensors`) runs once. Each set is loaded
unchanged with our loader and every tensor is compared. Without any set the test skips, and
fails in the test set-up (`test/setup_mode.py`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fo1_ros.model.checkpoint import load_model
from fo1_ros.model.modeling import EncodedFrame
from fo1_ros.model.processing import aux_pixel_values, primary_pixel_values
from test.setup_mode import unavailable

REPO = Path(__file__).resolve().parents[2]


FIXTURE_VECTORS = REPO / "test" / "fixtures" / "fo1-vectors"


def _vector_sets() -> list[Path]:
    """Vector-set folders, the repository's own first; each distinct set once."""
    roots = [FIXTURE_VECTORS]
    roots += [Path(p) for p in os.environ.get("FO1_VECTORS_DIR", "").split(":") if p]
    roots.append(REPO.parent / "shared" / "reference" / "fo1-vectors")
    found: dict[str, Path] = {}
    for root in roots:
        candidates = [root] + (sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else [])
        for c in candidates:
            if (c / "vectors.safetensors").is_file() and (c / "config.json").is_file():
                digest = hashlib.sha256((c / "vectors.safetensors").read_bytes()).hexdigest()
                found.setdefault(digest, c)
    return list(found.values())


VECTOR_SETS = _vector_sets()


def _close(actual: torch.Tensor, expected: torch.Tensor) -> str | None:
    if tuple(actual.shape) != tuple(expected.shape):
        return f"shape {tuple(actual.shape)} != expected {tuple(expected.shape)}"
    if not expected.is_floating_point():
        return None if torch.equal(actual.to(expected.dtype), expected) else "integer values differ"
    try:
        torch.testing.assert_close(actual.float(), expected.float(), rtol=1e-4, atol=1e-4)
    except AssertionError as e:
        return str(e).splitlines()[0] + f" (max abs diff {(actual.float() - expected.float()).abs().max():.3g})"
    return None


def _run_stages(folder: Path, attn: str) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Run our model on the set's inputs; return (stage, ours, reference) in pipeline order."""
    v = load_file(str(folder / "vectors.safetensors"))
    model = load_model(folder, attn_implementation=attn)
    cfg = model.config
    stages = []
    rgb = v["input.image_rgb"].numpy()
    pv, grid = primary_pixel_values(rgb, cfg.vision.patch_size, cfg.vision.spatial_merge_size,
                                    cfg.vision.temporal_patch_size, cfg.image_min_pixels, cfg.image_max_pixels)
    stages += [("preprocess.grid_thw", grid, v["input.image_grid_thw"]),
               ("preprocess.pixel_values", pv, v["input.pixel_values"])]
    aux = aux_pixel_values(rgb, v["input.aux_pixel_values"].shape[-1])
    stages.append(("preprocess.aux_pixel_values", aux, v["input.aux_pixel_values"]))
    # From here on the reference's own inputs are used, so each stage is checked in isolation.
    pv, grid, aux = v["input.pixel_values"], v["input.image_grid_thw"], v["input.aux_pixel_values"][None]
    with torch.no_grad():
        image_tokens, levels = model.encode_images(pv, grid, return_levels=True)
        stages += [(f"vit_level{i}", lvl, v[f"out.vit_level{i}"]) for i, lvl in enumerate(levels[0])
                   if f"out.vit_level{i}" in v]
        stages.append(("image_tokens", image_tokens[0], v["out.image_tokens"]))
        maps = model.model.vision_tower_aux(aux)
        stages += [(f"davit_stage{i}", m, v[f"out.davit_stage{i}"]) for i, m in enumerate(maps)]
        obj, feats = model.encode_regions(aux, [v["input.boxes_aux_xyxy"]], levels, grid, return_features=True)
        stages += [("region_features", feats[0][None], v["out.region_features"]),
                   ("object_tokens", obj[0], v["out.object_tokens"])]
        frame = EncodedFrame(image_tokens[0], obj[0], grid[0])
        batch = model.splice([v["input.input_ids"][0]], [frame])
        stages += [("inputs_embeds", batch.inputs_embeds, v["out.inputs_embeds"]),
                   ("position_ids", batch.position_ids, v["out.position_ids"])]
        out = model(batch.inputs_embeds, batch.position_ids, batch.attention_mask)
        stages.append(("logits", out.logits, v["out.logits"]))
        n_new = v["out.generated_ids"].shape[1] - v["input.input_ids"].shape[1]
        # The reference generated a fixed number of tokens; stop ids are disabled to compare them all.
        gen = model.generate(batch, n_new, stop_token_ids=[])
        stages.append(("generated_ids", torch.cat([v["input.input_ids"], gen.sequences], dim=1),
                       v["out.generated_ids"]))
    return stages


# RoIAlign runs on both backends (the `backend` fixture: plain torch, and torchvision.ops, which
# the model uses on GPUs); the attention implementation does not touch RoIAlign, so one suffices there.
@pytest.mark.parametrize("attn, backend", [("eager", "torch"), ("sdpa", "torch"), ("sdpa", "torchvision")],
                         indirect=["backend"])
@pytest.mark.parametrize("folder", VECTOR_SETS or [None], ids=[p.name for p in VECTOR_SETS] or ["none-found"])
def test_reference_vectors_match_every_stage(folder: Path | None, attn: str, backend: str):
    if folder is None:
        unavailable("the reference vectors", f"no vector set in {FIXTURE_VECTORS}, $FO1_VECTORS_DIR or "
                    f"{REPO.parent / 'shared' / 'reference' / 'fo1-vectors'}")
    failures = []
    for name, ours, ref in _run_stages(folder, attn):
        problem = _close(ours, ref)
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, f"{folder.name} ({attn}, {backend}): first diverging stage is {failures[0]}; all: {failures}"
