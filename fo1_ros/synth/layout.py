"""Where the objects go: rejection-sampled placement, and the sampling order of a whole world.

Sampling (``sample_world``) draws from one ``numpy.random.Generator``: table, room, light,
then camera poses (given by the caller), then objects. Objects are placed by rejection
sampling (``place_objects``): a footprint circle must lie on the table and not overlap any
other footprint (so objects never interpenetrate), the centre must project into every check
camera, and on a coarse 160-pixel-wide render every object must stay at least
``config.min_visible_fraction`` unoccluded. The coarse grid has a fixed width, so the layout
for a seed does not depend on the output image size.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import numpy as np

from fo1_ros.synth.camera import intrinsics, project, world_rays
from fo1_ros.synth.config import SceneConfig
from fo1_ros.synth.world import (
    ObjectSpec,
    Table,
    World,
    sample_light,
    sample_object_attributes,
    sample_room,
    sample_table,
)

logger = logging.getLogger(__name__)

LAYOUT_GRID_WIDTH = 160  # pixels across the coarse visibility-check render


def object_rect(obj: ObjectSpec, pose: np.ndarray, K: np.ndarray, width: int, height: int):
    """Pixel rectangle ``(x0, y0, x1, y1)`` (half-open) bounding the object, or None."""
    uvz = project(obj.corners_world(), pose, K)
    if np.any(uvz[:, 2] <= 0.01):
        return 0, 0, width, height  # straddles the camera plane: test every pixel
    x0 = max(0, int(math.floor(uvz[:, 0].min())) - 1)
    y0 = max(0, int(math.floor(uvz[:, 1].min())) - 1)
    x1 = min(width, int(math.ceil(uvz[:, 0].max())) + 2)
    y1 = min(height, int(math.ceil(uvz[:, 1].max())) + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


class _VisibilityCheck:
    """Coarse z-buffer of the placed objects seen from one camera."""

    def __init__(self, pose: np.ndarray, config: SceneConfig):
        self.w = LAYOUT_GRID_WIDTH
        self.h = max(8, int(round(LAYOUT_GRID_WIDTH * config.height / config.width)))
        self.pose = pose
        self.K = intrinsics(config, self.w)
        # intrinsics() rescales by width; correct fy/cy for the rounded height.
        sy = self.h / config.height * config.width / self.w
        self.K[1, 1] *= sy
        self.K[1, 2] = (self.K[1, 2] + 0.5) * sy - 0.5
        self.rays = world_rays(pose, self.K, self.w, self.h)
        self.origin = pose[:3, 3].astype(np.float32)
        self.zbuf = np.full((self.h, self.w), np.inf, np.float32)
        self.patches: list[tuple[tuple[int, int, int, int], np.ndarray, int]] = []

    def cast(self, obj: ObjectSpec):
        rect = object_rect(obj, self.pose, self.K, self.w, self.h)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        d = [r[y0:y1, x0:x1] for r in self.rays]
        t, _ = obj.intersect(*(float(c) for c in self.origin), *d)
        n = int(np.isfinite(t).sum())
        return (rect, t, n) if n > 0 else None

    def fractions_with(self, cand) -> tuple[np.ndarray, float]:
        """Visible fractions of placed objects and of ``cand`` if it were added."""
        (x0, y0, x1, y1), t, n = cand
        zb = self.zbuf.copy()
        zb[y0:y1, x0:x1] = np.minimum(zb[y0:y1, x0:x1], t)
        fr = np.empty(len(self.patches), np.float64)
        for i, ((a0, b0, a1, b1), ti, ni) in enumerate(self.patches):
            fr[i] = np.count_nonzero(np.isfinite(ti) & (ti <= zb[b0:b1, a0:a1])) / ni
        own = np.count_nonzero(np.isfinite(t) & (t <= zb[y0:y1, x0:x1])) / n
        return fr, own

    def add(self, cand) -> None:
        (x0, y0, x1, y1), t, _ = cand
        self.zbuf[y0:y1, x0:x1] = np.minimum(self.zbuf[y0:y1, x0:x1], t)
        self.patches.append(cand)


def _centre_in_view(obj: ObjectSpec, checks: list[_VisibilityCheck], margin: float) -> bool:
    for c in checks:
        u, v, z = project(obj.center_world[None], c.pose, c.K)[0]
        if z <= 0 or not (margin * c.w <= u <= (1 - margin) * c.w and
                          margin * c.h <= v <= (1 - margin) * c.h):
            return False
    return True


def place_objects(
    rng: np.random.Generator,
    config: SceneConfig,
    table: Table,
    ref_pose: np.ndarray,
    check_poses: list[np.ndarray],
    n_objects: int,
    attempts_per_object: int = 40,
) -> list[ObjectSpec]:
    """Rejection-sample up to ``n_objects`` objects on ``table`` (see module docstring).

    Candidate positions come from uniform pixels of ``ref_pose``'s image cast onto the
    table, so objects spread over what the camera sees, or, with probability
    ``config.cluster_probability``, from just behind an already placed object (occlusion).
    Objects that find no valid place within ``attempts_per_object`` tries are dropped (the
    caller checks the count).
    Text-carrying objects are turned to face ``ref_pose`` within +-35 degrees.
    """
    checks = [_VisibilityCheck(p, config) for p in check_poses]
    ref = next((c for c in checks if c.pose is ref_pose), None)
    if ref is None:
        ref = _VisibilityCheck(ref_pose, config)
    cam = ref_pose[:3, 3]
    placed: list[ObjectSpec] = []
    gap = 0.004  # metres between footprints
    for _ in range(n_objects):
        obj = sample_object_attributes(rng, config)
        r = obj.shape.footprint_radius
        for _attempt in range(attempts_per_object):
            if placed and rng.uniform() < config.cluster_probability:
                # Just behind a placed object as seen from the camera: partial occlusion.
                other = placed[int(rng.integers(len(placed)))]
                away = math.atan2(other.position[1] - cam[1], other.position[0] - cam[0])
                ang = away + math.radians(rng.uniform(-70, 70))
                dist = r + other.shape.footprint_radius + gap + rng.uniform(0.0, 0.04)
                p = other.position + dist * np.array([math.cos(ang), math.sin(ang), 0.0])
            else:
                u = rng.uniform(0.04, 0.96) * ref.w
                v = rng.uniform(0.04, 0.96) * ref.h
                d = ref_pose[:3, :3] @ np.array(
                    [(u - ref.K[0, 2]) / ref.K[0, 0], (v - ref.K[1, 2]) / ref.K[1, 1], 1.0])
                if d[2] >= -1e-6:
                    continue  # ray does not come down to the table
                p = cam - cam[2] / d[2] * d
            if abs(p[0]) > table.half_x - r - 0.01 or abs(p[1]) > table.half_y - r - 0.01:
                continue
            if any(np.hypot(*(p[:2] - o.position[:2])) < r + o.shape.footprint_radius + gap
                   for o in placed):
                continue
            obj.position = np.array([p[0], p[1], 0.0])
            if obj.text:
                to_cam = math.atan2(cam[1] - p[1], cam[0] - p[0])
                obj.yaw = to_cam + math.radians(rng.uniform(-35, 35))
            else:
                obj.yaw = rng.uniform(-math.pi, math.pi)
            if not _centre_in_view(obj, checks, 0.02):
                continue
            cands = [c.cast(obj) for c in checks]
            if any(c is None for c in cands):
                continue
            ok = True
            for chk, cand in zip(checks, cands):
                fr, own = chk.fractions_with(cand)
                if own < config.min_visible_fraction or np.any(fr < config.min_visible_fraction):
                    ok = False
                    break
            if not ok:
                continue
            for chk, cand in zip(checks, cands):
                chk.add(cand)
            placed.append(obj)
            break
    return placed


def sample_world(
    rng: np.random.Generator,
    config: SceneConfig,
    sample_poses: Callable[[np.random.Generator, Table], tuple[np.ndarray, list[np.ndarray]]],
    max_camera_tries: int = 10,
) -> tuple[World, list[np.ndarray]]:
    """Sample a world and its camera poses.

    Args:
        rng: the layout generator (consumed deterministically).
        config: scene configuration.
        sample_poses: draws ``(ref_pose, check_poses)`` for a table; called again with a
            fresh draw when fewer than ``config.n_objects[0]`` objects could be placed.
        max_camera_tries: how many camera draws to try before giving up.

    Returns:
        ``(world, check_poses)`` from the successful draw.

    Raises:
        RuntimeError: when no camera draw fits ``config.n_objects[0]`` objects.
    """
    table = sample_table(rng)
    room = sample_room(rng)
    light = sample_light(rng, config)
    n = int(rng.integers(config.n_objects[0], config.n_objects[1] + 1))
    best = 0
    for attempt in range(max_camera_tries):
        ref_pose, check_poses = sample_poses(rng, table)
        objects = place_objects(rng, config, table, ref_pose, check_poses, n)
        if len(objects) >= config.n_objects[0]:
            if len(objects) < n:
                logger.debug("placed %d of %d objects (attempt %d)", len(objects), n, attempt)
            return World(table, room, light, objects), check_poses
        best = max(best, len(objects))
    raise RuntimeError(
        f"could not place n_objects[0]={config.n_objects[0]} objects in view "
        f"(best {best} in {max_camera_tries} camera draws); lower n_objects or "
        f"min_visible_fraction={config.min_visible_fraction}, or widen camera_distance_m="
        f"{config.camera_distance_m}"
    )
