"""`RGBDConfig`: every parameter of the RGB-D proposer (`rgbd.py`) and its two halves.

The config lives in its own module so that `markers.py` (colour edges, support plane,
watershed markers) and `grouping.py` (regions, grouping, scores) import it without importing
the orchestrator in `rgbd.py`, which imports them: no import circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..config import Config
from .base import ProposalConfig

__all__ = ["RGBDConfig"]

@dataclass
class RGBDConfig(Config):
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
    drop_flying_pixels: bool = True  # invalidate depths between the two sides of a jump

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
    height_sigmas: float = 1.5  # height threshold in sigma(z) of the 5x5-smoothed height
    max_height_m: float = 0.6  # taller things (walls, people) are not tabletop objects
    colour_edge: float = 12.0  # Lab gradient (uint8 Lab units) that breaks seeds
    min_seed_px: int = 12
    hole_seeds: bool = True  # also seed colour-distinct patches without depth (black/shiny objects)
    hole_min_contrast: float = 0.3  # their colour strength against the table ring around them
    hole_max_fraction: float = 0.05  # larger holes are not one object

    # --- Watershed ---
    base_px: int = 2  # near-plane pixels this close to the seeds' slid-down rims are undecided
    base_slide: float = 1.5  # rims slide down by this x the height threshold
    band_px: int = 15  # the watershed decides only this close to a seed...
    hole_band_px: int = 40  # ...or, where depth is missing, this close
    min_background_px: int = 400  # smaller background islands (cup floors at table height) are undecided
    alt_base_px: int = 6  # a second watershed with this undecided base band (0: off) gives a wide-base
    alt_score: float = 0.5  # box per candidate (pyramid and cone bases), scored this x the first

    # --- Grouping ---
    max_merge_cost: float = 0.85
    max_object_m: float = 0.5  # no union larger than this (3-D extent)
    max_regions: int = 300  # at most this many seeds, the largest (bounds the time on busy textures)

    # --- Scoring ---
    object_size_m: tuple[float, float] = (0.015, 0.40)  # plausible 3-D extent
    rgb_area_fraction: tuple[float, float] = (0.0002, 0.2)  # plausible image share, RGB-only
    rgb_background_fraction: float = 0.05  # RGB-only: larger regions touching the border are background

    # --- Output ---
    postprocess: ProposalConfig = field(default_factory=ProposalConfig)
    seed: int = 0  # RANSAC random stream: the same frame always gives the same proposals

    def __post_init__(self) -> None:
        self.nested_from_dicts()
        self.object_size_m = tuple(self.object_size_m)
        self.rgb_area_fraction = tuple(self.rgb_area_fraction)
        ints = {"max_side": 16, "plane_stride": 1, "ransac_iterations": 1, "ransac_eval_points": 10, "max_planes": 1,
                "min_seed_px": 1, "base_px": 0, "band_px": 1, "hole_band_px": 1, "min_background_px": 0,
                "alt_base_px": 0, "max_regions": 2, "seed": 0}
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"RGBDConfig.{name} must be an int >= {lo}, got {v!r}")

        def number(name: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"RGBDConfig.{name} must be a finite number, got {v!r}")
            return float(v)

        for name in ("depth_max_m", "noise_base_m", "jump_rel", "plane_inlier_sigmas", "level_gap_m", "max_height_m",
                     "colour_edge", "max_merge_cost", "max_object_m", "base_slide"):
            if number(name) <= 0:
                raise ValueError(f"RGBDConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("depth_min_m", "noise_quad", "jump_abs_m", "min_height_m", "height_sigmas"):
            if number(name) < 0:
                raise ValueError(f"RGBDConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("min_plane_fraction", "hole_min_contrast", "hole_max_fraction", "rgb_background_fraction"):
            if not 0 < number(name) < 1:
                raise ValueError(f"RGBDConfig.{name} must be in (0, 1), got {getattr(self, name)!r}")
        if not 0 < number("alt_score") <= 1:
            raise ValueError(f"RGBDConfig.alt_score must be in (0, 1], got {self.alt_score!r}")
        if self.depth_min_m >= self.depth_max_m:
            raise ValueError(f"RGBDConfig.depth_min_m ({self.depth_min_m}) must be below "
                             f"depth_max_m ({self.depth_max_m})")
        for name in ("object_size_m", "rgb_area_fraction"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1]:
                raise ValueError(f"RGBDConfig.{name} must be a pair 0 < min < max, got {lo_hi!r}")
        for name in ("upright_camera", "hole_seeds", "drop_flying_pixels"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"RGBDConfig.{name} must be a bool, got {getattr(self, name)!r}")
