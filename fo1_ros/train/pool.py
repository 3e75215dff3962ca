"""A pool of pre-rendered synthetic frames for training (rendering is too slow to do per step).

Each frame keeps the 640x480 RGB, the default proposer's boxes (computed from RGB-D, never
from ground truth) and the ground-truth objects the question generator needs, in plain
numpy/JSON files: `frames.npy` (N, H, W, 3) uint8, `proposals.npz` (boxes/scores/offsets),
`objects.json`. Seeds are stored, so every frame can be re-rendered.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ..proposals import make_proposal_source
from ..synth import SceneConfig, make_scene

logger = logging.getLogger(__name__)

OBJECT_FIELDS = ("category", "colour", "size_class", "text", "box_2d", "size", "distance_m", "visible_pixels",
                 "visible_fraction", "center_cam")


@dataclass
class PoolFrame:
    """What training needs from one frame: rgb (H, W, 3) uint8, proposals (N, 4) + (N,), and a
    scene-like view (`objects`, `width`, `height`) for the question generator."""

    seed: int
    rgb: np.ndarray
    proposal_boxes: np.ndarray
    proposal_scores: np.ndarray
    scene: SimpleNamespace


def _object_record(o) -> dict:
    rec = {}
    for f in OBJECT_FIELDS:
        v = getattr(o, f)
        rec[f] = v.tolist() if isinstance(v, np.ndarray) else (float(v) if isinstance(v, np.floating) else v)
    return rec


def _render(args):
    seed, config_dict, use_proposer = args
    scene = make_scene(seed, SceneConfig.from_dict(config_dict))
    boxes, scores = np.zeros((0, 4)), np.zeros(0)
    if use_proposer:
        props = _render.proposer(scene.rgb, scene.depth_m, scene.K)  # type: ignore[attr-defined]
        boxes, scores = props.boxes, props.scores
    return seed, scene.rgb, boxes, scores, [_object_record(o) for o in scene.objects]


def _init_worker(use_proposer: bool) -> None:
    torch.set_num_threads(1)
    if use_proposer:
        _render.proposer = make_proposal_source("rgbd")  # type: ignore[attr-defined]


def check_pool_fits(out: Path, n: int, config: SceneConfig) -> None:
    """Raise OSError when `n` frames of `config` do not fit on the disk holding `out` (checked
    before rendering, not hours in with a truncated file)."""
    need, free = n * config.height * config.width * 3, shutil.disk_usage(out).free
    if need > free:
        raise OSError(f"a frame pool of {n} frames at {config.width}x{config.height} needs {need / 2**30:.1f} GiB "
                      f"in {out}, which has {free / 2**30:.1f} GiB free; use --pool-dir elsewhere or fewer --frames")


def build_pool(out: str | Path, seeds: list[int], config: SceneConfig | None = None, workers: int = 2,
               use_proposer: bool = True) -> Path:
    """Render `seeds` into `out` (resumable: an existing complete pool is reused)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "pool.json"
    config = config or SceneConfig()
    meta = {"seeds": [int(s) for s in seeds], "scene_config": config.to_dict(), "use_proposer": use_proposer}
    if meta_path.exists() and json.loads(meta_path.read_text()) == meta:
        logger.info("reusing frame pool %s", out)
        return out
    n = len(seeds)
    check_pool_fits(out, n, config)
    frames = np.lib.format.open_memmap(out / "frames.npy", mode="w+", dtype=np.uint8,
                                       shape=(n, config.height, config.width, 3))
    all_boxes, all_scores, offsets, objects = [], [], [0], []
    t0 = time.time()
    args = [(int(s), config.to_dict(), use_proposer) for s in seeds]
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(use_proposer,)) as pool:
        for k, (_seed, rgb, boxes, scores, objs) in enumerate(pool.imap(_render, args, chunksize=4)):
            frames[k] = rgb
            all_boxes.append(boxes)
            all_scores.append(scores)
            offsets.append(offsets[-1] + len(boxes))
            objects.append(objs)
            if (k + 1) % 100 == 0 or k + 1 == n:
                rate = (k + 1) / (time.time() - t0)
                sys.stderr.write(f"\rrendering frames {k + 1}/{n} ({rate:.1f}/s, ETA {(n - k - 1) / rate:.0f} s)")
                sys.stderr.flush()
    sys.stderr.write("\n")
    frames.flush()
    np.savez(out / "proposals.npz", boxes=np.concatenate(all_boxes or [np.zeros((0, 4))]).astype(np.float32),
             scores=np.concatenate(all_scores or [np.zeros(0)]).astype(np.float32), offsets=np.array(offsets))
    (out / "objects.json").write_text(json.dumps(objects))
    meta_path.write_text(json.dumps(meta))
    return out


class FramePool:
    """Random access to a built pool (frames are memory-mapped)."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        meta = json.loads((folder / "pool.json").read_text())
        self.seeds = meta["seeds"]
        self.frames = np.load(folder / "frames.npy", mmap_mode="r")
        p = np.load(folder / "proposals.npz")
        self.boxes, self.scores, self.offsets = p["boxes"], p["scores"], p["offsets"]
        self.objects = json.loads((folder / "objects.json").read_text())
        h, w = self.frames.shape[1:3]
        self.width, self.height = int(w), int(h)

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, i: int) -> PoolFrame:
        a, b = self.offsets[i], self.offsets[i + 1]
        objs = [SimpleNamespace(**{k: (np.asarray(v) if k in ("box_2d", "size", "center_cam") else v)
                                   for k, v in rec.items()}) for rec in self.objects[i]]
        scene = SimpleNamespace(objects=objs, width=self.width, height=self.height)
        return PoolFrame(self.seeds[i], np.asarray(self.frames[i]), self.boxes[a:b].astype(np.float64),
                         self.scores[a:b].astype(np.float64), scene)
