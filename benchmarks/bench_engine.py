"""Engine speed: shared-prefix mode vs the naive reference mode on the same frames, same process.

    python benchmarks/bench_engine.py                      # shipped model, 100 proposals, 5 tasks
    python benchmarks/bench_engine.py --model DIR --device cuda --repeats 5
    python benchmarks/bench_engine.py --preset fo1-3b --device cuda   # reference size, random weights

With --preset the model is built from a size preset with random weights (timing only: answers are
noise and run to each task's token budget, so decode is a worst case) and the tokenizer, with
its special-token ids, comes from --model (default: the shipped model).

Prints per-stage timings of one frame (median over repeats) for both modes and the ratio
naive/shared; both modes must give the same answers (checked and printed). Numbers depend on
the machine: quote them with the command and the device line this script prints.
"""

from __future__ import annotations

import argparse
import platform
import statistics

import numpy as np
import torch

import fo1_ros.tasks as T
from fo1_ros.engine import Engine, EngineConfig, Frame
from fo1_ros.synth import make_scene


def proposals_100(scene, rng) -> np.ndarray:
    """100 boxes: every object's box plus jittered/random boxes (a realistic full proposal list)."""
    boxes = [o.box_2d for o in scene.objects]
    H, W = scene.height, scene.width
    while len(boxes) < 100:
        if boxes and rng.random() < 0.5:
            b = np.array(boxes[int(rng.integers(len(scene.objects)))], float)
            w, h = b[2] - b[0], b[3] - b[1]
            b = b + rng.normal(0, 0.2, 4) * [w, h, w, h]
        else:
            x, y = rng.uniform(0, W - 40), rng.uniform(0, H - 40)
            b = np.array([x, y, x + rng.uniform(15, 150), y + rng.uniform(15, 120)])
        b = np.clip(b, 0, [W - 2, H - 2, W, H])
        if b[2] - b[0] > 3 and b[3] - b[1] > 3:
            boxes.append(b)
    return np.array(boxes[:100], dtype=np.float64)


def tasks_5():
    return [T.DetectTask(["red cube", "ball", "cup"]), T.CountTask(["cans"]), T.CaptionTask([0, 1, 2, 3]),
            T.OCRTask([0, 1]), T.VQATask("What colour is {region}?", [2])]


def run(engine: Engine, frames, boxes, repeats: int):
    stages: dict[str, list[float]] = {}
    answers = []
    for r in range(repeats):
        for f, b in zip(frames, boxes):
            res = engine.process(f, tasks_5(), boxes=b)
            for k, v in res.timings.items():
                stages.setdefault(k, []).append(v)
            if r == 0:
                answers.append(res)
    return {k: statistics.median(v) for k, v in stages.items()}, answers


def raw_texts(results) -> list[str]:
    out = []
    for res in results:
        for r in res.results:
            for item in (r if isinstance(r, list) else [r]):
                raw = item.raw_text
                out += raw if isinstance(raw, list) else [raw]
    return out


def random_model(name: str, tokenizer_dir: str, cfg: EngineConfig):
    """A random-weight FO1ForCausalLM of preset `name`, with the special-token ids of the
    tokenizer (and config) in `tokenizer_dir`, built directly on the target device."""
    import dataclasses
    from pathlib import Path

    from fo1_ros.engine import DEFAULT_MODEL_DIR
    from fo1_ros.model.config import FO1Config, preset
    from fo1_ros.model.modeling import FO1ForCausalLM
    from fo1_ros.model.tokenizer import load_tokenizer

    folder = Path(tokenizer_dir) if tokenizer_dir else DEFAULT_MODEL_DIR
    src = FO1Config.from_json_file(folder / "config.json")
    tokenizer = load_tokenizer(folder)
    p = preset(name)
    text = dataclasses.replace(p.text, bos_token_id=src.text.bos_token_id, eos_token_id=src.text.eos_token_id,
                               pad_token_id=src.text.pad_token_id)
    p = dataclasses.replace(p, text=text, image_token_id=src.image_token_id, video_token_id=src.video_token_id,
                            vision_start_token_id=src.vision_start_token_id,
                            vision_end_token_id=src.vision_end_token_id)
    device = cfg.resolve_device()
    torch.manual_seed(0)
    with torch.device(device):
        model = FO1ForCausalLM(p).to(cfg.resolve_dtype(device))
    n = sum(t.numel() for t in model.parameters())
    print(f"random-weight {name}: {n:,} parameters; tokenizer and special ids from {folder}")
    return model, tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--preset", default="", help="random-weight model of this size preset (e.g. fo1-3b)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    scenes = [make_scene(2_000_000 + i) for i in range(args.frames)]
    frames = [Frame(s.rgb, s.depth_m, s.K) for s in scenes]
    boxes = [proposals_100(s, rng) for s in scenes]
    common = dict(model_path=args.model, device=args.device, dtype=args.dtype)
    model = tokenizer = None
    if args.preset:
        model, tokenizer = random_model(args.preset, args.model, EngineConfig(**common))
    shared = Engine(EngineConfig(mode="shared", max_batch=args.max_batch, **common), model=model,
                    tokenizer=tokenizer)
    naive = Engine(EngineConfig(mode="naive", **common), model=shared.model, tokenizer=shared.tokenizer)
    dev = shared.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {dev} ({name}), dtype {shared.dtype}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"frames: {args.frames} x 640x480, 100 proposals each, 5 tasks = 11 questions "
          "(detect x3, count, caption x4, ocr x2, vqa)")
    run(shared, frames[:1], boxes[:1], 1)  # warm-up
    t_shared, a_shared = run(shared, frames, boxes, args.repeats)
    t_naive, a_naive = run(naive, frames, boxes, args.repeats)
    same = raw_texts(a_shared) == raw_texts(a_naive)
    keys = ["proposals", "preprocess", "encode", "geometry", "prefill_prefix", "encode_repeat", "prefill", "decode",
            "parse", "total"]
    print(f"{'stage (median s/frame)':26s}{'naive':>10s}{'shared':>10s}")
    for k in keys:
        print(f"{k:26s}{t_naive.get(k, 0.0):10.3f}{t_shared.get(k, 0.0):10.3f}")
    print(f"speed-up naive/shared (total): {t_naive['total'] / t_shared['total']:.2f}x; same answers: {same}")


if __name__ == "__main__":
    main()
