"""The 3-D content of a synthetic scene and how each part of it is sampled.

A ``World`` is a table (a textured slab, top at z = 0) in a room (floor, four walls,
ceiling), one directional light, and a list of ``ObjectSpec`` resting on the table. It is
independent of the camera and of the image size, so one world can be rendered from many
poses (sequences) and at any resolution.

Here: the content dataclasses, one object's attributes (``sample_object_attributes``), the
table, room and light samplers, and the smooth ``value_noise`` behind the textures and the
depth sensor's dropout. Where the objects go and the whole world's sampling order are in
``layout.py`` (``place_objects``, ``sample_world``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from fo1_ros.synth.config import (
    COLOURS,
    SIZE_CLASS_RANGES_M,
    TEXT_ALPHABET,
    TEXT_CATEGORIES,
    SceneConfig,
)
from fo1_ros.synth.shapes import Shape, intersect
from fo1_ros.synth.text import sample_bitmap, text_bitmap

TABLE_THICKNESS_M = 0.035
CYLINDER_TEXT_HALF_ANGLE = math.radians(62)  # printed band on cans / cups: +-62 deg
TEXT_COLOUR_DARK = (18, 18, 20)
TEXT_COLOUR_LIGHT = (246, 246, 244)

# Table looks: (name, base sRGB, grain sRGB, grain strength, noise strength)
_TABLE_LOOKS = (
    ("light wood", (196, 154, 108), (150, 104, 64), 0.55, 0.06),
    ("dark wood", (112, 72, 44), (72, 44, 26), 0.5, 0.06),
    ("white laminate", (218, 216, 208), (200, 198, 190), 0.0, 0.035),
    ("grey laminate", (150, 152, 150), (130, 132, 130), 0.0, 0.05),
    ("green felt", (58, 104, 72), (48, 90, 60), 0.0, 0.09),
)
_WALL_COLOURS = ((222, 214, 196), (200, 204, 208), (190, 206, 214), (204, 214, 190),
                 (232, 226, 220))
_FLOOR_COLOURS = ((150, 120, 90), (96, 92, 88), (170, 164, 150), (120, 84, 60))


# --------------------------------------------------------------------------- objects
@dataclass
class ObjectSpec:
    """One object: shape, appearance and pose (base centre on the table, yaw about +z)."""

    category: str
    shape: Shape
    colour: str
    albedo: np.ndarray  # (3,) float32 sRGB in [0, 1]
    size_class: str
    position: np.ndarray  # (3,) float64 world base centre (z = 0)
    yaw: float  # rad, local +x axis heading in the world xy plane
    text: str = ""
    text_rgb: tuple[int, int, int] | None = None
    text_bitmap: np.ndarray | None = None  # (h, w) float32 coverage, see text.py
    gloss: float = 0.5  # specular strength multiplier in [0, 1]
    shininess: float = 30.0  # Blinn-Phong exponent

    @property
    def rgb(self) -> tuple[int, int, int]:
        return tuple(int(round(float(c) * 255)) for c in self.albedo)

    @property
    def center_world(self) -> np.ndarray:
        """(3,) float64 centre of the object's bounding box."""
        return self.position + np.array([0.0, 0.0, self.shape.size[2] / 2])

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) float64 world <- local rotation."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def corners_world(self) -> np.ndarray:
        """(8, 3) float64 corners of the oriented bounding box, base corners first."""
        sx, sy, sz = self.shape.size
        local = np.array(
            [[x, y, z] for z in (0.0, sz) for x, y in
             ((-sx / 2, -sy / 2), (sx / 2, -sy / 2), (sx / 2, sy / 2), (-sx / 2, sy / 2))]
        )
        return local @ self.rotation.T + self.position

    def to_local(self, px, py, pz, is_direction: bool = False):
        """World components -> local components (points, or directions if asked)."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        if not is_direction:
            px = px - float(self.position[0])
            py = py - float(self.position[1])
        return c * px + s * py, -s * px + c * py, pz

    def intersect(self, ox, oy, oz, dx, dy, dz, t_min: float = 1e-4, normals: bool = False):
        """Rays in world components (see ``shapes.intersect``) -> ``t`` and world normals."""
        lo = self.to_local(ox, oy, oz)
        ld = self.to_local(dx, dy, dz, is_direction=True)
        t, n = intersect(self.shape, *lo, *ld, t_min=t_min, normals=normals)
        if n is not None:
            c, s = math.cos(self.yaw), math.sin(self.yaw)
            nx, ny = n[..., 0].copy(), n[..., 1].copy()
            n[..., 0] = c * nx - s * ny
            n[..., 1] = s * nx + c * ny
        return t, n

    def text_alpha(self, lx, ly, lz, local_normals: np.ndarray) -> np.ndarray:
        """Ink coverage ``(...)`` float32 at local hit points with local normals ``(..., 3)``.

        Text sits on the local +x face of cuboids (u along +y, v down) and on the
        cylindrical side of cans / cups, centred on +x and spanning
        ``CYLINDER_TEXT_HALF_ANGLE`` either side.
        """
        if self.text_bitmap is None:
            return np.zeros(np.shape(lx), np.float32)
        sx, sy, sz = self.shape.size
        if self.shape.kind == "cuboid":
            on_face = local_normals[..., 0] > 0.5
            u = (ly + sy / 2) / sy
        else:
            on_face = (np.abs(local_normals[..., 2]) < 0.5) & (
                (lx * local_normals[..., 0] + ly * local_normals[..., 1]) > 0)  # outer wall
            u = (np.arctan2(ly, lx) + CYLINDER_TEXT_HALF_ANGLE) / (2 * CYLINDER_TEXT_HALF_ANGLE)
        v = (sz - lz) / sz
        a = sample_bitmap(self.text_bitmap, u.astype(np.float32), v.astype(np.float32))
        return np.where(on_face, a, np.float32(0))

    @property
    def text_face_size(self) -> tuple[float, float]:
        """(width, height) in metres of the face the text is printed on."""
        sx, sy, sz = self.shape.size
        if self.shape.kind == "cuboid":
            return sy, sz
        return sx / 2 * 2 * CYLINDER_TEXT_HALF_ANGLE, sz


def text_colour_for(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Dark ink on light objects, light ink on dark ones (Rec. 601 luma threshold)."""
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return TEXT_COLOUR_DARK if luma > 135 else TEXT_COLOUR_LIGHT


def _object_shape(rng: np.random.Generator, category: str, s: float) -> Shape:
    """Shape of ``category`` whose largest dimension is ``s`` metres."""
    u = rng.uniform
    if category == "cube":
        return Shape("cuboid", (s, s, s))
    if category == "box":  # long side along local y: that is the printed face
        return Shape("cuboid", (s * u(0.35, 0.6), s, s * u(0.4, 0.7)))
    if category == "ball":
        return Shape("sphere", (s, s, s))
    if category == "can":
        d = s * u(0.55, 0.85)
        return Shape("cylinder", (d, d, s))
    if category == "cone":
        d = s * u(0.55, 0.9)
        return Shape("cone", (d, d, s))
    if category == "pyramid":
        return Shape("pyramid", (s, s, s * u(0.55, 0.95)))
    if category == "cup":
        if u() < 0.5:
            d, h = s, s * u(0.7, 1.0)
        else:
            d, h = s * u(0.7, 1.0), s
        return Shape("cup", (d, d, h), wall=d * u(0.05, 0.08), floor=h * u(0.08, 0.15))
    raise ValueError(f"unknown category {category!r}")


def sample_object_attributes(rng: np.random.Generator, config: SceneConfig) -> ObjectSpec:
    """Category, colour, size, shape and text of one object (pose not yet set)."""
    category = str(rng.choice(config.categories))
    colour = str(rng.choice(config.colours))
    size_class = str(rng.choice(config.size_classes))
    has_text = category in TEXT_CATEGORIES and rng.uniform() < config.text_probability
    if has_text and size_class == "small":
        # Printed text must stay legible at half resolution: prefer a bigger object.
        bigger = [c for c in config.size_classes if c != "small"]
        if bigger:
            size_class = str(rng.choice(bigger))
    lo, hi = SIZE_CLASS_RANGES_M[size_class]
    shape = _object_shape(rng, category, rng.uniform(lo, hi))
    base = np.array(COLOURS[colour], np.float32) / 255
    albedo = np.clip(base * rng.uniform(0.94, 1.06, 3).astype(np.float32), 0, 1)
    obj = ObjectSpec(
        category=category, shape=shape, colour=colour, albedo=albedo.astype(np.float32),
        size_class=size_class, position=np.zeros(3), yaw=0.0,
        gloss=float(rng.uniform(0.1, 1.0)), shininess=float(rng.uniform(12, 60)),
    )
    if has_text:
        face_w, face_h = obj.text_face_size
        aspect = face_w / face_h
        # Keep glyphs at least ~40 % of the face height (Hershey glyphs are ~0.65 h wide).
        max_chars = max(1, int(3.15 * aspect))
        n = min(int(rng.integers(config.text_length[0], config.text_length[1] + 1)), max_chars)
        obj.text = "".join(rng.choice(list(TEXT_ALPHABET), n))
        obj.text_rgb = text_colour_for(obj.rgb)
        obj.text_bitmap = text_bitmap(obj.text, aspect)
    return obj


# --------------------------------------------------------------------------- environment
@dataclass
class Table:
    """Axis-aligned slab, top at z = 0, with a procedural texture over its top."""

    half_x: float
    half_y: float
    look: str
    texture: np.ndarray  # (Ty, Tx, 3) float32 sRGB in [0, 1], texel (i, j) at y, x
    texel_m: float
    thickness: float = TABLE_THICKNESS_M

    @property
    def shape(self) -> Shape:
        return Shape("cuboid", (2 * self.half_x, 2 * self.half_y, self.thickness))


@dataclass
class Room:
    """Box room around the table: floor, four walls, ceiling."""

    half_x: float
    half_y: float
    floor_z: float
    ceiling_z: float
    wall_rgb: np.ndarray  # (3,) float32
    floor_rgb: np.ndarray  # (3,) float32
    tile_m: float


@dataclass
class Light:
    """One directional light plus ambient."""

    direction: np.ndarray  # (3,) float64 unit vector toward the light
    ambient: float
    colour: np.ndarray  # (3,) float32 multiplier
    exposure: float


@dataclass
class World:
    """Everything in the scene except the camera."""

    table: Table
    room: Room
    light: Light
    objects: list[ObjectSpec] = field(default_factory=list)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise ``shape`` float32 in about [-1, 1]: random grid, bicubic upsampling."""
    h, w = shape
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def sample_table(rng: np.random.Generator) -> Table:
    half_x, half_y = rng.uniform(0.55, 0.85), rng.uniform(0.38, 0.55)
    name, base, grain, grain_k, noise_k = _TABLE_LOOKS[rng.integers(len(_TABLE_LOOKS))]
    texel = 0.0025
    tx, ty = int(2 * half_x / texel), int(2 * half_y / texel)
    base = np.array(base, np.float32) / 255 * rng.uniform(0.92, 1.08)
    grain = np.array(grain, np.float32) / 255
    n1 = value_noise(rng, (ty, tx), 6)
    n2 = value_noise(rng, (ty, tx), 40)
    tex = base[None, None, :] * (1 + noise_k * (0.6 * n1 + 0.4 * n2))[..., None]
    if grain_k > 0:
        # Planks along x, each with its own grain phase, period and tint; the grain lines
        # are warped by low-frequency noise and separated by thin dark seams.
        y = np.arange(ty, dtype=np.float32) * texel
        plank_w = rng.uniform(0.09, 0.2)
        plank = (y / plank_w).astype(np.int32)
        n_planks = int(plank.max()) + 1
        phase = rng.uniform(0, 1, n_planks).astype(np.float32)[plank][:, None]
        period = rng.uniform(0.006, 0.014, n_planks).astype(np.float32)[plank][:, None]
        tint = rng.uniform(0.9, 1.1, n_planks).astype(np.float32)[plank][:, None]
        warp = value_noise(rng, (ty, tx), 5) * 0.03 + value_noise(rng, (ty, tx), 25) * 0.004
        rings = 0.5 + 0.5 * np.sin(2 * np.pi * ((y[:, None] + warp) / period + phase))
        rings = rings ** 4 * (0.6 + 0.4 * n1)
        tex = tex * tint[..., None]
        tex = tex * (1 - grain_k * rings[..., None]) + grain * (grain_k * rings[..., None])
        seam = ((y / plank_w) % 1.0) * plank_w < 0.0015
        tex[seam] *= 0.6
    return Table(half_x, half_y, name, np.clip(tex, 0, 1).astype(np.float32), texel)


def sample_room(rng: np.random.Generator) -> Room:
    wall = np.array(_WALL_COLOURS[rng.integers(len(_WALL_COLOURS))], np.float32) / 255
    floor = np.array(_FLOOR_COLOURS[rng.integers(len(_FLOOR_COLOURS))], np.float32) / 255
    return Room(
        half_x=rng.uniform(2.2, 3.2), half_y=rng.uniform(2.2, 3.2),
        floor_z=-rng.uniform(0.72, 0.78), ceiling_z=rng.uniform(1.8, 2.2),
        wall_rgb=wall * rng.uniform(0.9, 1.05), floor_rgb=floor * rng.uniform(0.9, 1.1),
        tile_m=rng.uniform(0.3, 0.6),
    )


def sample_light(rng: np.random.Generator, config: SceneConfig) -> Light:
    el = math.radians(rng.uniform(*config.light_elevation_deg))
    az = rng.uniform(0, 2 * math.pi)
    direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                          math.sin(el)])
    warm = rng.uniform(-1, 1)  # warm (tungsten-ish) to cool (daylight-ish)
    colour = np.array([1 + 0.06 * warm, 1.0, 1 - 0.08 * warm], np.float32)
    return Light(direction, float(rng.uniform(*config.ambient)), colour,
                 float(rng.uniform(0.9, 1.1)))
