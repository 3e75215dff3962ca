"""Training region lists: what the model sees of a synthetic frame while it learns.

For one synthetic scene (`fo1_ros.synth`), `build_regions` forms the region list the model
sees — the default proposer's boxes, jittered ground-truth boxes and distractors, like the
proposals it meets at run time — and links each region to the object it is the best box for
(`fo1_ros.synth.regions.link_regions`). The questions and answers about those regions come
from `fo1_ros.synth.questions.QAGenerator`, which the evaluation shares. `Example` is one such
frame tokenised for training (prefix + question/answer segments), as `batching.py` builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import Config
from ..model.boxes import box_iou, nms
from ..model.processing import FrameInputs
from ..synth import Scene
from ..synth.regions import RegionSet, link_regions


@dataclass
class RegionSampling(Config):
    """How training region lists are formed."""

    gt_jitter: float = 0.05  # std of box-edge noise, as a fraction of the box size
    gt_keep_if_covered: float = 0.3  # add a jittered GT box even when a proposal already covers the object
    n_distractors: tuple[int, int] = (0, 8)
    many_regions_prob: float = 0.25  # pad some frames towards 100 regions so every <regionN> token is trained
    max_regions: int = 100
    nms_iou: float = 0.8
    # probability that a frame's region list is put in random order instead of score order: the
    # engine keeps the order it is given (another detector's, a user's), where a low index says
    # nothing about being an object
    shuffle_prob: float = 0.0

    def __post_init__(self) -> None:
        self.n_distractors = tuple(self.n_distractors)


def _jitter(box: np.ndarray, rng: np.random.Generator, frac: float, hw: tuple[int, int]) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    b = box + rng.normal(0, frac, 4) * np.array([w, h, w, h])
    H, W = hw
    b = np.array([np.clip(b[0], 0, W - 2), np.clip(b[1], 0, H - 2), np.clip(b[2], 0, W), np.clip(b[3], 0, H)])
    b[2], b[3] = max(b[2], b[0] + 2), max(b[3], b[1] + 2)
    return b


def _random_box(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    H, W = hw
    w, h = rng.uniform(10, W / 3), rng.uniform(10, H / 3)
    x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
    return np.array([x, y, x + w, y + h])


def build_regions(scene: Scene, rng: np.random.Generator, sampling: RegionSampling | None = None,
                  proposals: tuple[np.ndarray, np.ndarray] | None = None, max_objects: int | None = None) -> RegionSet:
    """Region list for one frame: proposals + jittered GT boxes + distractors, scored, NMS'd, capped.

    With `max_objects` (a curriculum step), the regions are only jittered ground-truth boxes of
    at most that many random objects: the language model can learn what object tokens say
    before it must learn to find one among many.
    """
    cfg = sampling or RegionSampling()
    hw = (scene.height, scene.width)
    gt = np.array([o.box_2d for o in scene.objects], dtype=np.float64).reshape(-1, 4)
    if max_objects is not None:
        visible = [i for i, o in enumerate(scene.objects) if o.visible_pixels > 0]
        pick = rng.permutation(visible)[:int(rng.integers(1, max_objects + 1))] if visible else []
        boxes_s = np.array([_jitter(gt[i], rng, cfg.gt_jitter, hw) for i in pick]).reshape(-1, 4)
        return link_regions(boxes_s, np.sort(rng.uniform(0.5, 1.0, len(boxes_s)))[::-1].copy(), scene)
    boxes, scores = [], []
    if proposals is not None and len(proposals[0]):
        boxes += list(np.asarray(proposals[0], dtype=np.float64))
        scores += list(np.asarray(proposals[1], dtype=np.float64))
    covered = np.zeros(len(gt), dtype=bool)
    if boxes and len(gt):
        iou = box_iou(torch.tensor(np.array(boxes)), torch.tensor(gt)).numpy()
        covered = iou.max(0) >= 0.7
    for i, o in enumerate(scene.objects):
        if o.visible_pixels == 0:
            continue
        if not covered[i] or rng.random() < cfg.gt_keep_if_covered:
            boxes.append(_jitter(gt[i], rng, cfg.gt_jitter, hw))
            scores.append(rng.uniform(0.5, 1.0))
    n_dis = rng.integers(cfg.n_distractors[0], cfg.n_distractors[1] + 1)
    if rng.random() < cfg.many_regions_prob:
        n_dis += int(rng.integers(20, cfg.max_regions))
    for _ in range(n_dis):
        kind = rng.random()
        if kind < 0.4 and len(gt):  # a part or a loose box of an object
            b = gt[rng.integers(len(gt))]
            b = _jitter(b, rng, 0.25, hw)
        elif kind < 0.6 and len(gt) > 1:  # two neighbouring objects merged
            i, j = rng.choice(len(gt), 2, replace=False)
            b = np.concatenate([np.minimum(gt[i][:2], gt[j][:2]), np.maximum(gt[i][2:], gt[j][2:])])
        else:
            b = _random_box(rng, hw)
        boxes.append(b)
        scores.append(rng.uniform(0.3, 0.9))
    boxes_a = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    scores_a = np.array(scores, dtype=np.float64)
    if len(boxes_a):
        keep = nms(torch.tensor(boxes_a), torch.tensor(scores_a), cfg.nms_iou).numpy()
        boxes_a, scores_a = boxes_a[keep], scores_a[keep]
    boxes_a, scores_a = boxes_a[:cfg.max_regions], scores_a[:cfg.max_regions]
    if cfg.shuffle_prob > 0 and rng.random() < cfg.shuffle_prob:
        order = rng.permutation(len(boxes_a))
        boxes_a, scores_a = boxes_a[order], scores_a[order]
    return link_regions(boxes_a, scores_a, scene)


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


__all__ = ["Example", "RegionSampling", "build_regions"]
