"""Colour edges, the support plane and the watershed markers: the first half of `RGBDProposer`.

Marker images are (H, W) int32: 0 unknown (the watershed decides), 1 background, 2.. seeds.
See `rgbd.py` for the pipeline and `RGBDConfig` for every parameter.

Dims: `H, W` working-image pixels, `M` points, `T` RANSAC hypotheses.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .grouping import components
from .rgbd_config import RGBDConfig

__all__ = ["Plane", "Markers", "colour", "support_plane", "rgbd_markers", "rgb_markers"]


def colour(rgb: np.ndarray, cfg: RGBDConfig) -> tuple[np.ndarray, np.ndarray]:
    """Lab image (H, W, 3) float32 (lightness at half weight: shading changes lightness, hue and
    chroma separate objects better) and the colour-edge mask (H, W) bool: the 3x3 morphological
    gradient of the 3x3-blurred uint8 Lab image, max over channels, above `colour_edge`."""
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2Lab)
    g = cv2.morphologyEx(lab, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edge = np.maximum(np.maximum(g[..., 0] >> 1, g[..., 1]), g[..., 2]) > cfg.colour_edge
    labf = lab.astype(np.float32)
    labf[..., 0] *= 0.5
    return labf, edge


def sigma(z: np.ndarray, cfg: RGBDConfig) -> np.ndarray:
    """Depth noise std (m) at depth z (m): noise_base_m + noise_quad * z^2."""
    return cfg.noise_base_m + cfg.noise_quad * z * z


# ---------------------------------------------------------------------------------------------
# Support plane
# ---------------------------------------------------------------------------------------------


@dataclass
class Plane:
    n: np.ndarray  # (3,) unit normal toward the camera
    d: float  # camera height above the plane, m: height(X) = n . X + d
    support: int  # inlier grid points
    inliers: np.ndarray  # (M,) bool over the grid points


def _ransac_plane(P: np.ndarray, tol: np.ndarray, cfg: RGBDConfig, rng: np.random.Generator) -> Plane | None:
    """Best plane through (M, 3) points with per-point inlier bands `tol` (M,): vectorised RANSAC
    scored on at most `ransac_eval_points` points, then three least-squares refits on the inliers
    weighted by 1 / tol^2 (near points are far more precise; unweighted fits tilted by up to
    0.9 deg, weighted by at most 0.19 deg on 60 dev scenes)."""
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
    best = int(np.argmax((np.abs(E @ nrm.T + off) < tE[:, None]).sum(0)))
    n, d = nrm[best], float(off[best])
    w = 1.0 / tE**2
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
    return Plane(n, d, int(m.sum()), m)


def support_plane(z: np.ndarray, valid: np.ndarray, K: np.ndarray, cfg: RGBDConfig, s_px: float,
                  rng: np.random.Generator) -> tuple[Plane, np.ndarray] | None:
    """The support plane and its image region ((H, W) uint8 0/1), or None.

    Up to `max_planes` planes are extracted in turn from a `plane_stride` grid. With
    `upright_camera` only planes seen from above count (normal toward image-up; else, for a
    camera looking straight down, a plane facing it). The support is the largest, unless a parallel plane at least
    `level_gap_m` nearer the camera holds a quarter of its support (a table above the floor).
    Its region is the convex hull of its inlier patches (each at least a tenth of the largest).
    """
    H, W = z.shape
    st = max(1, int(round(cfg.plane_stride * s_px)))
    zs = z[::st, ::st]
    vs, us = np.nonzero(valid[::st, ::st])
    if len(vs) < 50:
        return None
    zz = zs[vs, us].astype(np.float64)
    P = np.stack([(us * st - K[0, 2]) / K[0, 0] * zz, (vs * st - K[1, 2]) / K[1, 1] * zz, zz], 1)  # (M, 3)
    tol = cfg.plane_inlier_sigmas * sigma(P[:, 2], cfg)
    planes: list[Plane] = []
    left = np.ones(len(P), bool)
    for _ in range(cfg.max_planes):
        idx = np.flatnonzero(left)
        if len(idx) < cfg.min_plane_fraction * len(P):
            break
        pl = _ransac_plane(P[idx], tol[idx], cfg, rng)
        if pl is None or pl.support < cfg.min_plane_fraction * len(P):
            break
        full = np.zeros(len(P), bool)
        full[idx[pl.inliers]] = True
        planes.append(Plane(pl.n, pl.d, pl.support, full))
        left &= ~(np.abs(P @ pl.n + pl.d) < 2 * tol)
    if cfg.upright_camera:
        # an upright camera pitched down sees a horizontal surface's top with the normal toward
        # image-up (n_y < 0); a wall facing it has n_y > 0. Looking straight down, n ~ (0, 0, -1).
        seen_from_above = [p for p in planes if p.n[1] < -0.1]
        planes = seen_from_above or [p for p in planes if -p.n[2] > 0.97 and abs(p.n[1]) <= 0.1]
    if not planes:
        return None
    big = max(planes, key=lambda p: p.support)
    higher = [p for p in planes if p is not big and abs(p.n @ big.n) > 0.95
              and p.d < big.d - cfg.level_gap_m and p.support > 0.25 * big.support]
    plane = min(higher, key=lambda p: p.d) if higher else big
    grid = np.zeros(zs.shape, np.uint8)
    grid[vs[plane.inliers], us[plane.inliers]] = 1
    grid = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    nl, lab = cv2.connectedComponents(grid, connectivity=8)
    if nl < 2:
        return None
    area = np.bincount(lab.ravel(), minlength=nl)
    area[0] = 0
    pv, pu = np.nonzero((area >= 0.1 * area.max())[lab])
    hull = cv2.convexHull(np.stack([pu * st, pv * st], 1).astype(np.int32))
    region = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(region, hull, 1)
    return plane, cv2.dilate(region, np.ones((2 * st + 1, 2 * st + 1), np.uint8))


# ---------------------------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------------------------


@dataclass
class Markers:
    markers: np.ndarray  # (H, W) int32: 0 unknown, 1 background, 2.. seeds
    alt: np.ndarray | None = None  # (H, W) int32: the same with a wider undecided band at object bases
    plane: np.ndarray | None = None  # (4,) float64 (n, d)


def _largest(area: np.ndarray, k: int) -> np.ndarray:
    """(L,) bool: the k largest entries of `area` among labels 1.. (label 0 is not a seed)."""
    keep = np.ones(len(area), bool)
    if len(area) - 1 > k:
        keep[:] = False
        keep[1 + np.argpartition(-area[1:], k - 1)[:k]] = True
    return keep


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    return cv2.dilate(mask, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) if r > 0 else mask


def _far_side_of_jumps(z: np.ndarray, valid: np.ndarray, cfg: RGBDConfig) -> np.ndarray:
    """(H, W) bool: the farther pixel of each 4-neighbour pair whose depths jump (the nearer
    one belongs to the occluder)."""
    H, W = z.shape
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
    return far


def _hole_seeds(seeds: np.ndarray, nxt: int, valid: np.ndarray, table: np.ndarray, region: np.ndarray,
                edge: np.ndarray, lab: np.ndarray, cfg: RGBDConfig, s_px: float) -> tuple[np.ndarray, int]:
    """Add seeds where depth is missing (black, shiny or transparent objects).

    4-connected non-edge pixels without depth inside the support region, between `min_seed_px`
    and `hole_max_fraction` of the image, whose mean colour differs from the table ring around
    them (`table`: valid near-plane pixels within 15 px) by a colour strength of at least
    `hole_min_contrast`, and not within 4 px of a depth seed (such holes belong to that object;
    the watershed fills them). Found on a 2x subsampled grid (seeds need not be exact).
    Returns the seeds (H, W) int32 and the next free id.
    """
    H, W = seeds.shape
    cand_full = ~valid & ~edge & region.view(bool) & (seeds == 0)
    n, hl = components(np.ascontiguousarray(cand_full[::2, ::2]))  # (H/2, W/2)
    if n < 2:
        return seeds, nxt
    area = 4 * np.bincount(hl.ravel(), minlength=n)
    ok = (area >= max(2, cfg.min_seed_px * s_px * s_px)) & (area <= cfg.hole_max_fraction * H * W)
    ok[0] = False
    if not ok.any():
        return seeds, nxt
    hl = np.where(ok[hl], hl, 0).astype(np.int32)
    hf = hl.astype(np.float32)
    near = _dilate(hf, max(1, int(round(2 * s_px)))).astype(np.int32)
    ok &= ~(np.bincount(near[(seeds[::2, ::2] > 0) & (near > 0)], minlength=n) > 0)
    if not ok.any():
        return seeds, nxt
    ring_lab = _dilate(hf, max(2, int(round(7.5 * s_px)))).astype(np.int32)
    ring = (hl == 0) & (ring_lab > 0) & table[::2, ::2]
    inner = hl > 0
    lab2 = lab[::2, ::2]
    mean_in = np.stack([np.bincount(hl[inner], weights=lab2[..., c][inner], minlength=n) for c in range(3)], 1)
    mean_out = np.stack([np.bincount(ring_lab[ring], weights=lab2[..., c][ring], minlength=n) for c in range(3)], 1)
    cnt_in = np.maximum(np.bincount(hl[inner], minlength=n), 1)[:, None]
    cnt_out = np.bincount(ring_lab[ring], minlength=n)[:, None]
    dist = np.linalg.norm(mean_in / cnt_in - mean_out / np.maximum(cnt_out, 1), axis=1)
    contrast = np.clip((dist - 6.0) / 34.0, 0.0, 1.0)  # the colour strength of grouping.strengths
    keep = ok & (cnt_out[:, 0] > 0) & (contrast >= cfg.hole_min_contrast)
    if not keep.any():
        return seeds, nxt
    ids = np.zeros(n, np.int32)
    ids[keep] = np.arange(nxt, nxt + int(keep.sum()))
    new = np.repeat(np.repeat(ids[hl], 2, axis=0), 2, axis=1)[:H, :W] * cand_full
    return np.where(new > 0, new, seeds), nxt + int(keep.sum())


def _slide_down(sm: np.ndarray, z: np.ndarray, K: np.ndarray, n: np.ndarray, thr: np.ndarray,
                cfg: RGBDConfig) -> np.ndarray:
    """(H, W) uint8: the seeds `sm` plus their rims slid down along -n by up to `base_slide` x
    the height threshold (in four steps), projected back into the image: where the object's
    lowest band, as high as the table to a depth camera, should be."""
    H, W = sm.shape
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
    return cv2.morphologyEx(slid, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))


def rgbd_markers(z: np.ndarray, valid: np.ndarray, K: np.ndarray, edge: np.ndarray, lab: np.ndarray,
                 support: tuple[Plane, np.ndarray], cfg: RGBDConfig, s_px: float) -> Markers:
    """Markers from depth (steps 2-4 of the pipeline in `rgbd.py`).

    Args:
        z: (H, W) float32 depth, 0 where invalid; valid: (H, W) bool; K: (3, 3) working intrinsics;
        edge: (H, W) bool colour edges; lab: (H, W, 3) float32; support: plane and its region.
    """
    plane, region = support
    H, W = z.shape
    n, d = plane.n, plane.d
    gx = (n[0] * (np.arange(W) - K[0, 2]) / K[0, 0]).astype(np.float32)  # (W,)
    gy = (n[1] * (np.arange(H) - K[1, 2]) / K[1, 1] + n[2]).astype(np.float32)  # (H,)
    h = z * (gy[:, None] + gx[None, :]) + np.float32(d)  # (H, W) height above the plane, m
    vf = valid.astype(np.float32)
    hs = cv2.boxFilter(h * vf, -1, (5, 5), normalize=False)
    cnt = cv2.boxFilter(vf, -1, (5, 5), normalize=False)
    hs = np.where(cnt > 0.5, hs / np.maximum(cnt, 1e-6), 0.0)  # (H, W) NaN-aware 5x5 mean height
    thr = np.maximum(cfg.min_height_m, cfg.height_sigmas * sigma(z, cfg))  # (H, W)
    fg = valid & (hs > thr) & (h > 0.5 * thr) & (h < cfg.max_height_m) & ~_far_side_of_jumps(z, valid, cfg)

    # seeds: foreground without colour edges; a blob that edges eat whole stays one seed
    min_px = max(2, int(round(cfg.min_seed_px * s_px * s_px)))
    nf, flab = components(fg)
    ns, slab = components(fg & ~edge)
    keep = np.bincount(slab.ravel(), minlength=ns) >= min_px
    keep[0] = False
    covered = np.bincount(flab[keep[slab]], minlength=nf) > 0
    lost = ~covered & (np.bincount(flab.ravel(), minlength=nf) >= min_px)
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
    table = hs < 0.5 * thr
    if cfg.hole_seeds:
        seeds, nxt = _hole_seeds(seeds, nxt, valid, table, region, edge, lab, cfg, s_px)
    inside = np.bincount(seeds[region.view(bool)], minlength=nxt) > 0  # seeds must touch the support
    inside[0] = False
    inside &= _largest(np.bincount(seeds.ravel(), minlength=nxt), cfg.max_regions)
    remap = np.zeros(nxt, np.int32)
    remap[inside] = np.arange(2, 2 + int(inside.sum()))
    markers = remap[seeds]  # (H, W) 0 or 2..
    sm = (markers > 0).astype(np.uint8)

    # background: near-plane pixels away from the seeds' slid-down rims, and everything beyond
    # band_px of a seed (hole_band_px where depth is missing), without islands (cup floors)
    slid = _slide_down(sm, z, K, n, thr, cfg)
    rb = max(0, int(round(cfg.base_px * s_px)))
    rB = max(1, int(round(cfg.band_px * s_px)))
    rH = max(rB, int(round(cfg.hole_band_px * s_px)))
    near = _dilate(slid, rb)
    band = _dilate(sm, rB)
    holes = _dilate(sm, rH) & (~valid).view(np.uint8)
    bg = ((valid & table & (near == 0)) | ((band == 0) & (holes == 0))).view(np.uint8)
    nb, blab = components(bg)
    big = np.bincount(blab.ravel(), minlength=nb) >= cfg.min_background_px * s_px * s_px
    big[0] = False
    markers[big[blab] & (markers == 0)] = 1
    alt = None
    if cfg.alt_base_px > cfg.base_px:
        alt = markers.copy()
        alt[(alt == 1) & (_dilate(slid, int(round(cfg.alt_base_px * s_px))) > 0)] = 0
    return Markers(markers, alt, np.array([n[0], n[1], n[2], d]))


def rgb_markers(edge: np.ndarray, cfg: RGBDConfig, s_px: float) -> Markers:
    """Markers from colour alone: every 4-connected non-edge region of at least `min_seed_px`
    (the `max_regions` largest); no background marker."""
    min_px = max(2, int(round(cfg.min_seed_px * s_px * s_px)))
    ns, slab = components(~edge)
    area = np.bincount(slab.ravel(), minlength=ns)
    area[0] = 0
    keep = (area >= min_px) & _largest(area, cfg.max_regions)
    ids = np.zeros(ns, np.int32)
    ids[keep] = np.arange(2, 2 + int(keep.sum()))
    return Markers(ids[slab])
