"""The shipped default proposal source: class-agnostic boxes from RGB-D geometry and colour.

VLM-FO1 selects among proposals and never moves a box, so this source decides what the model
can ever find. It reads only the frame (`rgb`, optional `depth_m` and `K`), never ground truth,
and nothing in it is learned: every step is geometry or colour, so it runs on real robot
frames as on synthetic ones. `RGBDProposer(rgb, depth_m, K) -> Proposals`.

Pipeline in RGB-D mode (`markers.py` steps 1-4, `grouping.py` steps 5-7):

1. **Support plane.** Back-project every `plane_stride`-th pixel with K; RANSAC with a
   depth-dependent inlier band (`plane_inlier_sigmas` x sigma(z), sigma(z) = `noise_base_m` +
   `noise_quad` z^2, a structured-light / stereo noise model), refits weighted by 1/sigma^2.
   Up to `max_planes` planes; the support is the largest one seen from above
   (`upright_camera`), or a parallel one at least `level_gap_m` nearer the camera with a
   quarter of its support (a table above a floor). Its image region: the convex hull of its
   inlier patches.
   (Before anything, `drop_flying_pixels` invalidates depths strictly between the two sides of
   a 3x3 jump: mixed silhouette pixels of stereo / time-of-flight sensors.)
2. **Foreground.** Height above the plane, 5x5 NaN-aware mean, above
   max(`min_height_m`, `height_sigmas` sigma(z)) and below `max_height_m`, minus the far side
   of depth jumps (> `jump_rel` z + `jump_abs_m`).
3. **Seeds.** 4-connected foreground without colour edges (Lab morphological gradient,
   lightness at half weight, > `colour_edge`), at least `min_seed_px`; a blob that edges eat
   whole stays one seed; seeds touch the support region. `hole_seeds`: colour-distinct
   patches without depth, away from depth seeds (black, shiny objects).
4. **Watershed.** Marker watershed on the colour image. Background markers: near-plane
   pixels, except within `base_px` of the seeds' rims slid down by `base_slide` x the height
   threshold (an object's lowest centimetre is as high as the table to a depth camera), and
   everything beyond `band_px` of a seed (`hole_band_px` where depth is missing); background
   islands under `min_background_px` (a cup's floor) are left undecided. The colour edges then
   place the silhouette, including the pixels a depth sensor drops at jumps. A second
   watershed with `alt_base_px` gives each candidate a wide-base box too (pyramid corners,
   cone rims), scored `alt_score` x the first.
5. **Regions** get additive statistics: area, box, 3-D moments of their seed points, and per
   boundary the share of valid pixel pairs across it that jump in depth (js, prior 0.5 where
   depth is missing) and the mean Lab distance across it (cs: 6 -> 0, 40 -> 1).
6. **Grouping** (selective-search style): neighbours merge greedily, cheapest first, under
   "geometry" (js + 0.25 cs) and "appearance" (cs + 0.5 js) costs up to `max_merge_cost`, no
   union beyond `max_object_m`; every region and union is a candidate (parts, objects,
   merged neighbours).
7. **Score** in [0, 1] = p_size x p_fill x (0.2 + 0.8 closure x cohesion) (`grouping.score`):
   closure = the share of the outline against background (1) or across a depth jump (js),
   image border 0.5; cohesion = 1 - the strongest depth jump merged inside; p_size = 3-D
   extent within `object_size_m`; p_fill = compactness. Colour edges do not count as
   separations: they split one object into faces and print as often as they separate two
   (counting them cost 5 points of top-20 recall on the dev seeds).

RGB-only mode (no depth, no valid depth, no K, or no plane found; warned once per reason):
seeds are all 4-connected non-edge regions, large regions touching the border
(`rgb_background_fraction`) become background, boundaries and cohesion use colour (and
depth jumps where depth exists), p_size uses the image share (`rgb_area_fraction`). Much
lower recall than RGB-D: measure with ``python -m fo1_ros.eval.proposal_recall --rgb-only``.

The output goes through the shared `postprocess` (`config.postprocess`: score >= 0.3, NMS IoU
0.8, top 100). Parameters were chosen on synthetic seeds 800000-800099; the held-out
evaluation uses 900000-900199 (`fo1_ros.eval.proposal_recall`).

Inputs: `rgb` (H, W, 3) uint8; `depth_m` (H, W) float metres registered to `rgb`, NaN / <= 0 /
inf invalid, None or an empty array for none; `K` (3, 3) or (9,). Anything else raises
`ValueError` naming the value. Frames with a long side above `max_side` are segmented at a
reduced size and the boxes mapped back. Images under 2x2 pixels give no proposals.

Dims: `H, W` image rows/columns (working resolution inside, input resolution for outputs),
`N` proposals.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .base import Proposals, postprocess
from .grouping import (
    candidate_boxes,
    group,
    label_boxes,
    region_stats,
    relabel,
    rgb_background,
    score,
    watershed,
)
from .markers import colour, rgb_markers, rgbd_markers, support_plane
from .rgbd_config import RGBDConfig

logger = logging.getLogger(__name__)

__all__ = ["RGBDConfig", "RGBDProposer", "Segmentation"]

_WARNED: set[str] = set()


def _warn_once(key: str, msg: str, *args: Any) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(msg, *args)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class Segmentation:
    """Everything `RGBDProposer` computed for a frame, before `postprocess`.

    boxes: (N, 4) float64 xyxy in input-image pixels (pixel-edge convention: a region covering
    columns u0..u1 has x1 = u0, x2 = u1 + 1); scores: (N,) float64 in [0, 1];
    level: (N,) int8, 0 = one region (an object or a part), 1 = a union of regions (an object or
    merged neighbours), 2 / 3 = the wide-base variant of a 0 / 1 candidate;
    regions: (H, W) int32 at the working resolution: -1 watershed line, 0 unassigned,
    1 background, 2.. region id + 2; plane: (4,) float64 (n, d) with n . X + d = height above
    the support (camera frame, n unit, d > 0), or None; mode: 'rgbd' or 'rgb';
    scale: working size / input size; timings: seconds per stage; features: the factors of each
    score (closure, cohesion, p_size, p_fill) and extent_m, area_px, each (N,) float64.
    """

    boxes: np.ndarray
    scores: np.ndarray
    level: np.ndarray
    regions: np.ndarray
    plane: np.ndarray | None
    mode: str
    scale: float
    timings: dict[str, float] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)  # the score's factors, each (N,)


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_inputs(rgb: Any, depth_m: Any, K: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if not isinstance(rgb, np.ndarray):
        raise ValueError(f"rgb must be a numpy array (H, W, 3) uint8, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"rgb must have shape (H, W, 3) with H, W >= 1, got {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8, got dtype {rgb.dtype}")
    H, W = rgb.shape[:2]
    depth = None
    if depth_m is not None:
        depth_m = np.asarray(depth_m)
        if depth_m.size > 0:
            if depth_m.shape != (H, W):
                raise ValueError(f"depth_m must have the image's shape {(H, W)}, got {depth_m.shape}")
            if not np.issubdtype(depth_m.dtype, np.floating):
                raise ValueError(f"depth_m must be float metres (NaN = invalid), got dtype {depth_m.dtype}; "
                                 "decode 16UC1 millimetres with fo1_ros.geometry.decode_depth first")
            depth = depth_m.astype(np.float32, copy=False)
    cam = None
    if K is not None:
        try:
            k = np.asarray(K, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"K must be a (3, 3) or (9,) intrinsics matrix of numbers, got {K!r}") from e
        if k.shape not in ((3, 3), (9,)):
            raise ValueError(f"K must be a (3, 3) or (9,) intrinsics matrix, got shape {k.shape}")
        k = k.reshape(3, 3)
        if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f"K must be finite with positive focal lengths, got {k.tolist()}")
        cam = k
    return rgb, depth, cam


# ---------------------------------------------------------------------------------------------
# The proposer
# ---------------------------------------------------------------------------------------------


class RGBDProposer:
    """Class-agnostic proposals from RGB-D geometry and colour (module docstring); a
    `ProposalSource` named 'rgbd'. Never reads ground truth: only `rgb`, `depth_m`, `K`."""

    name = "rgbd"

    def __init__(self, config: RGBDConfig | dict | None = None):
        if config is None:
            config = RGBDConfig()
        elif isinstance(config, dict):
            config = RGBDConfig.from_dict(config)
        elif not isinstance(config, RGBDConfig):
            raise TypeError(f"config must be an RGBDConfig or dict, got {type(config).__name__}")
        self.config = config

    def __call__(self, rgb: np.ndarray, depth_m: np.ndarray | None = None,
                 K: np.ndarray | None = None) -> Proposals:
        """Proposals for one frame.

        Args:
            rgb: (H, W, 3) uint8.
            depth_m: (H, W) float metres registered to `rgb`, NaN / <= 0 / inf invalid; None or
                an empty array for none.
            K: (3, 3) or (9,) intrinsics of `rgb` (pixel centres at integer coordinates).
        Returns:
            `Proposals`: boxes (N, 4) float64 xyxy in `rgb` pixels sorted by score, N <= top_k,
            after `postprocess` with `config.postprocess`.
        """
        seg = self.segment(rgb, depth_m, K)
        return postprocess(seg.boxes, seg.scores, rgb.shape[:2], self.config.postprocess, self.name)

    def segment(self, rgb: np.ndarray, depth_m: np.ndarray | None = None,
                K: np.ndarray | None = None) -> Segmentation:
        """All candidates with scores, before `postprocess` (same arguments as `__call__`)."""
        cfg = self.config
        t: dict[str, float] = {}
        t0 = time.perf_counter()
        rgb, depth, K = _check_inputs(rgb, depth_m, K)
        H0, W0 = rgb.shape[:2]
        rgb, depth, K, scale = _to_working_size(rgb, depth, K, cfg.max_side)
        H, W = rgb.shape[:2]
        s_px = W / 640.0  # pixel parameters are given for a 640-wide image
        empty = Segmentation(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int8),
                             np.zeros((H, W), np.int32), None, "rgb", scale, t)
        if H < 2 or W < 2:
            return empty

        z, valid, why = _valid_depth(depth, cfg)  # why: RGB-D mode is impossible, warned once per process
        lab, edge = colour(rgb, cfg)
        t["colour"] = time.perf_counter() - t0

        support = None
        if z is not None and K is None:
            why = ("no_K", "depth without intrinsics K: RGB-only proposals with depth-jump cues")
        elif z is not None:
            t0 = time.perf_counter()
            support = support_plane(z, valid, K, cfg, s_px, np.random.default_rng(cfg.seed))
            t["plane"] = time.perf_counter() - t0
            if support is None:
                why = ("no_plane", "no support plane found in depth: RGB-only proposals (lower recall)")
        if why is not None:
            _warn_once(*why)

        t0 = time.perf_counter()
        rgbd = support is not None
        mk = rgbd_markers(z, valid, K, edge, lab, support, cfg, s_px) if rgbd else rgb_markers(edge, cfg, s_px)
        mode = "rgbd" if rgbd else "rgb"
        R = int(mk.markers.max()) - 1  # regions 2..R+1
        t["seeds"] = time.perf_counter() - t0
        if R < 1:
            empty.mode, empty.plane = mode, mk.plane
            return empty

        t0 = time.perf_counter()
        seeds = mk.markers.copy() if rgbd else None  # cv2.watershed overwrites its markers
        ws, ws_full = watershed(rgb, mk.markers)
        lut = None if rgbd else rgb_background(ws, R, cfg)
        if lut is not None:
            ws, ws_full = relabel(ws, lut), relabel(ws_full, lut)
        alt_boxes = label_boxes(watershed(rgb, mk.alt)[1], R) if mk.alt is not None else None
        t["watershed"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        reg = region_stats(ws, ws_full, seeds, R, lab, z, valid, K, cfg)
        t["regions"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cands = group(reg, R, cfg, rgbd)
        boxes = cands.box
        scores, feats = score(cands, (H, W), cfg, rgbd)
        level = np.array([len(m) > 1 for m in cands.members], np.int8)
        if alt_boxes is not None:  # the wide-base variant of every candidate, scored lower
            boxes = np.concatenate([boxes, candidate_boxes(cands, alt_boxes)])
            scores = np.concatenate([scores, cfg.alt_score * scores])
            level = np.concatenate([level, level + 2])
            feats = {k: np.concatenate([v, v]) for k, v in feats.items()}
        t["group"] = time.perf_counter() - t0
        if scale < 1.0:
            boxes = boxes / np.array([W / W0, H / H0, W / W0, H / H0])
        order = np.argsort(-scores, kind="stable")
        return Segmentation(boxes[order], scores[order], level[order], ws, mk.plane, mode, scale, t,
                            {k: v[order] for k, v in feats.items()})


def _valid_depth(depth: np.ndarray | None, cfg: RGBDConfig
                 ) -> tuple[np.ndarray | None, np.ndarray | None, tuple[str, str] | None]:
    """The usable depth: z (H, W) float32 metres with 0 = invalid, valid (H, W) bool, and None;
    or None, None and why there is none, (key, message) for a once-per-process warning."""
    if depth is None:
        return None, None, ("no_depth", "no depth: RGB-only proposals (lower recall than RGB-D)")
    valid = np.isfinite(depth) & (depth >= cfg.depth_min_m) & (depth <= cfg.depth_max_m)
    if valid.any() and cfg.drop_flying_pixels:
        valid &= ~_flying_pixels(depth, valid, cfg)
    if not valid.any():
        return None, None, ("no_valid_depth", "depth has no valid pixels: RGB-only proposals (lower recall)")
    z = np.where(valid, depth, np.float32(0)).astype(np.float32)  # (H, W), 0 = invalid
    return z, valid, None


def _flying_pixels(depth: np.ndarray, valid: np.ndarray, cfg: RGBDConfig) -> np.ndarray:
    """(H, W) bool: "flying pixels", depths strictly between the two surfaces of a jump in their
    3x3 neighbourhood (stereo and time-of-flight sensors mix both at silhouettes); they would
    glue objects to the background. A pixel flies when its neighbourhood spans more than the
    jump threshold and it lies more than a quarter of that span from both ends."""
    big = np.float32(1e6)
    lo = cv2.erode(np.where(valid, depth, big).astype(np.float32), np.ones((3, 3), np.uint8))
    hi = cv2.dilate(np.where(valid, depth, 0).astype(np.float32), np.ones((3, 3), np.uint8))
    span = hi - lo
    jump = valid & (span > cfg.jump_rel * lo + cfg.jump_abs_m) & (lo < big)
    return jump & (np.minimum(depth - lo, hi - depth) > 0.25 * span)


def _to_working_size(rgb: np.ndarray, depth: np.ndarray | None, K: np.ndarray | None,
                     max_side: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float]:
    """Shrink frames whose long side exceeds `max_side` (area-averaged colour, nearest depth,
    scaled K); returns them and the scale (working / input, <= 1)."""
    H0, W0 = rgb.shape[:2]
    scale = min(1.0, max_side / max(H0, W0))
    if scale >= 1.0:
        return rgb, depth, K, 1.0
    size = (max(1, round(W0 * scale)), max(1, round(H0 * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if depth is not None:
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
    if K is not None:
        sx, sy = size[0] / W0, size[1] / H0
        K = K.copy()
        K[0, :2] *= sx
        K[1, :2] *= sy
        # pixel centres at integers: edges scale, so centre' = (centre + 0.5) * s - 0.5
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return rgb, depth, K, scale
