"""The shipped default proposal source: class-agnostic boxes from RGB-D geometry and colour.

VLM-FO1 selects among proposals and never moves a box, so this module decides what the model
can ever find. It reads only the frame (`rgb`, optional `depth_m` and `K`), never ground truth,
and uses nothing learned, so it behaves the same on synthetic and real frames.

Pipeline (RGB-D mode, needs depth with enough valid pixels and K):

1. **Support plane.** Back-project a pixel grid (every `plane_stride` pixels) with K and run
   RANSAC with a depth-dependent inlier band (`noise_base_m + noise_quad * z^2`, a
   structured-light / stereo noise model). Up to `max_planes` planes are extracted in turn;
   the support is the largest one the camera sees from above (`upright_camera`), or a
   parallel plane at least `level_gap_m` nearer the camera with a quarter of its support
   (a table above the floor). Its region in the image is the convex hull of its inlier
   patches.
2. **Foreground.** Height above the plane (5x5 NaN-aware smoothing against sensor noise)
   above `max(min_height_m, height_sigmas * sigma(z))`, below `max_height_m`.
3. **Seeds.** Foreground pixels that are neither on a colour edge (Lab morphological
   gradient, lightness at half weight, `colour_edge`) nor on the far side of a depth jump
   (`jump_rel * z + jump_abs_m`), 4-connected, at least `min_seed_px`; a foreground blob that
   edges eat whole is kept as one seed. Seeds must touch the support region.
4. **Regions.** A marker watershed on the colour image grows the seeds to colour edges. Pixels
   within `base_px` of a seed or with missing depth are left to the watershed, other
   near-plane pixels are background, and so is everything farther than `band_px` from any
   seed. This restores the object's lowest centimetre (as high as the table to a depth
   camera), silhouette pixels the sensor drops at depth jumps, and depth holes.
5. **Grouping** (selective-search style, two strategies). Neighbouring regions are merged
   greedily, cheapest first; every merge is a proposal. The boundary between two regions
   has a depth-jump strength `js` (share of valid pixel pairs across it that jump) and a
   colour strength `cs` (mean Lab difference across it, mapped to [0, 1]). Strategy
   "geometry" costs `js + 0.25 cs` (parts of one surface first), "appearance"
   `cs + 0.5 js`. No merge costs more than `max_merge_cost` or exceeds `max_object_m`.
6. **Scores** in [0, 1], a product of documented factors (`_score`):
   - closure: how strongly the candidate is separated from everything around it: background
     (the support plane: 1), other regions (`max(js, 0.6 cs)`), the image border (0.5);
   - cohesion: 1 - the strongest boundary merged inside it (a union of two objects that a
     depth jump separates is unlikely to be one object);
   - size plausibility: the 3-D extent (from second moments of its points) within
     `object_size_m`, decaying outside;
   - compactness: area / box area (a union of scattered pieces is unlikely);
   - border contact: truncated candidates keep 0.8.

RGB-only mode (no depth, no valid depth, no K, or no support plane found): steps 3-6 on colour
alone: seeds are every 4-connected region of non-edge pixels; there is no background marker;
size plausibility uses the image-area share (`rgb_area_fraction`) and border contact costs
more, since the table, walls and floor touch the border. Where depth exists (no K) it still
adds depth-jump strength to boundaries. A warning is logged once per reason; expect much
lower recall than RGB-D (measured: see `evaluate.py`).

The result goes through the shared `postprocess` (score >= 0.3, NMS IoU 0.8, top 100).

Inputs that cannot work raise `ValueError` naming the value: `rgb` not (H, W, 3) uint8,
depth not (H, W) float, K not (3, 3) / (9,) finite with positive focal lengths. Empty depth
(`size == 0`) counts as absent. Images larger than `max_side` are segmented at a reduced size
and boxes are mapped back.

Dims: `H, W` image rows/columns (working resolution inside, input resolution for outputs),
`N` proposals, `R` regions, `M` points.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .base import ProposalConfig, Proposals, postprocess

logger = logging.getLogger(__name__)

__all__ = ["RGBDConfig", "RGBDProposer", "Segmentation"]

_WARNED: set[str] = set()


def _warn_once(key: str, msg: str, *args: Any) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(msg, *args)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass
class RGBDConfig:
    """Parameters of `RGBDProposer`; defaults are the shipped model's. Pixel quantities are at a
    640-pixel-wide working image and scale with the working width."""

    # --- Working resolution ---
    max_side: int = 640  # larger images are segmented at this long side, boxes mapped back

    # --- Depth sensor model ---
    depth_min_m: float = 0.1  # readings outside [min, max] are invalid
    depth_max_m: float = 10.0
    noise_base_m: float = 0.0015  # sigma(z) = base + quad * z^2 (z in m)
    noise_quad: float = 0.0015
    jump_rel: float = 0.03  # neighbours more than rel * z + abs apart are different surfaces
    jump_abs_m: float = 0.01

    # --- Support plane ---
    plane_stride: int = 4  # pixel grid for RANSAC
    ransac_iterations: int = 64
    ransac_eval_points: int = 1500  # points scoring each hypothesis
    plane_inlier_sigmas: float = 3.0
    max_planes: int = 3
    min_plane_fraction: float = 0.08  # of the valid grid points
    level_gap_m: float = 0.25  # a parallel plane this much nearer is a table above a floor
    upright_camera: bool = True  # image up is roughly world up: the support is seen from above

    # --- Foreground and seeds ---
    min_height_m: float = 0.006
    height_sigmas: float = 1.5  # height threshold in sigma(z) of the smoothed height
    max_height_m: float = 0.6  # taller things (walls, people) are not tabletop objects
    colour_edge: float = 12.0  # Lab gradient (uint8 Lab units) that breaks seeds
    min_seed_px: int = 12
    base_px: int = 2  # near-plane pixels this close to a seed are left to the watershed
    base_slide: float = 1.5  # ...and so are seed rims slid down by this x the height threshold
    band_px: int = 15  # the watershed decides only this close to a seed...
    hole_band_px: int = 40  # ...or, where depth is missing, this close
    min_background_px: int = 400  # smaller background islands (cup floors at table height) are unknown
    hole_seeds: bool = True  # also seed colour-distinct patches without depth (black/shiny objects)
    hole_min_contrast: float = 0.3  # their colour strength against the table ring around them
    hole_max_fraction: float = 0.05  # larger holes are not one object

    # --- Grouping ---
    max_merge_cost: float = 0.85
    max_object_m: float = 0.5  # no union larger than this (3-D extent)
    max_regions: int = 600  # RGB-only: keep the largest seeds

    # --- Scoring ---
    object_size_m: tuple[float, float] = (0.015, 0.40)  # plausible 3-D extent
    rgb_area_fraction: tuple[float, float] = (0.0002, 0.2)  # plausible image share, RGB-only
    rgb_background_fraction: float = 0.05  # RGB-only: larger regions touching the border are background

    # --- Output ---
    postprocess: ProposalConfig = field(default_factory=ProposalConfig)
    seed: int = 0  # RANSAC random stream: the same frame always gives the same proposals

    def __post_init__(self) -> None:
        if isinstance(self.postprocess, dict):
            self.postprocess = ProposalConfig(**self.postprocess)
        if not isinstance(self.postprocess, ProposalConfig):
            raise TypeError(f"RGBDConfig.postprocess must be a ProposalConfig or dict, got {self.postprocess!r}")
        self.object_size_m = tuple(self.object_size_m)
        self.rgb_area_fraction = tuple(self.rgb_area_fraction)
        ints = {"max_side": 16, "plane_stride": 1, "ransac_iterations": 1, "ransac_eval_points": 10,
                "max_planes": 1, "min_seed_px": 1, "base_px": 0, "band_px": 1, "hole_band_px": 1, "min_background_px": 0, "max_regions": 2, "seed": 0}
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"RGBDConfig.{name} must be an int >= {lo}, got {v!r}")
        pos = ("depth_max_m", "noise_base_m", "rgb_background_fraction", "jump_rel", "plane_inlier_sigmas", "level_gap_m",
               "max_height_m", "colour_edge", "max_object_m", "max_merge_cost")
        for name in pos:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"RGBDConfig.{name} must be a finite number > 0, got {v!r}")
        for name in ("depth_min_m", "noise_quad", "jump_abs_m", "min_height_m", "height_sigmas"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"RGBDConfig.{name} must be a finite number >= 0, got {v!r}")
        if self.depth_min_m >= self.depth_max_m:
            raise ValueError(f"RGBDConfig.depth_min_m ({self.depth_min_m}) must be below "
                             f"depth_max_m ({self.depth_max_m})")
        for name in ("min_plane_fraction", "hole_min_contrast", "hole_max_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v < 1):
                raise ValueError(f"RGBDConfig.{name} must be in (0, 1), got {v!r}")
        if not 0 < self.min_plane_fraction < 1:
            raise ValueError(f"RGBDConfig.min_plane_fraction must be in (0, 1), got {self.min_plane_fraction!r}")
        for name in ("object_size_m", "rgb_area_fraction"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1]:
                raise ValueError(f"RGBDConfig.{name} must be a pair 0 < min < max, got {lo_hi!r}")
        if not isinstance(self.upright_camera, bool):
            raise TypeError(f"RGBDConfig.upright_camera must be a bool, got {self.upright_camera!r}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["object_size_m"] = list(self.object_size_m)
        out["rgb_area_fraction"] = list(self.rgb_area_fraction)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RGBDConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"RGBDConfig.from_dict got unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class Segmentation:
    """Everything `RGBDProposer` computed for a frame, before `postprocess`.

    boxes: (N, 4) float64 xyxy in input-image pixels (pixel-edge convention: a region covering
    columns u0..u1 has x1 = u0, x2 = u1 + 1); scores: (N,) float64 in [0, 1];
    level: (N,) int8, 0 = one region, 1 = a union of regions (merged neighbours);
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
        k = np.asarray(K, dtype=np.float64) if not isinstance(K, np.ndarray) or K.dtype != object else None
        if k is None or k.shape not in ((3, 3), (9,)):
            raise ValueError(f"K must be a (3, 3) or (9,) intrinsics matrix, got {getattr(K, 'shape', K)!r}")
        k = k.reshape(3, 3)
        if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f"K must be finite with positive focal lengths, got {k.tolist()}")
        cam = k
    return rgb, depth, cam


# ---------------------------------------------------------------------------------------------
# Geometry: support plane and heights
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plane:
    n: np.ndarray  # (3,) unit normal toward the camera
    d: float  # camera height above the plane, m
    support: int  # inlier grid points
    inliers: np.ndarray  # (M,) bool over the grid points


def _sigma(z: np.ndarray, cfg: RGBDConfig) -> np.ndarray:
    return cfg.noise_base_m + cfg.noise_quad * z * z


def _ransac_plane(P: np.ndarray, tol: np.ndarray, cfg: RGBDConfig, rng: np.random.Generator) -> _Plane | None:
    """Best plane through (M, 3) points with per-point inlier bands `tol` (M,): vectorised
    RANSAC scored on at most `ransac_eval_points` points, then three least-squares refits on the
    inliers weighted by 1 / tol^2."""
    if len(P) < 30:
        return None
    if len(P) > cfg.ransac_eval_points:
        ev = rng.choice(len(P), cfg.ransac_eval_points, replace=False)
        E, tE = P[ev], tol[ev]
    else:
        E, tE = P, tol
    tri = E[rng.integers(0, len(E), (cfg.ransac_iterations, 3))]  # (T, 3, 3)
    nrm = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (T, 3)
    ln = np.linalg.norm(nrm, axis=1)
    ok = ln > 1e-12
    if not ok.any():
        return None
    nrm = nrm[ok] / ln[ok, None]
    off = -np.einsum("tk,tk->t", nrm, tri[ok, 0])  # (T,)
    votes = (np.abs(E @ nrm.T + off) < tE[:, None]).sum(0)  # (T,)
    best = int(np.argmax(votes))
    n, d = nrm[best], float(off[best])
    w = 1.0 / tE**2  # weighted refits: near points are far more precise (sigma grows with z^2)
    for _ in range(3):
        m = np.abs(E @ n + d) < tE
        if m.sum() < 3:
            return None
        q, wq = E[m], w[m]
        mu = (q * wq[:, None]).sum(0) / wq.sum()
        n = np.linalg.svd((q - mu) * np.sqrt(wq)[:, None], full_matrices=False)[2][-1]
        d = float(-n @ mu)
    if d < 0:  # orient toward the camera: the camera (origin) has positive height
        n, d = -n, -d
    m = np.abs(P @ n + d) < tol
    return _Plane(n, d, int(m.sum()), m)


def _support_plane(z: np.ndarray, valid: np.ndarray, K: np.ndarray, cfg: RGBDConfig, s_px: float,
                   rng: np.random.Generator) -> tuple[_Plane, np.ndarray] | None:
    """The support plane and its image region ((H, W) uint8 0/1), or None."""
    H, W = z.shape
    st = max(1, int(round(cfg.plane_stride * s_px)))
    zs = z[::st, ::st]
    vs, us = np.nonzero(valid[::st, ::st])
    if len(vs) < 50:
        return None
    zz = zs[vs, us].astype(np.float64)
    P = np.stack([(us * st - K[0, 2]) / K[0, 0] * zz, (vs * st - K[1, 2]) / K[1, 1] * zz, zz], 1)  # (M, 3)
    planes: list[_Plane] = []
    left = np.ones(len(P), bool)
    tol = cfg.plane_inlier_sigmas * _sigma(P[:, 2], cfg)
    for _ in range(cfg.max_planes):
        idx = np.flatnonzero(left)
        if len(idx) < cfg.min_plane_fraction * len(P):
            break
        pl = _ransac_plane(P[idx], tol[idx], cfg, rng)
        if pl is None or pl.support < cfg.min_plane_fraction * len(P):
            break
        full = np.zeros(len(P), bool)
        full[idx[pl.inliers]] = True
        planes.append(_Plane(pl.n, pl.d, pl.support, full))
        left &= ~(np.abs(P @ pl.n + pl.d) < 2 * tol)
    if cfg.upright_camera:
        # seen from above: normal toward image-up (-y), or facing the camera when looking down
        planes = [p for p in planes if -p.n[1] > 0.2 or -p.n[2] > 0.9]
    if not planes:
        return None
    big = max(planes, key=lambda p: p.support)
    higher = [p for p in planes if p is not big and abs(p.n @ big.n) > 0.95
              and p.d < big.d - cfg.level_gap_m and p.support > 0.25 * big.support]
    plane = min(higher, key=lambda p: p.d) if higher else big
    # image region: convex hull of the inlier patches (at least a tenth of the largest patch)
    grid = np.zeros(zs.shape, np.uint8)
    grid[vs[plane.inliers], us[plane.inliers]] = 1
    grid = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    nl, lab, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA].copy()
    area[0] = 0
    if nl < 2:
        return None
    pv, pu = np.nonzero((area >= 0.1 * area.max())[lab])
    hull = cv2.convexHull(np.stack([pu * st, pv * st], 1).astype(np.int32))
    region = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(region, hull, 1)
    region = cv2.dilate(region, np.ones((2 * st + 1, 2 * st + 1), np.uint8))
    return plane, region


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------


def _colour(rgb: np.ndarray, cfg: RGBDConfig) -> tuple[np.ndarray, np.ndarray]:
    """Lab image (H, W, 3) float32 (lightness at half weight) and colour-edge mask (H, W) bool."""
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2Lab)
    g = cv2.morphologyEx(lab, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edge = np.maximum(np.maximum(g[..., 0] >> 1, g[..., 1]), g[..., 2]) > cfg.colour_edge
    labf = lab.astype(np.float32)
    labf[..., 0] *= 0.5  # shading changes lightness; hue and chroma separate objects better
    return labf, edge


# ---------------------------------------------------------------------------------------------
# Regions and their boundaries
# ---------------------------------------------------------------------------------------------


@dataclass
class _Regions:
    """Additive statistics of R regions (so unions are sums) and their boundaries."""

    area: np.ndarray  # (R,) float64 pixels
    box: np.ndarray  # (R, 4) float64 xyxy pixel edges
    mom: np.ndarray  # (R, 10) float64: valid-point count, sum x, y, z, xx, yy, zz, xy, xz, yz
    border: np.ndarray  # (R,) float64 pixels on the image border
    # boundary edges between regions a < b (and with background, b = -1):
    ea: np.ndarray  # (E,) int64
    eb: np.ndarray  # (E,) int64
    en: np.ndarray  # (E, 4) float64: pixel pairs, valid-depth pairs, jumping pairs, sum of colour diffs


def _region_stats(ws: np.ndarray, ws_full: np.ndarray, seeds: np.ndarray | None, R: int, lab: np.ndarray,
                  z: np.ndarray | None, valid: np.ndarray | None, K: np.ndarray | None, cfg: RGBDConfig) -> _Regions:
    """Statistics of regions 2..R+1 of the watershed labels `ws` (H, W) int32: boxes from
    `ws_full` (lines assigned), 3-D moments from the `seeds` (H, W) int32 markers (RGB-D only),
    depth jumps wherever `z` exists."""
    H, W = ws.shape
    lbl = ws.ravel()
    sel = np.flatnonzero(lbl >= 2)
    r = lbl[sel] - 2
    ys, xs = np.divmod(sel, W)
    area = np.bincount(r, minlength=R).astype(np.float64)
    box = _boxes_only(ws_full, R)
    on_border = (xs <= 1) | (ys <= 1) | (xs >= W - 2) | (ys >= H - 2)  # watershed marks the frame -1
    border = np.bincount(r[on_border], minlength=R).astype(np.float64)
    mom = np.zeros((R, 10))
    if seeds is not None and z is not None and K is not None:
        # 3-D moments of the seeds only: depth-confirmed foreground, not what the watershed added
        ss = np.flatnonzero(seeds.ravel() >= 2)
        rv = seeds.ravel()[ss] - 2
        zv = z.ravel()[ss].astype(np.float64)
        sy, sx = np.divmod(ss, W)
        X = (sx - K[0, 2]) / K[0, 0] * zv
        Y = (sy - K[1, 2]) / K[1, 1] * zv
        cols = (np.ones_like(zv), X, Y, zv, X * X, Y * Y, zv * zv, X * Y, X * zv, Y * zv)
        for i, c in enumerate(cols):
            mom[:, i] = np.bincount(rv, weights=c, minlength=R)

    # boundaries: pixel pairs two apart (watershed lines are one pixel wide)
    pa, pb, dc, nv, nj = [], [], [], [], []
    for sl_a, sl_b in (((slice(None), slice(0, -2)), (slice(None), slice(2, None))),
                       ((slice(0, -2), slice(None)), (slice(2, None), slice(None)))):
        a, b = ws[sl_a], ws[sl_b]
        m = (a != b) & (a >= 1) & (b >= 1) & ((a >= 2) | (b >= 2))
        if not m.any():
            continue
        pa.append(a[m])
        pb.append(b[m])
        diff = lab[sl_a][m] - lab[sl_b][m]
        dc.append(np.sqrt((diff * diff).sum(1)))
        if z is not None:
            za, zb = z[sl_a][m], z[sl_b][m]
            both = valid[sl_a][m] & valid[sl_b][m]
            jt = cfg.jump_rel * np.minimum(za, zb) + cfg.jump_abs_m
            nv.append(both)
            nj.append(both & (np.abs(za - zb) > jt))
    if pa:
        a = np.concatenate(pa).astype(np.int64) - 2
        b = np.concatenate(pb).astype(np.int64) - 2
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        # background (-1) pairs: the region is `hi`
        key_a = np.where(lo < 0, hi, lo)
        key_b = np.where(lo < 0, -1, hi)
        key = key_a * (R + 1) + (key_b + 1)
        uk, inv = np.unique(key, return_inverse=True)
        en = np.zeros((len(uk), 4))
        en[:, 0] = np.bincount(inv, minlength=len(uk))
        if nv:
            en[:, 1] = np.bincount(inv, weights=np.concatenate(nv), minlength=len(uk))
            en[:, 2] = np.bincount(inv, weights=np.concatenate(nj), minlength=len(uk))
        en[:, 3] = np.bincount(inv, weights=np.concatenate(dc), minlength=len(uk))
        ea, eb = uk // (R + 1), uk % (R + 1) - 1
    else:
        ea = eb = np.zeros(0, np.int64)
        en = np.zeros((0, 4))
    return _Regions(area, box, mom, border, ea, eb, en)


def _strengths(en: np.ndarray, rgbd: bool) -> tuple[np.ndarray, np.ndarray]:
    """Depth-jump strength js and colour strength cs in [0, 1] of boundary stats (..., 4).

    js: share of valid-depth pixel pairs across the boundary that jump; in RGB-D mode with a
    prior of 0.5 where depth is missing, in RGB-only mode 0 there (depth only adds evidence).
    cs: mean Lab distance across the boundary, 6 (noise, blur) -> 0 to 40 (clearly different) -> 1.
    """
    js = (en[..., 2] + 1.0) / (en[..., 1] + 2.0) if rgbd else en[..., 2] / (en[..., 1] + 2.0)
    mean_dc = en[..., 3] / np.maximum(en[..., 0], 1.0)
    cs = np.clip((mean_dc - 6.0) / 34.0, 0.0, 1.0)
    return js, cs


def _separation(js, cs, rgbd: bool):
    """How strongly a boundary between two regions separates two objects, in [0, 1].

    RGB-D: depth jumps only. Colour edges split one object into parts (faces, print, rims) as
    often as they separate objects; counting them at 0.6 dropped top-20 recall from 0.97 to 0.92
    (dev seeds 800000-800099). RGB-only: colour (or a depth jump where depth exists).
    """
    return js if rgbd else np.maximum(js, cs)


def _extent(mom: np.ndarray) -> np.ndarray:
    """3-D extent (m) from second moments (..., 10): sqrt(12 * largest variance) (a uniform bar)."""
    n = np.maximum(mom[..., 0], 1.0)
    mu = mom[..., 1:4] / n[..., None]
    cov = np.empty(mom.shape[:-1] + (3, 3))
    for (i, j), k in zip(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)), range(4, 10)):
        c = mom[..., k] / n - mu[..., i] * mu[..., j]
        cov[..., i, j] = c
        cov[..., j, i] = c
    lam = np.linalg.eigvalsh(cov)[..., -1]
    ext = np.sqrt(12.0 * np.maximum(lam, 0.0))
    return np.where(mom[..., 0] >= 5, ext, np.nan)


# ---------------------------------------------------------------------------------------------
# Grouping and scoring
# ---------------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    members: frozenset[int]
    internal: float  # strongest separation merged inside (0 for one region)


def _group(reg: _Regions, R: int, cfg: RGBDConfig, rgbd: bool) -> list[_Candidate]:
    """Greedy hierarchical merging (selective-search style); every union is a candidate.

    RGB-D runs two cost functions, "geometry" (js + 0.25 cs: surfaces continuous in depth
    first) and "appearance" (cs + 0.5 js: similar colour first); RGB-only one (cs + 0.5 js).
    Boundary statistics add up when regions merge, so costs are exact for unions.
    """
    cands = [_Candidate(frozenset([i]), 0.0) for i in range(R) if reg.area[i] > 0]
    pair = reg.eb >= 0
    ea, eb, en = reg.ea[pair], reg.eb[pair], reg.en[pair]
    if not len(ea):
        return cands
    seen = {c.members for c in cands}
    for strategy in (("geometry", "appearance") if rgbd else ("appearance",)):
        members = {i: frozenset([i]) for i in range(R)}
        mom = {i: reg.mom[i] for i in range(R)}
        internal = dict.fromkeys(range(R), 0.0)
        adj: dict[int, dict[int, np.ndarray]] = {i: {} for i in range(R)}  # node -> {node: (4,) stats}
        for a, b, e in zip(ea.tolist(), eb.tolist(), en):
            adj[a][b] = e
            adj[b][a] = e

        def cost(e: np.ndarray) -> float:
            js, cs = _strengths(e, rgbd)
            return float(js + 0.25 * cs) if strategy == "geometry" else float(cs + 0.5 * js)

        heap = [(cost(e), a, b) for a, nb in adj.items() for b, e in nb.items() if a < b]
        heapq.heapify(heap)
        nxt = R
        while heap:
            c, a, b = heapq.heappop(heap)
            if a not in members or b not in members or b not in adj[a]:
                continue  # stale entry: a side was merged already
            if c > cfg.max_merge_cost:
                break
            m = mom[a] + mom[b]
            if rgbd and m[0] >= 5 and _extent(m) > cfg.max_object_m:
                continue
            js, cs = _strengths(adj[a][b], rgbd)
            u = nxt
            nxt += 1
            members[u] = members.pop(a) | members.pop(b)
            mom[u] = m
            internal[u] = max(internal.pop(a), internal.pop(b), float(_separation(js, cs, rgbd)))
            nb_u: dict[int, np.ndarray] = {}
            for old in (a, b):
                for x, e in adj.pop(old).items():
                    if x in (a, b):
                        continue
                    del adj[x][old]
                    nb_u[x] = nb_u[x] + e if x in nb_u else e
            adj[u] = nb_u
            for x, e in nb_u.items():
                adj[x][u] = e
                heapq.heappush(heap, (cost(e), u, x))
            if members[u] not in seen:
                seen.add(members[u])
                cands.append(_Candidate(members[u], internal[u]))
    return cands


def _score(cands: list[_Candidate], reg: _Regions, R: int, image_hw: tuple[int, int], cfg: RGBDConfig,
           rgbd: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Boxes (N, 4), scores (N,), levels (N,) and the score's factors (each (N,)) of the
    candidates (see the module docstring)."""
    H, W = image_hw
    N = len(cands)
    M = np.zeros((N, R))  # candidate x region membership
    for i, c in enumerate(cands):
        M[i, list(c.members)] = 1.0
    area = M @ reg.area
    mom = M @ reg.mom
    border = M @ reg.border
    # boxes: union of member boxes
    boxes = np.zeros((N, 4))
    for i, c in enumerate(cands):
        b = reg.box[list(c.members)]
        boxes[i] = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    # closure: how much of the outer boundary separates it from something else
    js, cs = _strengths(reg.en, rgbd)
    s_edge = np.where(reg.eb < 0, 1.0, _separation(js, cs, rgbd))  # background: 1
    ina = M[:, reg.ea]  # (N, E)
    inb = np.where(reg.eb >= 0, M[:, np.maximum(reg.eb, 0)], 0.0)  # (N, E)
    outer = (ina + inb) == 1  # (N, E) edges crossing the candidate's boundary
    length = outer @ reg.en[:, 0] + border
    closure = (outer @ (reg.en[:, 0] * s_edge) + 0.5 * border) / np.maximum(length, 1.0)  # border: unknown
    # cohesion: a separation merged inside says "two things"
    cohesion = 1.0 - (1.0 if rgbd else 0.5) * np.array([c.internal for c in cands])
    if rgbd:
        ext = _extent(mom)
        lo, hi = cfg.object_size_m
        e = np.maximum(np.nan_to_num(ext, nan=lo), 1e-6)
        p_size = np.exp(-np.maximum(np.log(lo / e), 0.0) ** 2 / 0.5
                        - np.maximum(np.log(e / hi), 0.0) ** 2 / 0.1)
        p_size = np.where(np.isnan(ext), 0.6, p_size)  # no valid depth inside: unknown size
    else:
        frac = area / float(H * W)
        lo, hi = cfg.rgb_area_fraction
        p_size = np.exp(-np.maximum(np.log(lo / np.maximum(frac, 1e-9)), 0.0) ** 2 / 0.5
                        - np.maximum(np.log(frac / hi), 0.0) ** 2 / 0.3)
    fill = area / np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0)
    p_fill = np.clip(fill / 0.25, 0.0, 1.0) ** 0.5  # scattered pieces are not one object
    # no separate border penalty: the border already counts as half-closed in `closure`
    # (an extra x0.8 for truncated candidates cost 1 point of top-20 recall on the dev seeds)
    score = p_size * p_fill * (0.2 + 0.8 * closure * cohesion)
    level = np.array([len(c.members) > 1 for c in cands], np.int8)
    feats = {"closure": closure, "cohesion": cohesion, "p_size": p_size, "p_fill": p_fill,
             "extent_m": _extent(mom) if rgbd else np.full(N, np.nan), "area_px": area}
    return boxes, np.clip(score, 0.0, 1.0), level, feats


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
        scale = min(1.0, cfg.max_side / max(H0, W0))
        if scale < 1.0:
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
        H, W = rgb.shape[:2]
        s_px = W / 640.0  # pixel parameters are given for a 640-wide image
        empty = Segmentation(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int8),
                             np.zeros((H, W), np.int32), None, "rgb", scale, t)
        if H < 2 or W < 2:
            return empty

        valid = None
        z = None
        why = None  # why RGB-D mode is not possible: (key, message), warned once per process
        if depth is None:
            why = ("no_depth", "no depth: RGB-only proposals (lower recall than RGB-D)")
        else:
            valid = np.isfinite(depth) & (depth >= cfg.depth_min_m) & (depth <= cfg.depth_max_m)
            if valid.any():
                z = np.where(valid, depth, np.float32(0)).astype(np.float32)
            else:
                why = ("no_valid_depth", "depth has no valid pixels: RGB-only proposals (lower recall)")
                valid = None
        lab, edge = _colour(rgb, cfg)
        t["colour"] = time.perf_counter() - t0

        support = None
        if z is not None and K is None:
            why = ("no_K", "depth without intrinsics K: RGB-only proposals with depth-jump cues")
        elif z is not None:
            t0 = time.perf_counter()
            support = _support_plane(z, valid, K, cfg, s_px, np.random.default_rng(cfg.seed))
            t["plane"] = time.perf_counter() - t0
            if support is None:
                why = ("no_plane", "no support plane found in depth: RGB-only proposals (lower recall)")
        if why is not None:
            _warn_once(*why)

        t0 = time.perf_counter()
        if support is not None:
            markers, plane_vec = self._rgbd_markers(z, valid, K, edge, lab, support, cfg, s_px)
            mode = "rgbd"
        else:
            markers, plane_vec = self._rgb_markers(edge, cfg, s_px), None
            mode = "rgb"
        R = int(markers.max()) - 1
        t["seeds"] = time.perf_counter() - t0
        if R < 1:
            empty.mode, empty.plane = mode, plane_vec
            return empty
        t0 = time.perf_counter()
        seeds = markers.copy() if mode == "rgbd" else None  # cv2.watershed overwrites its markers
        ws = cv2.watershed(np.ascontiguousarray(rgb), markers)
        if mode == "rgb":
            ws = _rgb_background(ws, R, cfg)
        # watershed lines (and cv2's one-pixel image frame): boxes take them from the highest
        # neighbouring label, i.e. a region rather than background
        grown = cv2.dilate(ws.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
        ws_full = np.where((ws == -1) & (grown >= 2), grown, ws)
        t["watershed"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        reg = _region_stats(ws, ws_full, seeds, R, lab, z, valid, K, cfg)
        t["regions"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rgbd = mode == "rgbd"
        cands = _group(reg, R, cfg, rgbd)
        boxes, scores, level, feats = _score(cands, reg, R, (H, W), cfg, rgbd)
        t["group"] = time.perf_counter() - t0
        if scale < 1.0:
            boxes = boxes / np.array([W / W0, H / H0, W / W0, H / H0])
        order = np.argsort(-scores, kind="stable")
        return Segmentation(boxes[order], scores[order], level[order], ws, plane_vec, mode, scale, t,
                            {k: v[order] for k, v in feats.items()})

    # ---- markers -----------------------------------------------------------------------------
    @staticmethod
    def _rgbd_markers(z: np.ndarray, valid: np.ndarray, K: np.ndarray, edge: np.ndarray, lab: np.ndarray,
                      support: tuple[_Plane, np.ndarray], cfg: RGBDConfig,
                      s_px: float) -> tuple[np.ndarray, np.ndarray]:
        """Watershed markers (H, W) int32: 0 unknown, 1 background, 2.. seeds; and the plane (4,)."""
        plane, region = support
        H, W = z.shape
        n, d = plane.n, plane.d
        gx = (n[0] * (np.arange(W) - K[0, 2]) / K[0, 0]).astype(np.float32)  # (W,)
        gy = (n[1] * (np.arange(H) - K[1, 2]) / K[1, 1] + n[2]).astype(np.float32)  # (H,)
        h = z * (gy[:, None] + gx[None, :]) + np.float32(d)  # (H, W) height above the plane, m
        vf = valid.astype(np.float32)
        hs = cv2.boxFilter(h * vf, -1, (5, 5), normalize=False)
        cnt = cv2.boxFilter(vf, -1, (5, 5), normalize=False)
        hs = np.where(cnt > 0.5, hs / np.maximum(cnt, 1e-6), 0.0)  # NaN-aware 5x5 mean height
        thr = np.maximum(cfg.min_height_m, cfg.height_sigmas * _sigma(z, cfg))
        fg = valid & (hs > thr) & (h > 0.5 * thr) & (h < cfg.max_height_m)
        # far side of depth jumps: the near side belongs to the occluder
        jt = cfg.jump_rel * z + cfg.jump_abs_m
        far = np.zeros((H, W), bool)
        dzx = z[:, 1:] - z[:, :-1]
        bx = valid[:, 1:] & valid[:, :-1] & (np.abs(dzx) > jt[:, 1:])
        far[:, 1:] |= bx & (dzx > 0)
        far[:, :-1] |= bx & (dzx < 0)
        dzy = z[1:] - z[:-1]
        by = valid[1:] & valid[:-1] & (np.abs(dzy) > jt[1:])
        far[1:] |= by & (dzy > 0)
        far[:-1] |= by & (dzy < 0)
        fg &= ~far
        min_px = max(2, int(round(cfg.min_seed_px * s_px * s_px)))
        nf, flab = _components(fg)
        seed = fg & ~edge
        ns, slab = _components(seed)
        keep = np.bincount(slab.ravel(), minlength=ns) >= min_px
        keep[0] = False
        # foreground blobs that colour edges ate whole become one seed
        kept = keep[slab]
        covered = np.bincount(flab[kept], minlength=nf) > 0
        lost = (~covered) & (np.bincount(flab.ravel(), minlength=nf) >= min_px)
        lost[0] = False
        ids = np.zeros(ns, np.int32)
        ids[keep] = np.arange(1, int(keep.sum()) + 1)
        seeds = ids[slab]
        nxt = int(keep.sum()) + 1
        if lost.any():
            lid = np.zeros(nf, np.int32)
            lid[lost] = np.arange(nxt, nxt + int(lost.sum()))
            extra = lid[flab]
            seeds = np.where(extra > 0, extra, seeds)
            nxt += int(lost.sum())
        if cfg.hole_seeds:
            seeds, nxt = _hole_seeds(seeds, nxt, valid, hs < 0.5 * thr, region, edge, lab, cfg, s_px)
        # seeds must touch the support region
        inside = np.bincount(seeds[region.view(bool)], minlength=nxt) > 0
        inside[0] = False
        remap = np.zeros(nxt, np.int32)
        remap[inside] = np.arange(2, 2 + int(inside.sum()))
        markers = remap[seeds]  # (H, W) 0 or 2..
        sm = (markers > 0).astype(np.uint8)
        # An object's lowest band is as high as the table to depth: slide the seeds' rims down
        # (along -n, by base_slide x the height threshold) and leave where they land to colour.
        rim = sm & ~cv2.erode(sm, np.ones((3, 3), np.uint8))
        vv, uu = np.nonzero(rim)
        zr = z[vv, uu].astype(np.float64)
        X = np.stack([(uu - K[0, 2]) / K[0, 0] * zr, (vv - K[1, 2]) / K[1, 1] * zr, zr], 1)  # (M, 3)
        step = (cfg.base_slide * thr[vv, uu])[:, None] * n[None, :]  # (M, 3)
        slid = sm.copy()
        for k in (0.25, 0.5, 0.75, 1.0):
            Xk = X - k * step
            zk = np.maximum(Xk[:, 2], 1e-3)
            uk = np.rint(K[0, 0] * Xk[:, 0] / zk + K[0, 2]).astype(np.int64)
            vk = np.rint(K[1, 1] * Xk[:, 1] / zk + K[1, 2]).astype(np.int64)
            ok = (uk >= 0) & (uk < W) & (vk >= 0) & (vk < H)
            slid[vk[ok], uk[ok]] = 1
        slid = cv2.morphologyEx(slid, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        rb = max(0, int(round(cfg.base_px * s_px)))
        near = cv2.dilate(slid, np.ones((2 * rb + 1, 2 * rb + 1), np.uint8)) if rb else slid
        rB = max(1, int(round(cfg.band_px * s_px)))
        band = cv2.dilate(sm, np.ones((2 * rB + 1, 2 * rB + 1), np.uint8))
        rH = max(rB, int(round(cfg.hole_band_px * s_px)))
        holes = cv2.dilate(sm, np.ones((2 * rH + 1, 2 * rH + 1), np.uint8)) & (~valid).view(np.uint8)
        bg = ((valid & (hs < 0.5 * thr) & (near == 0)) | ((band == 0) & (holes == 0))).view(np.uint8)
        # background islands (a cup's floor is as high as the table) are left to the watershed
        nb, blab = _components(bg)
        big = np.bincount(blab.ravel(), minlength=nb) >= cfg.min_background_px * s_px * s_px
        big[0] = False
        bg = big[blab]
        markers[bg & (markers == 0)] = 1
        return markers, np.array([n[0], n[1], n[2], d])

    @staticmethod
    def _rgb_markers(edge: np.ndarray, cfg: RGBDConfig, s_px: float) -> np.ndarray:
        """Watershed markers (H, W) int32 from colour alone: non-edge regions, 0 elsewhere."""
        min_px = max(2, int(round(cfg.min_seed_px * s_px * s_px)))
        ns, slab = _components(~edge)
        area = np.bincount(slab.ravel(), minlength=ns)
        area[0] = 0
        keep = area >= min_px
        if keep.sum() > cfg.max_regions:
            keep &= area >= np.sort(area)[-cfg.max_regions]
        ids = np.zeros(ns, np.int32)
        ids[keep] = np.arange(2, 2 + int(keep.sum()))
        return ids[slab]


def _hole_seeds(seeds: np.ndarray, nxt: int, valid: np.ndarray, table: np.ndarray, region: np.ndarray,
                edge: np.ndarray, lab: np.ndarray, cfg: RGBDConfig, s_px: float) -> tuple[np.ndarray, int]:
    """Add seeds where depth is missing (black, shiny or transparent objects; dropout blobs):
    4-connected non-edge pixels without depth inside the support region, between
    `min_seed_px` and `hole_max_fraction` of the image, whose mean colour differs from the
    table ring around them (`table`: valid near-plane pixels, within 15 px) by a colour
    strength of at least `hole_min_contrast`, and not within 4 px of a depth seed (such holes
    belong to that object; the watershed fills them). Found on a 2x subsampled grid (seeds
    need not be exact). Returns the seeds (H, W) int32 and the next free id."""
    H, W = seeds.shape
    cand_full = ~valid & ~edge & region.view(bool) & (seeds == 0)
    cand = np.ascontiguousarray(cand_full[::2, ::2])  # (H/2, W/2)
    n, hl = _components(cand)
    if n < 2:
        return seeds, nxt
    area = 4 * np.bincount(hl.ravel(), minlength=n)
    ok = (area >= max(2, cfg.min_seed_px * s_px * s_px)) & (area <= cfg.hole_max_fraction * H * W)
    ok[0] = False
    if not ok.any():
        return seeds, nxt
    hl = np.where(ok[hl], hl, 0).astype(np.int32)
    hf = hl.astype(np.float32)
    rt = max(1, int(round(2 * s_px)))  # 4 px at full resolution
    near = cv2.dilate(hf, np.ones((2 * rt + 1, 2 * rt + 1), np.uint8)).astype(np.int32)
    touching = np.bincount(near[(seeds[::2, ::2] > 0) & (near > 0)], minlength=n) > 0
    ok &= ~touching
    if not ok.any():
        return seeds, nxt
    r = max(2, int(round(7.5 * s_px)))  # 15 px at full resolution
    ring_lab = cv2.dilate(hf, np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(np.int32)
    ring = (hl == 0) & (ring_lab > 0) & table[::2, ::2]
    inner = hl > 0
    lab2 = lab[::2, ::2]
    mean_in = np.stack([np.bincount(hl[inner], weights=lab2[..., c][inner], minlength=n) for c in range(3)], 1)
    mean_out = np.stack([np.bincount(ring_lab[ring], weights=lab2[..., c][ring], minlength=n) for c in range(3)], 1)
    cnt_in = np.maximum(np.bincount(hl[inner], minlength=n), 1)[:, None]
    cnt_out = np.bincount(ring_lab[ring], minlength=n)[:, None]
    dist = np.linalg.norm(mean_in / cnt_in - mean_out / np.maximum(cnt_out, 1), axis=1)
    contrast = np.clip((dist - 6.0) / 34.0, 0.0, 1.0)  # the colour strength of _strengths
    keep = ok & (cnt_out[:, 0] > 0) & (contrast >= cfg.hole_min_contrast)
    if not keep.any():
        return seeds, nxt
    ids = np.zeros(n, np.int32)
    ids[keep] = np.arange(nxt, nxt + int(keep.sum()))
    new = np.repeat(np.repeat(ids[hl], 2, axis=0), 2, axis=1)[:H, :W] * cand_full  # back to full resolution
    return np.where(new > 0, new, seeds), nxt + int(keep.sum())


def _rgb_background(ws: np.ndarray, R: int, cfg: RGBDConfig) -> np.ndarray:
    """RGB-only: regions covering >= `rgb_background_fraction` of the image and touching its
    border (table, walls, floor) become background (label 1), so that boundaries with them
    count as closed and no union includes them."""
    H, W = ws.shape
    lbl = ws.ravel()
    area = np.bincount(np.maximum(lbl, 0), minlength=R + 2)
    frame = np.concatenate([ws[1], ws[H - 2], ws[:, 1], ws[:, W - 2]]) if H > 2 and W > 2 else ws.ravel()
    touches = np.bincount(np.maximum(frame, 0), minlength=R + 2) > 0
    bg = (area >= cfg.rgb_background_fraction * H * W) & touches
    bg[:2] = False
    if not bg.any():
        return ws
    lut = np.arange(R + 2, dtype=np.int32)
    lut[bg] = 1
    return np.where(ws >= 2, lut[np.maximum(ws, 0)], ws)


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """4-connected components of a (H, W) bool/uint8 mask: count (with background 0) and
    (H, W) int32 labels. (cv2's ...WithStats is 5x slower here; areas come from bincount.)"""
    m = mask.view(np.uint8) if mask.dtype == np.bool_ else mask
    return cv2.connectedComponents(np.ascontiguousarray(m), connectivity=4, ltype=cv2.CV_32S)


def _boxes_only(ws: np.ndarray, R: int) -> np.ndarray:
    """(R, 4) float64 boxes (pixel edges) of labels 2..R+1 in `ws`; (W, H, 0, 0) when absent."""
    H, W = ws.shape
    lbl = ws.ravel()
    sel = np.flatnonzero(lbl >= 2)
    r = lbl[sel] - 2
    ys, xs = np.divmod(sel, W)
    x1 = np.full(R, W, np.int64)
    y1 = np.full(R, H, np.int64)
    x2 = np.full(R, -1, np.int64)
    y2 = np.full(R, -1, np.int64)
    np.minimum.at(x1, r, xs)
    np.minimum.at(y1, r, ys)
    np.maximum.at(x2, r, xs)
    np.maximum.at(y2, r, ys)
    return np.stack([x1, y1, x2 + 1, y2 + 1], 1).astype(np.float64)
