"""fo1_ros/synth/shapes.py: analytic ray casting of the object shapes."""

import math

import numpy as np
import pytest

from fo1_ros.synth.shapes import Shape, intersect

SHAPES = {
    "cuboid": Shape("cuboid", (0.06, 0.1, 0.04)),
    "pyramid": Shape("pyramid", (0.08, 0.08, 0.06)),
    "sphere": Shape("sphere", (0.07, 0.07, 0.07)),
    "cylinder": Shape("cylinder", (0.05, 0.05, 0.09)),
    "cone": Shape("cone", (0.06, 0.06, 0.08)),
    "cup": Shape("cup", (0.08, 0.08, 0.09), wall=0.006, floor=0.01),
}


def implicit(shape: Shape, p: np.ndarray) -> np.ndarray:
    """Distance-like residual of points (M, 3) to the shape's surface (0 on the surface)."""
    sx, sy, sz = shape.size
    x, y, z = p.T
    if shape.kind == "cuboid":
        q = np.stack([np.abs(x) - sx / 2, np.abs(y) - sy / 2, np.abs(z - sz / 2) - sz / 2])
        return q.max(axis=0)
    if shape.kind == "pyramid":
        a, h = sx / 2, sz
        planes = [(1, 0, a / h, a), (-1, 0, a / h, a), (0, 1, a / h, a), (0, -1, a / h, a),
                  (0, 0, -1, 0)]
        return np.max([(nx * x + ny * y + nz * z - d) / math.sqrt(nx**2 + ny**2 + nz**2)
                       for nx, ny, nz, d in planes], axis=0)
    if shape.kind == "sphere":
        return np.sqrt(x**2 + y**2 + (z - sx / 2) ** 2) - sx / 2
    rho = np.hypot(x, y)
    if shape.kind == "cylinder":
        return np.maximum(rho - sx / 2, np.maximum(z - sz, -z))
    if shape.kind == "cone":
        k = sx / 2 / sz
        side = (rho - k * (sz - z)) / math.sqrt(1 + k * k)
        return np.maximum(side, -z)
    r, ri, zb = sx / 2, sx / 2 - shape.wall, shape.floor
    outer = np.maximum(rho - r, np.maximum(z - sz, -z))
    hollow = np.maximum(rho - ri, zb - z)  # inside the hollow: negative
    return np.maximum(outer, -hollow)


def random_rays(rng, n):
    """Rays from points above the table aimed at random points near the shape.

    Bases are not modelled (they rest on the table), so no ray starts below z = 0.
    """
    dirs = rng.normal(size=(n, 3))
    dirs[:, 2] = np.abs(dirs[:, 2]) + 0.05
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    origins = 0.4 * dirs + np.array([0, 0, 0.04])
    targets = rng.uniform(-0.05, 0.05, (n, 3)) + np.array([0, 0, 0.04])
    d = targets - origins
    return origins.astype(np.float32), d.astype(np.float32)


@pytest.mark.parametrize("kind", list(SHAPES))
def test_hits_lie_on_the_surface_with_facing_normals(kind):
    shape = SHAPES[kind]
    o, d = random_rays(np.random.default_rng(1), 4000)
    t, n = intersect(shape, *o.T, *d.T, normals=True)
    hit = np.isfinite(t)
    assert 0.05 < hit.mean() < 0.95
    p = o[hit] + t[hit, None] * d[hit]
    assert np.abs(implicit(shape, p.astype(np.float64))).max() < 2e-5
    nn = n[hit]
    assert np.allclose(np.linalg.norm(nn, axis=1), 1, atol=1e-4)
    assert np.all(np.einsum("ij,ij->i", nn, d[hit]) < 1e-6)  # normals face the viewer
    # Nothing is in front of the returned hit: march along each ray before it.
    for f in (0.25, 0.5, 0.75, 0.98):
        q = o[hit] + (f * t[hit])[:, None] * d[hit]
        assert np.all(implicit(shape, q.astype(np.float64)) > -1e-6)
    # Missed rays stay outside the shape everywhere along a fine march.
    for f in np.linspace(0.5, 1.5, 41):
        q = o[~hit] + f * d[~hit]
        assert np.all(implicit(shape, q.astype(np.float64)) > -1e-6)


def test_known_distances_from_above():
    down = (0.0, 0.0, -1.0)
    cases = {
        "cuboid": 1.0 - 0.04,
        "pyramid": 1.0 - 0.06,  # apex
        "sphere": 1.0 - 0.07,
        "cylinder": 1.0 - 0.09,
        "cup": 1.0 - 0.01,  # straight through the opening onto the inner bottom
    }
    for kind, expected in cases.items():
        t, _ = intersect(SHAPES[kind], 0.0, 0.0, 1.0, *down)
        assert float(t) == pytest.approx(expected, abs=1e-6), kind
    # Off the cone's apex by 3 mm: the side where its radius is 3 mm (k = r / h = 0.375).
    t, _ = intersect(SHAPES["cone"], 0.003, 0.0, 1.0, *down)
    assert float(t) == pytest.approx(1.0 - (0.08 - 0.003 / 0.375), abs=1e-5)
    # A ray down onto the cup's wall hits the rim at the top.
    t, n = intersect(SHAPES["cup"], np.float32(0.037), 0.0, 1.0, *down, normals=True)
    assert float(t) == pytest.approx(1.0 - 0.09, abs=1e-6)
    assert np.allclose(n, [0, 0, 1])


def test_vectorised_equals_one_by_one_and_misses_are_inf():
    shape = SHAPES["cone"]
    o, d = random_rays(np.random.default_rng(2), 50)
    t_all, _ = intersect(shape, *o.T, *d.T)
    t_one = [float(intersect(shape, *oi, *di)[0]) for oi, di in zip(o, d)]
    assert np.array_equal(t_all, np.array(t_one, np.float32))
    t, _ = intersect(shape, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0)  # pointing away
    assert np.isinf(t)


def test_shape_validation():
    with pytest.raises(ValueError, match="kind"):
        Shape("torus", (1, 1, 1))
    with pytest.raises(ValueError, match="size"):
        Shape("sphere", (0.1, 0.0, 0.1))
    with pytest.raises(ValueError, match="wall"):
        Shape("cup", (0.08, 0.08, 0.09), wall=0.05)
