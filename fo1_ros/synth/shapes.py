"""Analytic, vectorised ray casting of the object shapes.

Every shape lives in its own local frame: z up, resting on the plane z = 0, centred on the
z axis. A ``Shape`` is described by its local bounding-box extents ``(sx, sy, sz)``:

- ``cuboid``   x in [-sx/2, sx/2], y in [-sy/2, sy/2], z in [0, sz] (cube and box).
- ``pyramid``  square base sx x sy at z = 0, apex at (0, 0, sz).
- ``sphere``   diameter sx, centre (0, 0, sx/2).
- ``cylinder`` radius sx/2, height sz, closed top.
- ``cone``     base radius sx/2 at z = 0, apex at (0, 0, sz).
- ``cup``      cylinder open at the top: wall thickness ``wall``, inner bottom at z = ``floor``.

Rays are given component-wise so that one origin can be shared by many directions (primary
rays) or one direction by many origins (shadow rays) without copies: each of ``ox, oy, oz,
dx, dy, dz`` is a scalar or an ``(M,)`` float32 array, and they broadcast together.
Directions need not be unit length: the returned ``t`` is in units of ``d``.

``intersect`` returns ``t`` ``(M,)`` float32 (``inf`` where the ray misses or the hit is not
beyond ``t_min``) and, when asked, the outward unit normals ``(M, 3)`` float32 in the local
frame. Surfaces that can only be seen from below the table (the bases) are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPE_KINDS = ("cuboid", "pyramid", "sphere", "cylinder", "cone", "cup")


@dataclass(frozen=True)
class Shape:
    """A shape in its local frame (see the module docstring for each kind's geometry)."""

    kind: str
    size: tuple[float, float, float]  # local bounding-box extents (sx, sy, sz), metres
    wall: float = 0.0  # cup only: wall thickness
    floor: float = 0.0  # cup only: height of the inner bottom

    def __post_init__(self) -> None:
        if self.kind not in SHAPE_KINDS:
            raise ValueError(f"Shape.kind must be one of {SHAPE_KINDS}, got {self.kind!r}")
        if len(self.size) != 3 or min(self.size) <= 0:
            raise ValueError(f"Shape.size must be three positive extents, got {self.size!r}")
        if self.kind == "cup" and not (0 < self.wall < self.size[0] / 2 and
                                       0 <= self.floor < self.size[2]):
            raise ValueError(
                f"cup needs 0 < wall < radius and 0 <= floor < height, got wall={self.wall!r}"
                f" floor={self.floor!r} size={self.size!r}"
            )

    @property
    def footprint_radius(self) -> float:
        """Radius of the smallest z-axis-centred circle holding the base footprint (m)."""
        sx, sy, _ = self.size
        if self.kind in ("cuboid", "pyramid"):
            return 0.5 * float(np.hypot(sx, sy))
        return 0.5 * sx


def _quadratic_roots(a, b, c):
    """Roots of ``a t^2 + 2 b t + c = 0`` as (near, far, real); ``a`` must be nonzero."""
    disc = b * b - a * c
    real = disc >= 0
    s = np.sqrt(np.maximum(disc, 0))
    inv_a = 1.0 / a
    r1 = (-b - s) * inv_a
    r2 = (-b + s) * inv_a
    return np.minimum(r1, r2), np.maximum(r1, r2), real


def _cuboid(shape, ox, oy, oz, dx, dy, dz, t_min, normals):
    sx, sy, sz = shape.size
    lo = (-sx / 2, -sy / 2, 0.0)
    hi = (sx / 2, sy / 2, sz)
    t_near = None
    axis = None
    t_far = None
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, (o, d) in enumerate(((ox, dx), (oy, dy), (oz, dz))):
            inv = 1.0 / d
            t1 = (lo[i] - o) * inv
            t2 = (hi[i] - o) * inv
            tn = np.fmin(t1, t2)
            tf = np.fmax(t1, t2)
            if t_near is None:
                t_near, t_far = tn, tf
                axis = np.zeros(np.shape(tn), np.int8)
            else:
                bigger = tn > t_near
                t_near = np.where(bigger, tn, t_near)
                axis = np.where(bigger, np.int8(i), axis)
                t_far = np.fmin(t_far, tf)
    hit = (t_near <= t_far) & (t_near > t_min)
    t = np.where(hit, t_near, np.float32(np.inf)).astype(np.float32, copy=False)
    if not normals:
        return t, None
    n = np.zeros(t.shape + (3,), np.float32)
    d_all = np.broadcast_arrays(dx, dy, dz, t)[:3]
    for i in range(3):
        sel = axis == i
        n[sel, i] = -np.sign(d_all[i][sel])
    return t, n


def _convex(planes: np.ndarray, offsets: np.ndarray, ox, oy, oz, dx, dy, dz, t_min, normals):
    """Ray vs. convex polyhedron {p : planes @ p <= offsets} (Cyrus-Beck clipping)."""
    t_enter = None
    t_exit = None
    which = None
    outside_parallel = None
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, ((nx, ny, nz), h) in enumerate(zip(planes.tolist(), offsets.tolist())):
            den = dx * nx + dy * ny + dz * nz
            num = h - (ox * nx + oy * ny + oz * nz)
            tk = num / den
            entering = den < 0
            te = np.where(entering, tk, -np.inf)
            tx = np.where(den > 0, tk, np.inf)
            par = (den == 0) & (num < 0)
            if t_enter is None:
                t_enter, t_exit, outside_parallel = te, tx, par
                which = np.zeros(np.shape(te), np.int8)
            else:
                bigger = te > t_enter
                t_enter = np.where(bigger, te, t_enter)
                which = np.where(bigger, np.int8(k), which)
                t_exit = np.minimum(t_exit, tx)
                outside_parallel = outside_parallel | par
    hit = (t_enter <= t_exit) & (t_enter > t_min) & ~outside_parallel
    t = np.where(hit, t_enter, np.inf).astype(np.float32, copy=False)
    if not normals:
        return t, None
    unit = planes / np.linalg.norm(planes, axis=1, keepdims=True)
    return t, unit[which].astype(np.float32, copy=False)


def _pyramid_planes(shape):
    sx, sy, sz = shape.size
    a, b, h = sx / 2, sy / 2, sz
    planes = np.array(
        [[1, 0, a / h], [-1, 0, a / h], [0, 1, b / h], [0, -1, b / h], [0, 0, -1]], np.float64
    )
    offsets = np.array([a, a, b, b, 0.0])
    return planes, offsets


def _sphere(shape, ox, oy, oz, dx, dy, dz, t_min, normals):
    r = shape.size[0] / 2
    px, py, pz = ox, oy, oz - r
    a = dx * dx + dy * dy + dz * dz
    b = px * dx + py * dy + pz * dz
    c = px * px + py * py + pz * pz - r * r
    near, _, real = _quadratic_roots(a, b, c)
    hit = real & (near > t_min)
    t = np.where(hit, near, np.inf).astype(np.float32, copy=False)
    if not normals:
        return t, None
    tt = np.where(hit, t, 0)
    n = np.stack(np.broadcast_arrays(px + tt * dx, py + tt * dy, pz + tt * dz), -1) / r
    return t, n.astype(np.float32, copy=False)


def _side(r, ox, oy, dx, dy):
    a = dx * dx + dy * dy
    a = np.where(a > 1e-12, a, 1e-12)
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - r * r
    return _quadratic_roots(a, b, c)


def _cap(height, r_in, r_out, ox, oy, oz, dx, dy, dz, t_min):
    """Hit of a downward-facing ray on the annulus r_in <= rho <= r_out at z = height."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tc = (height - oz) / dz
    x = ox + tc * dx
    y = oy + tc * dy
    rho2 = x * x + y * y
    ok = (dz < 0) & (tc > t_min) & (rho2 <= r_out * r_out) & (rho2 >= r_in * r_in)
    return np.where(ok, tc, np.inf)


def _cylinder(shape, ox, oy, oz, dx, dy, dz, t_min, normals):
    r, h = shape.size[0] / 2, shape.size[2]
    near, _, real = _side(r, ox, oy, dx, dy)
    z = oz + near * dz
    t_side = np.where(real & (near > t_min) & (z >= 0) & (z <= h), near, np.inf)
    t_top = _cap(h, 0.0, r, ox, oy, oz, dx, dy, dz, t_min)
    t = np.minimum(t_side, t_top).astype(np.float32, copy=False)
    if not normals:
        return t, None
    tt = np.where(np.isfinite(t), t, 0)
    x, y = ox + tt * dx, oy + tt * dy
    side = t_side <= t_top
    n = np.stack(
        np.broadcast_arrays(np.where(side, x / r, 0), np.where(side, y / r, 0),
                            np.where(side, 0, 1.0)), -1)
    return t, n.astype(np.float32, copy=False)


def _cone(shape, ox, oy, oz, dx, dy, dz, t_min, normals):
    r, h = shape.size[0] / 2, shape.size[2]
    k2 = (r / h) ** 2
    w0 = h - oz
    a = dx * dx + dy * dy - k2 * dz * dz
    b = ox * dx + oy * dy + k2 * w0 * dz
    c = ox * ox + oy * oy - k2 * w0 * w0
    small = np.abs(a) < 1e-10
    a_safe = np.where(small, 1.0, a)
    near, far, real = _quadratic_roots(a_safe, b, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = np.where(b != 0, -c / (2 * b), np.inf)  # ray parallel to a generator line
    near = np.where(small, lin, near)
    far = np.where(small, np.inf, far)
    real = real | small
    t = np.full(np.broadcast(near, dz).shape, np.inf, np.float32)
    for root in (far, near):  # near last so that it wins when valid
        z = oz + root * dz
        ok = real & (root > t_min) & (z >= 0) & (z <= h) & np.isfinite(root)
        t = np.where(ok & (root < t), root, t)
    t = t.astype(np.float32, copy=False)
    if not normals:
        return t, None
    tt = np.where(np.isfinite(t), t, 0)
    x, y, z = ox + tt * dx, oy + tt * dy, oz + tt * dz
    n = np.stack(np.broadcast_arrays(x, y, k2 * (h - z)), -1)
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return t, n.astype(np.float32, copy=False)


def _cup(shape, ox, oy, oz, dx, dy, dz, t_min, normals):
    r, h = shape.size[0] / 2, shape.size[2]
    ri, zb = r - shape.wall, shape.floor
    near, _, real = _side(r, ox, oy, dx, dy)
    z = oz + near * dz
    t_out = np.where(real & (near > t_min) & (z >= 0) & (z <= h), near, np.inf)
    t_rim = _cap(h, ri, r, ox, oy, oz, dx, dy, dz, t_min)
    _, far_i, real_i = _side(ri, ox, oy, dx, dy)
    zi = oz + far_i * dz
    # The inner wall is seen from inside the hollow: the exit root of the inner cylinder.
    t_in = np.where(real_i & (far_i > t_min) & (zi >= zb) & (zi <= h), far_i, np.inf)
    t_bot = _cap(zb, 0.0, ri, ox, oy, oz, dx, dy, dz, t_min)
    t = np.minimum(np.minimum(t_out, t_rim), np.minimum(t_in, t_bot)).astype(np.float32)
    if not normals:
        return t, None
    tt = np.where(np.isfinite(t), t, 0)
    x, y = ox + tt * dx, oy + tt * dy
    rho = np.maximum(np.sqrt(x * x + y * y), 1e-9)
    radial = (t == t_out) | (t == t_in)
    sign = np.where(t == t_in, -1.0, 1.0)  # inner wall faces the axis
    nx = np.where(radial, sign * x / rho, 0)
    ny = np.where(radial, sign * y / rho, 0)
    nz = np.where(radial, 0, 1.0)
    n = np.stack(np.broadcast_arrays(nx, ny, nz), -1)
    return t, n.astype(np.float32, copy=False)


def intersect(
    shape: Shape, ox, oy, oz, dx, dy, dz, t_min: float = 1e-4, normals: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Nearest hit of rays ``o + t d`` with ``shape`` (local frame).

    Args:
        shape: the shape.
        ox, oy, oz, dx, dy, dz: ray origin and direction components, scalars or ``(M,)``
            float32 arrays that broadcast together.
        t_min: hits at ``t <= t_min`` are ignored (self-intersection guard for shadow rays).
        normals: also return the outward unit normals.

    Returns:
        ``t`` ``(M,)`` float32, ``inf`` on a miss; normals ``(M, 3)`` float32 (local frame,
        meaningless on a miss) or None.
    """
    ox, oy, oz, dx, dy, dz = (np.asarray(c, np.float32) for c in (ox, oy, oz, dx, dy, dz))
    args = (ox, oy, oz, dx, dy, dz, t_min, normals)
    if shape.kind == "cuboid":
        return _cuboid(shape, *args)
    if shape.kind == "pyramid":
        planes, offsets = _pyramid_planes(shape)
        return _convex(planes, offsets, *args)
    if shape.kind == "sphere":
        return _sphere(shape, *args)
    if shape.kind == "cylinder":
        return _cylinder(shape, *args)
    if shape.kind == "cone":
        return _cone(shape, *args)
    return _cup(shape, *args)
