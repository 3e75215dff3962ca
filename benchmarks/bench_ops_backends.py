"""RoIAlign and NMS: torchvision.ops against the plain-torch fallback, difference and speed.

    python benchmarks/bench_ops_backends.py              # needs torchvision (the test set-up has it)
    python benchmarks/bench_ops_backends.py --threads 2 --device cuda

Measures, on the same inputs, both backends of `fo1_ros.model.roi_align` and `fo1_ros.model.boxes`
(`BACKEND` "torch" and "torchvision"):
- the shipped model's own region pooling: its DaViT maps of synthetic scenes (stride 4, 480 channels,
  values up to ~30) and up to 100 proposal-like boxes per frame (every object's box and jittered
  copies): max |difference| of the 7x7 RoIAlign bins, of the region features (the mean-pooled
  RoIAlign of both branches, after the region LayerNorms) and of the object tokens;
- unit-variance random maps of the region encoder's sizes (fo1-small and fo1-3b): max |difference|
  and time of `roi_align` and `roi_align_mean`;
- NMS and batched NMS on the same boxes: whether the kept indices are identical, and time.
Numbers depend on the machine: quote them with the device line this script prints.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from fo1_ros.engine import DEFAULT_MODEL_DIR
from fo1_ros.model import boxes as box_ops
from fo1_ros.model import roi_align as ra
from fo1_ros.model.checkpoint import load_model
from fo1_ros.model.processing import aux_pixel_values, primary_pixel_values
from fo1_ros.synth import make_scene


def _ms(fn, args: tuple, repeats: int) -> float:
    fn(*args)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - start) / repeats * 1e3


def _frame_boxes(scene, rng: torch.Generator) -> torch.Tensor:
    """(N <= 100, 4) xyxy frame pixels: the objects' boxes and jittered copies."""
    gt = torch.tensor(np.array([o.box_2d for o in scene.objects], dtype=np.float32)).reshape(-1, 4)
    jittered = gt.repeat(5, 1) + torch.randn(len(gt) * 5, 4, generator=rng) * 6
    boxes = torch.cat([gt, jittered])[:100].clamp(min=0)
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 2)
    return boxes


def shipped_model(scenes: int, device: str) -> None:
    model = load_model(DEFAULT_MODEL_DIR, device=device)
    cfg = model.config
    size = cfg.aux.image_size
    diff = {"bins": 0.0, "region features": 0.0, "object tokens": 0.0}
    same = total = 0
    for seed in range(scenes):
        scene = make_scene(100 + seed)
        rng = torch.Generator().manual_seed(seed)
        h, w = scene.rgb.shape[:2]
        frame_boxes = _frame_boxes(scene, rng)
        aux_boxes = (frame_boxes * torch.tensor([size / w, size / h] * 2)).to(device)
        pv, grid = primary_pixel_values(scene.rgb, cfg.vision.patch_size, cfg.vision.spatial_merge_size,
                                        cfg.vision.temporal_patch_size, cfg.image_min_pixels, cfg.image_max_pixels)
        aux = aux_pixel_values(scene.rgb, size)[None].to(device)
        with torch.no_grad():
            _, levels = model.encode_images(pv.to(device), grid.to(device), return_levels=True)
            maps = model.model.vision_tower_aux(aux)
            feat = torch.cat([maps[0]] + [F.interpolate(m, size=maps[0].shape[-2:], mode="bilinear",
                                                        align_corners=False) for m in maps[1:]], dim=1)
            out = {}
            for backend in ("torch", "torchvision"):
                ra.BACKEND = backend
                tokens, feats = model.encode_regions(aux, [aux_boxes], levels, grid.to(device), return_features=True)
                out[backend] = (ra.roi_align(feat, [aux_boxes], 7, 0.25), feats[0], tokens[0])
        for name, a, b in zip(diff, out["torch"], out["torchvision"]):
            diff[name] = max(diff[name], (a - b).abs().max().item())
        for thr in (0.3, 0.5, 0.8):
            scores = torch.rand(len(frame_boxes), generator=rng)
            labels = torch.randint(0, 4, (len(frame_boxes),), generator=rng)
            results = []
            for backend in ("torch", "torchvision"):
                box_ops.BACKEND = backend
                results.append((box_ops.nms(frame_boxes, scores, thr),
                                box_ops.batched_nms(frame_boxes, scores, labels, thr)))
            same += sum(torch.equal(a, b) for a, b in zip(*results))
            total += 2
        print(f"scene {100 + seed}: {len(frame_boxes)} boxes, aux map {tuple(feat.shape)}, "
              f"max |value| {feat.abs().max():.1f}")
    print(f"shipped model, {scenes} scenes, torch vs torchvision: max |diff| "
          + ", ".join(f"{k} {v:.2g}" for k, v in diff.items()) + f"; NMS kept indices identical {same}/{total}")


def random_maps(device: str, repeats: int) -> None:
    for name, c, hw, k in [("fo1-small aux", 480, 80, 100), ("fo1-3b aux", 3840, 192, 100)]:
        rng = torch.Generator().manual_seed(0)
        x = torch.randn(1, c, hw, hw, generator=rng).to(device)
        xy = torch.rand(k, 2, generator=rng) * hw * 4 * 0.9
        boxes = [torch.cat([xy, xy + torch.rand(k, 2, generator=rng) * hw * 2 + 8], dim=1).to(device)]
        line = [f"{name} {c}x{hw}x{hw}, {k} boxes:"]
        for fn in (ra.roi_align, ra.roi_align_mean):
            ra.BACKEND = "torch"
            ref = fn(x, boxes, 7, 0.25)
            t_torch = _ms(fn, (x, boxes, 7, 0.25), repeats)
            ra.BACKEND = "torchvision"
            got = fn(x, boxes, 7, 0.25)
            t_tv = _ms(fn, (x, boxes, 7, 0.25), repeats)
            line.append(f"{fn.__name__} max |diff| {(ref - got).abs().max().item():.2g}, "
                        f"{t_torch:.1f} ms torch / {t_tv:.1f} ms torchvision;")
        print(" ".join(line))
    for n in (100, 1000, 5000):
        rng = torch.Generator().manual_seed(n)
        xy = torch.rand(n, 2, generator=rng) * 600
        boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=rng) * 150 + 5], dim=1).to(device)
        scores = torch.rand(n, generator=rng).to(device)
        times = []
        for backend in ("torch", "torchvision"):
            box_ops.BACKEND = backend
            times.append(_ms(box_ops.nms, (boxes, scores, 0.5), repeats))
        print(f"nms {n} boxes: {times[0]:.2f} ms torch / {times[1]:.2f} ms torchvision")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (CPU)")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    box_ops.torchvision_ops("torchvision")  # fails here, naming the cause, without torchvision
    import torchvision

    print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, device {args.device}; "
          f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    shipped_model(args.scenes, args.device)
    random_maps(args.device, args.repeats)


if __name__ == "__main__":
    main()
