"""Analytic RGB-D test scenes for the geometry tests: a table, a back wall and simple solids.

Depth is rendered by ray casting every pixel centre against exact surfaces (plane, sphere,
yaw-rotated cuboid, upright cylinder), so ground-truth centres are exact. The camera sits
``height`` above the table, pitched ``pitch_deg`` down, looking along world +Y.

World frame: X right, Y forward (away from the camera), Z up; table at Z = 0.
Dim names: ``H, W`` pixels, ``R`` rays (= H * W), ``K`` objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fo1_ros.geometry import CameraModel

INF = np.inf


@dataclass
class Solid:
    """A solid on (or above) the table. ``center`` world (3,), ``dims`` per kind:
    sphere (r,), cuboid (sx, sy, sz), cylinder (r, height). ``yaw_deg`` for cuboids."""

    kind: str
    center: tuple[float, float, float]
    dims: tuple[float, ...]
    yaw_deg: float = 0.0
    label: str = ""

    @staticmethod
    def sphere(x: float, y: float, r: float, label: str = "", z: float | None = None) -> Solid:
        return Solid("sphere", (x, y, r if z is None else z), (r,), label=label)

    @staticmethod
    def cuboid(
        x: float, y: float, sx: float, sy: float, sz: float, yaw_deg: float = 0.0, label: str = ""
    ) -> Solid:
        return Solid("cuboid", (x, y, sz / 2), (sx, sy, sz), yaw_deg, label)

    @staticmethod
    def cylinder(x: float, y: float, r: float, h: float, label: str = "") -> Solid:
        return Solid("cylinder", (x, y, h / 2), (r, h), label=label)


@dataclass
class Scene:
    camera: CameraModel
    depth: np.ndarray  # (H, W) float32 metres, NaN = no return
    ids: np.ndarray  # (H, W) int: -2 wall/none, -1 table, k = solid k
    solids: list[Solid]
    centers_cam: np.ndarray  # (K, 3) ground-truth centres in the optical frame
    boxes: np.ndarray  # (K, 4) tight xyxy boxes of the visible pixels (NaN if unseen)
    visible_fraction: np.ndarray  # (K,) visible pixels / pixels the solid alone would cover
    R_wc: np.ndarray = field(repr=False)  # (3, 3) optical axes as world columns
    t_wc: np.ndarray = field(repr=False)  # (3,) camera position in the world


def default_camera(width: int = 640, height: int = 480) -> CameraModel:
    s = width / 640.0
    return CameraModel(
        fx=525.0 * s,
        fy=525.0 * s,
        cx=s * 320.0 - 0.5,
        cy=s * 240.0 - 0.5,
        width=width,
        height=height,
    )


def camera_pose(height: float, pitch_deg: float) -> tuple[np.ndarray, np.ndarray]:
    th = math.radians(pitch_deg)
    x = np.array([1.0, 0.0, 0.0])
    z = np.array([0.0, math.cos(th), -math.sin(th)])
    y = np.cross(z, x)  # image down
    return np.stack([x, y, z], axis=1), np.array([0.0, 0.0, height])


def _hit_solid(s: Solid, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Ray parameter of the first hit (R,), inf where missed. Rays o + t d, d (R, 3)."""
    c = np.asarray(s.center, dtype=np.float64)
    oc = o - c  # (3,)
    t = np.full(len(d), INF)
    with np.errstate(invalid="ignore", divide="ignore"):
        if s.kind == "sphere":
            r = s.dims[0]
            a = np.einsum("ij,ij->i", d, d)
            b = d @ oc
            disc = b * b - a * (oc @ oc - r * r)
            hit = disc >= 0
            t0 = (-b - np.sqrt(np.where(hit, disc, 0))) / a
            t = np.where(hit & (t0 > 0), t0, INF)
        elif s.kind == "cuboid":
            yaw = math.radians(s.yaw_deg)
            cy_, sy_ = math.cos(yaw), math.sin(yaw)
            Rz = np.array([[cy_, -sy_, 0], [sy_, cy_, 0], [0, 0, 1.0]])  # box -> world
            ol = Rz.T @ oc  # (3,)
            dl = d @ Rz  # (R, 3) = (Rz^T d^T)^T
            half = np.asarray(s.dims) / 2
            t1 = (-half - ol) / dl
            t2 = (half - ol) / dl
            tmin = np.nanmax(np.minimum(t1, t2), axis=1)
            tmax = np.nanmin(np.maximum(t1, t2), axis=1)
            hit = (tmax >= tmin) & (tmin > 0)
            t = np.where(hit, tmin, INF)
        elif s.kind == "cylinder":
            r, h = s.dims
            a = d[:, 0] ** 2 + d[:, 1] ** 2
            b = d[:, 0] * oc[0] + d[:, 1] * oc[1]
            cc = oc[0] ** 2 + oc[1] ** 2 - r * r
            disc = b * b - a * cc
            ts = (-b - np.sqrt(np.where(disc >= 0, disc, 0))) / a
            zs = oc[2] + ts * d[:, 2]
            side = (disc >= 0) & (ts > 0) & (np.abs(zs) <= h / 2)
            t = np.where(side, ts, INF)
            for zc in (h / 2, -h / 2):
                tc = (zc - oc[2]) / d[:, 2]
                px, py = oc[0] + tc * d[:, 0], oc[1] + tc * d[:, 1]
                cap = (tc > 0) & (px * px + py * py <= r * r)
                t = np.minimum(t, np.where(cap, tc, INF))
        else:
            raise ValueError(f"unknown solid kind {s.kind!r}")
    return t


def render(
    solids: list[Solid],
    camera: CameraModel | None = None,
    height: float = 0.6,
    pitch_deg: float = 35.0,
    wall_y: float = 2.2,
) -> Scene:
    """Ray-cast the scene. Depth is z in the optical frame (ray parameter with d_z = 1)."""
    cam = camera or default_camera()
    R_wc, t_wc = camera_pose(height, pitch_deg)
    xn, yn = cam.normalized_grid()  # (H, W)
    d_cam = np.stack([xn, yn, np.ones_like(xn)], axis=-1).reshape(-1, 3)  # (R, 3)
    d = d_cam @ R_wc.T  # (R, 3) world directions with camera z = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t_table = np.where(d[:, 2] < 0, -t_wc[2] / d[:, 2], INF)
        t_wall = np.where(d[:, 1] > 0, (wall_y - t_wc[1]) / d[:, 1], INF)
    best = np.minimum(t_table, t_wall)
    ids = np.where(t_table <= t_wall, -1, -2)
    ids[~np.isfinite(best)] = -2
    alone = []
    for k, s in enumerate(solids):
        t = _hit_solid(s, t_wc, d)
        alone.append(np.isfinite(t).sum())
        closer = t < best
        best = np.where(closer, t, best)
        ids = np.where(closer, k, ids)
    H, W = cam.shape
    depth = np.where(np.isfinite(best), best, np.nan).astype(np.float32).reshape(H, W)
    ids = ids.reshape(H, W)
    boxes = np.full((len(solids), 4), np.nan)
    vis = np.zeros(len(solids))
    for k in range(len(solids)):
        rr, cc = np.nonzero(ids == k)
        if len(rr):
            boxes[k] = [cc.min(), rr.min(), cc.max() + 1, rr.max() + 1]
            vis[k] = len(rr) / max(alone[k], 1)
    centers = (np.array([s.center for s in solids], dtype=np.float64).reshape(-1, 3) - t_wc) @ R_wc
    return Scene(cam, depth, ids, list(solids), centers, boxes, vis, R_wc, t_wc)


def add_noise(
    depth: np.ndarray,
    rng: np.random.Generator,
    sigma0: float = 0.001,
    sigma2: float = 0.0025,
    dropout: float = 0.0,
) -> np.ndarray:
    """Axial noise ``sigma0 + sigma2 z^2`` (structured-light-like) and random NaN dropout."""
    z = depth.astype(np.float64)
    noisy = z + rng.normal(size=z.shape) * (sigma0 + sigma2 * np.nan_to_num(z) ** 2)
    if dropout > 0:
        noisy[rng.random(z.shape) < dropout] = np.nan
    return noisy.astype(np.float32)


def grow_box(box: np.ndarray, factor: float, camera: CameraModel) -> np.ndarray:
    """Scale a box's sides by ``factor`` about its centre, clipped to the image."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
    return np.array(
        [max(0, cx - hw), max(0, cy - hh), min(camera.width, cx + hw), min(camera.height, cy + hh)]
    )


def random_solids(rng: np.random.Generator, n: int, spacing: float = 0.16) -> list[Solid]:
    """``n`` non-overlapping random solids 0.35-1.25 m ahead on the table (0.5-1.45 m depth)."""
    out: list[Solid] = []
    tries = 0
    while len(out) < n and tries < 1000:
        tries += 1
        x, y = rng.uniform(-0.35, 0.35), rng.uniform(0.4, 1.25)
        if any(math.hypot(x - s.center[0], y - s.center[1]) < spacing for s in out):
            continue
        kind = ["sphere", "cuboid", "cylinder"][len(out) % 3]
        if kind == "sphere":
            out.append(Solid.sphere(x, y, rng.uniform(0.03, 0.06)))
        elif kind == "cuboid":
            out.append(
                Solid.cuboid(x, y, *rng.uniform(0.04, 0.1, size=3), yaw_deg=rng.uniform(0, 90))
            )
        else:
            out.append(Solid.cylinder(x, y, rng.uniform(0.025, 0.05), rng.uniform(0.06, 0.14)))
    return out
