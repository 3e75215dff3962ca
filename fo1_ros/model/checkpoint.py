"""Checkpoint I/O in the official VLM-FO1 format: safetensors + config.json + tokenizer files.

The module tree already carries the official names everywhere except inside the DaViT, where
transformers' `Florence2VisionBackbone` names six things differently from FO1's DaViT
(reference §7). `official_to_internal` / `internal_to_official` are that one explicit name map,
both ways; loading applies it, saving writes official names, so folders round-trip with the
reference implementation.

Loading checks every key and shape before copying anything and reports missing, unexpected
and mis-shaped keys together. Only safetensors are read: pickle-based `*.bin`/`*.pt` files can
execute code and are refused.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import FO1Config
from .modeling import FO1ForCausalLM

logger = logging.getLogger(__name__)

AUX_PREFIX = "model.vision_tower_aux.image_tower."

# FO1 (original Florence-2 DaViT) name -> transformers Florence2VisionBackbone name, applied in order.
_TO_INTERNAL = [
    (re.compile(r"^(convs\.\d+)\.proj\."), r"\1.conv."),
    (re.compile(r"\.(conv[12])\.fn\.dw\."), r".\1."),
    (re.compile(r"\.(window_attn|channel_attn)\.norm\."), r".norm1."),
    (re.compile(r"\.(window_attn|channel_attn)\.fn\."), r".\1."),
    (re.compile(r"\.ffn\.norm\."), r".norm2."),
    (re.compile(r"\.ffn\.fn\.net\."), r".ffn."),
]
# and back; `norm1` becomes the norm of the block's attention, which depends on the block kind.
_TO_OFFICIAL = [
    (re.compile(r"^(convs\.\d+)\.conv\."), r"\1.proj."),
    (re.compile(r"\.(conv[12])\."), r".\1.fn.dw."),
    (re.compile(r"\.spatial_block\.norm1\."), r".spatial_block.window_attn.norm."),
    (re.compile(r"\.channel_block\.norm1\."), r".channel_block.channel_attn.norm."),
    (re.compile(r"\.(window_attn|channel_attn)\.(?!norm\.)"), r".\1.fn."),
    (re.compile(r"\.norm2\."), r".ffn.norm."),
    (re.compile(r"\.ffn\.(fc[12])\."), r".ffn.fn.net.\1."),
]


class CheckpointError(ValueError):
    """A checkpoint folder does not match the model: names the offending keys/files."""


def official_to_internal(key: str) -> str:
    """Official parameter name -> this module tree's name (identity outside the DaViT)."""
    if not key.startswith(AUX_PREFIX):
        return key
    rest = key[len(AUX_PREFIX):]
    for pattern, repl in _TO_INTERNAL:
        rest = pattern.sub(repl, rest)
    return AUX_PREFIX + rest


def internal_to_official(key: str) -> str:
    """This module tree's parameter name -> official name (inverse of `official_to_internal`)."""
    if not key.startswith(AUX_PREFIX):
        return key
    rest = key[len(AUX_PREFIX):]
    for pattern, repl in _TO_OFFICIAL:
        rest = pattern.sub(repl, rest)
    return AUX_PREFIX + rest


def _safetensors_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text()).get("weight_map", {})
        files = sorted({folder / f for f in weight_map.values()})
    elif (folder / "model.safetensors").exists():
        files = [folder / "model.safetensors"]
    else:  # HF shard naming first; other safetensors in the folder (e.g. test vectors) are not weights
        files = sorted(folder.glob("model*.safetensors")) or sorted(folder.glob("*.safetensors"))
    if not files:
        pickles = sorted(p.name for p in folder.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
        if pickles:
            raise CheckpointError(f"{folder} has only pickle-based weights {pickles}; they can run arbitrary code "
                                  "and are not loaded. Convert them to safetensors on a trusted machine first.")
        raise CheckpointError(f"no *.safetensors weights in {folder}")
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise CheckpointError(f"weight files named in the index are missing: {missing}")
    return files


def _summarise(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return f"{shown}{f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''}"


def load_state_dict_checked(model: FO1ForCausalLM, folder: str | Path) -> None:
    """Load official-named safetensors from `folder` into `model`, verifying keys and shapes first."""
    folder = Path(folder)
    own = model.state_dict()
    tied = model.config.text.tie_word_embeddings
    expected = {k for k in own if not (tied and k == "lm_head.weight")}
    found: dict[str, tuple[Path, str]] = {}  # internal key -> (file, official key)
    for f in _safetensors_files(folder):
        with safe_open(str(f), framework="pt") as sf:
            for key in sf.keys():
                found[official_to_internal(key)] = (f, key)
    if tied and "lm_head.weight" in found:
        # A tied head is the embedding; HF checkpoints may still store it. It is ignored, as HF does.
        found.pop("lm_head.weight")
    missing = sorted(expected - set(found))
    unexpected = sorted(set(found) - expected)
    mis_shaped = []
    for key in sorted(expected & set(found)):
        f, okey = found[key]
        with safe_open(str(f), framework="pt") as sf:
            shape = tuple(sf.get_slice(okey).get_shape())
        if shape != tuple(own[key].shape):
            mis_shaped.append(f"{found[key][1]}: checkpoint {shape} vs model {tuple(own[key].shape)}")
    if missing or unexpected or mis_shaped:
        lines = [f"checkpoint {folder} does not match the model config:"]
        if missing:
            lines.append(f"  missing ({len(missing)}): {_summarise([internal_to_official(k) for k in missing])}")
        if unexpected:
            lines.append(f"  unexpected ({len(unexpected)}): {_summarise([found[k][1] for k in unexpected])}")
        if mis_shaped:
            lines.append(f"  wrong shape ({len(mis_shaped)}): {_summarise(mis_shaped)}")
        raise CheckpointError("\n".join(lines))
    by_file: dict[Path, list[str]] = {}
    for key in expected:
        by_file.setdefault(found[key][0], []).append(key)
    with torch.no_grad():
        for f, keys in by_file.items():
            with safe_open(str(f), framework="pt", device="cpu") as sf:
                for key in keys:
                    own[key].copy_(sf.get_tensor(found[key][1]))


def save_state_dict_official(model: FO1ForCausalLM, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write `model.safetensors` with official names (a tied `lm_head` is not stored twice).

    dtype: store floating-point tensors in this dtype (e.g. float16 to halve the file); None keeps them.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tied = model.config.text.tie_word_embeddings

    def cast(v: torch.Tensor) -> torch.Tensor:
        v = v.detach().cpu()
        return (v.to(dtype) if dtype is not None and v.is_floating_point() else v).contiguous()

    tensors = {internal_to_official(k): cast(v)
               for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    path = folder / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "producer": "fo1_ros"})
    return path


def load_model(folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               attn_implementation: str = "sdpa") -> FO1ForCausalLM:
    """Build the model from `folder/config.json` and load its weights (checked), in eval mode."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    cfg = FO1Config.from_json_file(folder / "config.json")
    model = FO1ForCausalLM(cfg, attn_implementation=attn_implementation)
    load_state_dict_checked(model, folder)
    return model.to(device=device, dtype=dtype).eval()


def save_model(model: FO1ForCausalLM, folder: str | Path, tokenizer=None, dtype: torch.dtype | None = None) -> Path:
    """Save config.json + model.safetensors (+ tokenizer files) in the official layout."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_json(folder / "config.json")
    save_state_dict_official(model, folder, dtype)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(folder))
    return folder
