"""Training-step cost of the attention losses' attention path: eager vs HEAD_PROBS_ATTENTION.

Stages 1-2 supervise three (layer, head) slots with the attention and pointer losses. Eager
attention gives their probabilities by materialising every head of every layer;
HEAD_PROBS_ATTENTION (fo1_ros/train/attention.py) runs SDPA and computes only the supervised
heads. This times forward + backward of real stage-2 batches (the shipped model's shape and
tokenizer, packed questions on full proposal lists) for both, and plain SDPA without the
attention losses as the floor, interleaved in one process; prints medians and ratios to eager.

    python benchmarks/bench_train_attention.py [--model DIR] [--pool DIR] [--batches 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from fo1_ros.model.checkpoint import load_model
from fo1_ros.model.prompt import PromptBuilder
from fo1_ros.model.tokenizer import load_tokenizer
from fo1_ros.train.attention import HEAD_PROBS_ATTENTION
from fo1_ros.train.batching import forward_examples, stage_example
from fo1_ros.train.config import TrainConfig
from fo1_ros.train.pool import FramePool, build_pool
from fo1_ros.train.vision_pretrain import RegionHeads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fo1_ros/assets/default_model", help="model folder (shape and tokenizer)")
    ap.add_argument("--pool", default="", help="a built frame pool (with proposals); '' renders 24 frames")
    ap.add_argument("--batches", type=int, default=6, help="distinct stage-2 batches")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the batches per variant")
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = TrainConfig()
    tokenizer = load_tokenizer(args.model)
    prompts = PromptBuilder(tokenizer)
    if args.pool:
        pool = FramePool(args.pool)
    else:
        tmp = tempfile.mkdtemp(prefix="fo1_bench_pool_")
        pool = FramePool(build_pool(tmp, list(range(24)), cfg.scene))
    variants = {  # name: (attn_implementation, attention losses on)
        "eager": ("eager", True),
        "sdpa + supervised heads": (HEAD_PROBS_ATTENTION, True),
        "sdpa, no attention loss": ("sdpa", False),
    }
    models = {name: load_model(args.model, attn_implementation=impl).train() for name, (impl, _) in variants.items()}
    heads = RegionHeads(next(iter(models.values())).config.text.hidden_size)
    mcfg = next(iter(models.values())).config
    batches = [[stage_example(pool, prompts, mcfg, cfg, 2, cfg.stage2, step, i) for i in range(cfg.batch_size)]
               for step in range(args.batches)]
    n_tokens = statistics.mean(sum(len(e.prefix) + sum(len(s[0]) for s in e.segments) for e in b) for b in batches)
    times: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, float] = {}
    for rep in range(args.repeats + 1):  # the first pass warms up and is not timed
        for b, batch in enumerate(batches):
            for name, (_, attention) in variants.items():
                model = models[name]
                model.zero_grad(set_to_none=True)
                t0 = time.perf_counter()
                out = forward_examples(model, batch, binding_heads=heads, attention=attention)
                loss = out["answer"] + out["binding"] + out["attention"] + out["pointer"]
                loss.backward()
                dt = time.perf_counter() - t0
                if rep:
                    times[name].append(dt)
                if rep == 0 and b == 0:
                    losses[name] = float(loss.detach())
    print(f"{args.batches} stage-2 batches of {cfg.batch_size} frames (~{n_tokens:.0f} text+image tokens each "
          f"before the image expands), {args.repeats} timed passes, forward + backward, "
          f"{torch.get_num_threads()} threads")
    base = statistics.median(times["eager"])
    for name in variants:
        med = statistics.median(times[name])
        print(f"  {name:26s} median {med * 1000:7.0f} ms/batch  ratio to eager {med / base:.3f}  "
              f"(first batch loss {losses[name]:.4f})")


if __name__ == "__main__":
    main()
