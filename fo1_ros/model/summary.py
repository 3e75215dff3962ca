"""Print a model preset's parameter counts and official key prefixes without allocating weights.

    python -m fo1_ros.model.summary --preset fo1-3b
    python -m fo1_ros.model.summary --model path/to/folder

The model is built on PyTorch's meta device, so even the 4 B-parameter `fo1-3b` costs no memory.
`summarise(model)` is the library call; `main` is the `python -m` command. (The module was
`model/inspect.py`, renamed so that it no longer shadows the standard library's `inspect`.)
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, OrderedDict

import torch

from .checkpoint import internal_to_official
from .config import PRESETS, FO1Config, preset
from .modeling import FO1ForCausalLM

# Modules reported one by one (official names).
MODULES = OrderedDict([
    ("model.vision_tower", "Qwen2.5-VL vision transformer + merger"),
    ("model.mm_projector", "image-token projector"),
    ("model.vision_tower_aux", "DaViT auxiliary encoder"),
    ("model.object_vp_extractor", "HFRE region encoder (norms / SimpleFP)"),
    ("model.mm_projector_aux", "object-token projector"),
    ("model.embed_tokens", "token embeddings"),
    ("model.layers", "language-model decoder layers"),
    ("model.norm", "final norm"),
    ("lm_head", "output head"),
])


def build_meta(cfg: FO1Config) -> FO1ForCausalLM:
    with torch.device("meta"):
        return FO1ForCausalLM(cfg)


def summarise(model: FO1ForCausalLM) -> dict:
    """Parameter counts per module, total (tied weights counted once) and key prefixes."""
    counts: Counter = Counter()
    seen: set[int] = set()
    total = 0
    for name, p in model.named_parameters(remove_duplicate=False):
        official = internal_to_official(name)
        module = next((m for m in MODULES if official == m or official.startswith(m + ".")), "other")
        if id(p) in seen:
            continue  # a tied lm_head shares the embedding matrix
        seen.add(id(p))
        counts[module] += p.numel()
        total += p.numel()
    cfg = model.config
    tied = cfg.text.tie_word_embeddings
    prefixes = sorted({re.sub(r"\.\d+$", ".{i}", ".".join(internal_to_official(k).split(".")[:3]))
                       for k in model.state_dict() if not (tied and k == "lm_head.weight")})
    return {
        "total_parameters": total,
        "per_module": {m: counts.get(m, 0) for m in list(MODULES) + (["other"] if counts.get("other") else [])},
        "region_hidden_size": cfg.region_hidden_size,
        "tie_word_embeddings": tied,
        "key_prefixes": prefixes,
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m fo1_ros.model.summary``: parse, build on the meta device, print a table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=PRESETS)
    src.add_argument("--model", help="a model folder with config.json")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    cfg = preset(args.preset) if args.preset else FO1Config.from_json_file(f"{args.model}/config.json")
    info = summarise(build_meta(cfg))
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"{'module':32s} {'parameters':>16s}  description")
    for m, n in info["per_module"].items():
        print(f"{m:32s} {n:16,d}  {MODULES.get(m, '')}")
    print(f"{'total':32s} {info['total_parameters']:16,d}  (tied weights counted once)")
    print(f"region feature width (mm_region_hidden_size): {info['region_hidden_size']}")
    if info["tie_word_embeddings"]:
        print("lm_head is tied to model.embed_tokens (not stored separately)")
    print("top-level key prefixes:")
    for p in info["key_prefixes"]:
        print(f"  {p}")


if __name__ == "__main__":
    main()
