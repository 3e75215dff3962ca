"""Vocabulary and configuration of the synthetic tabletop world.

The constants here are the closed vocabulary of the world; task-data generation and
evaluation import them so that every label the model sees comes from one place:

- ``CATEGORIES``: shape categories, each ray-cast analytically (see ``shapes.py``).
- ``COLOURS``: colour name -> sRGB ``(r, g, b)`` uint8 triple. Similar pairs (red / orange /
  pink, blue / cyan / purple, white / grey) are deliberate distractors.
- ``SIZE_CLASSES``: ``small`` / ``medium`` / ``large`` with ``SIZE_CLASS_RANGES_M`` giving the
  range of each object's largest dimension in metres.
- ``TEXT_ALPHABET``: characters that may be printed on objects (A-Z, 0-9).
- ``TEXT_CATEGORIES``: categories that can carry printed text (they have a camera-facing face).

``SceneConfig`` is the one configuration dataclass of the generator: image size and
intrinsics, object vocabulary and counts, camera pose ranges, lighting, and the depth sensor
model. ``SceneConfig.from_dict`` rejects unknown keys; ``to_dict`` returns plain Python
values (lists for ranges) and round-trips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..config import Config

CATEGORIES: tuple[str, ...] = ("cube", "box", "ball", "can", "cone", "pyramid", "cup")
"""Shape categories. ``box`` is an elongated cuboid, ``can`` a closed cylinder, ``cup`` an
open cylinder whose hollow inside is visible from above."""

TEXT_CATEGORIES: tuple[str, ...] = ("cube", "box", "can", "cup")
"""Categories that may carry printed text (flat front face or cylindrical side)."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 28, 30),
    "orange": (238, 120, 20),
    "pink": (238, 128, 178),
    "yellow": (232, 206, 36),
    "green": (38, 150, 58),
    "blue": (28, 64, 196),
    "cyan": (36, 186, 208),
    "purple": (122, 48, 168),
    "white": (236, 236, 232),
    "grey": (128, 128, 128),
    "black": (28, 28, 30),
    "brown": (118, 72, 34),
}

SIZE_CLASSES: tuple[str, ...] = ("small", "medium", "large")

SIZE_CLASS_RANGES_M: dict[str, tuple[float, float]] = {
    "small": (0.035, 0.055),
    "medium": (0.06, 0.09),
    "large": (0.10, 0.15),
}
"""Range of an object's largest dimension (metres) for each size class; the gaps between
classes keep the classes unambiguous."""

TEXT_ALPHABET: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _check_pair(
    name: str, value: Any, lo: float, hi: float, integer: bool = False
) -> tuple:
    """Normalise a ``(min, max)`` range to a tuple and check ``lo <= min <= max <= hi``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"SceneConfig.{name} must be a (min, max) pair, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"SceneConfig.{name} must hold numbers, got {value!r}")
        if integer and int(v) != v:
            raise TypeError(f"SceneConfig.{name} must hold integers, got {value!r}")
        if not math.isfinite(v):
            raise ValueError(f"SceneConfig.{name} must be finite, got {value!r}")
        out.append(int(v) if integer else float(v))
    if not (lo <= out[0] <= out[1] <= hi):
        raise ValueError(
            f"SceneConfig.{name} must satisfy {lo} <= min <= max <= {hi}, got {value!r}"
        )
    return tuple(out)


def _check_number(name: str, value: Any, lo: float, hi: float, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"SceneConfig.{name} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise TypeError(f"SceneConfig.{name} must be an integer, got {value!r}")
    if not (lo <= value <= hi):
        raise ValueError(f"SceneConfig.{name} must be in [{lo}, {hi}], got {value!r}")
    return int(value) if integer else float(value)


def _check_subset(name: str, value: Any, allowed) -> tuple[str, ...]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"SceneConfig.{name} must be a list of names, got {value!r}")
    out = tuple(value)
    if not out:
        raise ValueError(f"SceneConfig.{name} must not be empty")
    unknown = [v for v in out if v not in allowed]
    if unknown:
        raise ValueError(
            f"SceneConfig.{name} has unknown entries {unknown!r}; allowed: {list(allowed)}"
        )
    if len(set(out)) != len(out):
        raise ValueError(f"SceneConfig.{name} has duplicate entries: {value!r}")
    return out


@dataclass
class SceneConfig(Config):
    """Everything that shapes a synthetic scene. Defaults: a 640x480 RGB-D camera.

    Angles are in degrees, lengths in metres, ``(min, max)`` pairs are sampled uniformly.
    """

    # --- Image and intrinsics ---
    width: int = 640
    height: int = 480
    hfov_deg: float = 60.0  # horizontal field of view, used when fx is None
    fx: float | None = None  # focal lengths in pixels; fy defaults to fx
    fy: float | None = None
    cx: float | None = None  # principal point; None = image centre, (width - 1) / 2
    cy: float | None = None

    # --- Objects ---
    n_objects: tuple[int, int] = (1, 20)
    categories: tuple[str, ...] = CATEGORIES
    colours: tuple[str, ...] = tuple(COLOURS)
    size_classes: tuple[str, ...] = SIZE_CLASSES
    text_probability: float = 0.35  # chance that a text-capable object carries text
    text_length: tuple[int, int] = (1, 4)
    # An object is kept only if at least this fraction of it is unoccluded, checked on a
    # fixed 160-pixel-wide grid so that the layout does not depend on the image size.
    min_visible_fraction: float = 0.2
    cluster_probability: float = 0.3  # chance to place an object just behind another one

    # --- Camera pose (looking down at a point near the table centre) ---
    camera_distance_m: tuple[float, float] = (0.5, 1.6)
    camera_pitch_deg: tuple[float, float] = (25.0, 60.0)  # optical axis below horizontal
    camera_roll_deg: float = 3.0  # |roll| <= this

    # --- Lighting and RGB sensor ---
    light_elevation_deg: tuple[float, float] = (35.0, 80.0)
    ambient: tuple[float, float] = (0.25, 0.5)
    specular: float = 0.25  # peak Blinn-Phong specular on glossy objects, in [0, 1]
    shadows: bool = True
    rgb_noise_std: float = 2.0  # Gaussian sensor noise, in 0..255 units
    blur_sigma_px: float = 0.55  # optics blur at 640 px width (also anti-aliases edges)
    # 2: ray cast a grid twice as fine and filter colour down (anti-aliasing, ~3-4x time);
    # depth, instances and ground truth are identical to supersample = 1.
    supersample: int = 1

    # --- Depth sensor ---
    depth_min_m: float = 0.2
    depth_max_m: float = 4.0  # farther surfaces read invalid
    # Axial noise std sigma(z) = base + quad * (z - 0.4)^2 (Nguyen et al., 3DIMPVT 2012,
    # "Modeling Kinect Sensor Noise"); set both to 0 for noise-free depth.
    depth_noise_base_m: float = 0.0012
    depth_noise_quad: float = 0.0019
    depth_dropout_fraction: float = 0.02  # image fraction lost to random blobs
    depth_edge_px: int = 1  # invalid band half-width at depth discontinuities
    depth_grazing_cos: float = 0.1  # invalid where |cos(view ray, normal)| is below this

    def __post_init__(self) -> None:
        self.width = _check_number("width", self.width, 16, 8192, integer=True)
        self.height = _check_number("height", self.height, 16, 8192, integer=True)
        self.hfov_deg = _check_number("hfov_deg", self.hfov_deg, 10.0, 150.0)
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, _check_number(name, v, 1.0, 1e6))
        if self.fy is not None and self.fx is None:
            raise ValueError(f"SceneConfig.fy={self.fy!r} given without fx")
        for name, size in (("cx", self.width), ("cy", self.height)):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, _check_number(name, v, 0.0, float(size)))

        self.n_objects = _check_pair("n_objects", self.n_objects, 1, 50, integer=True)
        self.categories = _check_subset("categories", self.categories, CATEGORIES)
        self.colours = _check_subset("colours", self.colours, COLOURS)
        self.size_classes = _check_subset("size_classes", self.size_classes, SIZE_CLASSES)
        self.text_probability = _check_number("text_probability", self.text_probability, 0, 1)
        self.text_length = _check_pair("text_length", self.text_length, 1, 4, integer=True)
        self.cluster_probability = _check_number(
            "cluster_probability", self.cluster_probability, 0.0, 1.0
        )
        self.min_visible_fraction = _check_number(
            "min_visible_fraction", self.min_visible_fraction, 0.0, 0.9
        )

        self.camera_distance_m = _check_pair(
            "camera_distance_m", self.camera_distance_m, 0.3, 3.0
        )
        self.camera_pitch_deg = _check_pair(
            "camera_pitch_deg", self.camera_pitch_deg, 10.0, 89.0
        )
        self.camera_roll_deg = _check_number("camera_roll_deg", self.camera_roll_deg, 0, 30)

        self.light_elevation_deg = _check_pair(
            "light_elevation_deg", self.light_elevation_deg, 10.0, 90.0
        )
        self.ambient = _check_pair("ambient", self.ambient, 0.0, 1.0)
        self.specular = _check_number("specular", self.specular, 0.0, 1.0)
        if not isinstance(self.shadows, bool):
            raise TypeError(f"SceneConfig.shadows must be a bool, got {self.shadows!r}")
        self.rgb_noise_std = _check_number("rgb_noise_std", self.rgb_noise_std, 0.0, 50.0)
        self.blur_sigma_px = _check_number("blur_sigma_px", self.blur_sigma_px, 0.0, 5.0)
        self.supersample = _check_number("supersample", self.supersample, 1, 2, integer=True)

        self.depth_min_m = _check_number("depth_min_m", self.depth_min_m, 0.0, 10.0)
        self.depth_max_m = _check_number("depth_max_m", self.depth_max_m, 0.1, 65.0)
        if self.depth_min_m >= self.depth_max_m:
            raise ValueError(
                f"SceneConfig.depth_min_m ({self.depth_min_m}) must be below "
                f"depth_max_m ({self.depth_max_m})"
            )
        self.depth_noise_base_m = _check_number(
            "depth_noise_base_m", self.depth_noise_base_m, 0.0, 0.5
        )
        self.depth_noise_quad = _check_number("depth_noise_quad", self.depth_noise_quad, 0, 1)
        self.depth_dropout_fraction = _check_number(
            "depth_dropout_fraction", self.depth_dropout_fraction, 0.0, 0.5
        )
        self.depth_edge_px = _check_number("depth_edge_px", self.depth_edge_px, 0, 10, True)
        self.depth_grazing_cos = _check_number(
            "depth_grazing_cos", self.depth_grazing_cos, 0.0, 0.9
        )

    # --- Derived intrinsics ---
    @property
    def focal_px(self) -> tuple[float, float]:
        """``(fx, fy)`` in pixels (from ``hfov_deg`` when ``fx`` is None)."""
        if self.fx is None:
            f = 0.5 * self.width / math.tan(math.radians(self.hfov_deg) / 2)
            return f, f
        return self.fx, self.fy if self.fy is not None else self.fx

    @property
    def principal_point(self) -> tuple[float, float]:
        """``(cx, cy)`` in pixels; pixel ``(u, v)`` has its centre at ``(u, v)``."""
        cx = (self.width - 1) / 2 if self.cx is None else self.cx
        cy = (self.height - 1) / 2 if self.cy is None else self.cy
        return cx, cy


__all__ = [
    "CATEGORIES",
    "COLOURS",
    "SIZE_CLASSES",
    "SIZE_CLASS_RANGES_M",
    "TEXT_ALPHABET",
    "TEXT_CATEGORIES",
    "SceneConfig",
]
