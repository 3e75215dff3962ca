"""Configuration dataclasses of the geometry layer: box lifting and spatial relations.

Defaults are the values measured on the synthetic scenes of ``test/geometry`` (see
``LiftConfig.center_mode`` for the comparison). Both classes validate in ``__post_init__``,
``from_dict`` / ``to_dict`` come from the config base (:mod:`fo1_ros.config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import Config

__all__ = ["LiftConfig", "RelationConfig", "CENTER_MODES"]

#: Ways to place the centre of an object seen from the front only (``LiftConfig.center_mode``).
CENTER_MODES = ("surface", "half_xy", "half_max_xy")


def _positive(obj: object, name: str, allow_zero: bool = False) -> None:
    value = getattr(obj, name)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{type(obj).__name__}.{name} must be a finite number {bound}, got {value!r}"
        )


@dataclass
class LiftConfig(Config):
    """How 2-D boxes are lifted to 3-D objects (:func:`fo1_ros.geometry.lift_boxes`)."""

    # --- depth validity
    # nearer readings are invalid (most RGB-D sensors' minimum range)
    min_depth_m: float = 0.1
    # farther readings are invalid (noise grows with z^2)
    max_depth_m: float = 10.0

    # --- sampling the box
    # side fraction of the box, about its centre, that votes for the object's depth
    central_fraction: float = 0.5
    # larger boxes are read on a regular pixel grid of about this many samples
    max_samples_per_box: int = 4096

    # --- choosing the object's depth cluster
    # depth histogram bin; ~2x the sensor noise at 1.5 m
    bin_width_m: float = 0.01
    # two histogram peaks are separate modes when the valley between is <= ratio x the lower
    valley_ratio: float = 0.5
    # central votes are weighted by a Gaussian of this std (fraction of box width / height)
    center_sigma: float = 0.25
    # a mode is "substantial" with >= this fraction of the central votes; the nearest one wins
    min_mode_fraction: float = 0.2
    # the chosen mode is cut to +/- factor x the larger x/y size the 2-D box implies
    max_extent_factor: float = 1.5
    # box pixels join within +/- factor x the smaller x/y size of the central cluster's depths
    depth_margin_factor: float = 0.5
    # remove a background plane (table) ringing the object: inlier distance up to 1 m,
    # x z^2 beyond; 0 = off
    plane_tolerance_m: float = 0.008
    # fewer cluster points -> has_3d False
    min_points: int = 20

    # --- centre and extent
    # extent = [p, 100 - p] percentiles of the cluster points (robust to stray pixels)
    percentile: float = 2.0
    # see CENTER_MODES and the fo1_ros.geometry.lifting module doc (measured comparison)
    center_mode: str = "half_max_xy"

    # --- optional open3d refinement (imported lazily; without open3d the numpy path runs)
    # statistical outlier removal on the cluster points before the extent
    use_open3d: bool = False
    # open3d remove_statistical_outlier nb_neighbors / std_ratio
    outlier_neighbors: int = 20
    outlier_std_ratio: float = 2.0
    # also fit an open3d oriented box to the visible points (Object3D.oriented_box)
    oriented_box: bool = False

    # --- output
    # keep each object's (M, 3) cluster points in Object3D.points
    keep_points: bool = False

    def __post_init__(self) -> None:
        _positive(self, "min_depth_m", allow_zero=True)
        if not (isinstance(self.max_depth_m, (int, float)) and self.max_depth_m > self.min_depth_m):
            raise ValueError(
                f"LiftConfig.max_depth_m must be > min_depth_m ({self.min_depth_m!r}), "
                f"got {self.max_depth_m!r}"
            )
        if not (
            isinstance(self.central_fraction, (int, float)) and 0.0 < self.central_fraction <= 1.0
        ):
            raise ValueError(
                f"LiftConfig.central_fraction must be in (0, 1], got {self.central_fraction!r}"
            )
        for name in ("max_samples_per_box", "min_points", "outlier_neighbors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LiftConfig.{name} must be a positive integer, got {value!r}")
        if self.min_points > self.max_samples_per_box:
            raise ValueError(
                f"LiftConfig.min_points ({self.min_points}) must be <= "
                f"max_samples_per_box ({self.max_samples_per_box})"
            )
        for name in ("bin_width_m", "max_extent_factor", "outlier_std_ratio", "center_sigma"):
            _positive(self, name)
        _positive(self, "depth_margin_factor", allow_zero=True)
        _positive(self, "plane_tolerance_m", allow_zero=True)
        if not (isinstance(self.valley_ratio, (int, float)) and 0.0 <= self.valley_ratio < 1.0):
            raise ValueError(
                f"LiftConfig.valley_ratio must be in [0, 1), got {self.valley_ratio!r}"
            )
        if not (
            isinstance(self.min_mode_fraction, (int, float)) and 0.0 < self.min_mode_fraction <= 1.0
        ):
            raise ValueError(
                f"LiftConfig.min_mode_fraction must be in (0, 1], got {self.min_mode_fraction!r}"
            )
        if not (isinstance(self.percentile, (int, float)) and 0.0 <= self.percentile < 50.0):
            raise ValueError(f"LiftConfig.percentile must be in [0, 50), got {self.percentile!r}")
        if self.center_mode not in CENTER_MODES:
            raise ValueError(
                f"LiftConfig.center_mode must be one of {CENTER_MODES}, got {self.center_mode!r}"
            )
        for name in ("use_open3d", "oriented_box", "keep_points"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"LiftConfig.{name} must be a bool, got {getattr(self, name)!r}")


@dataclass
class RelationConfig(Config):
    """Thresholds of the spatial relations (:mod:`fo1_ros.geometry.relations`)."""

    # a directional relation needs the centres to differ by more than this along its axis
    margin_m: float = 0.03
    # in sentences, an offset below ratio x the largest one is called "slightly"
    slight_ratio: float = 0.5

    def __post_init__(self) -> None:
        _positive(self, "margin_m", allow_zero=True)
        if not (isinstance(self.slight_ratio, (int, float)) and 0.0 <= self.slight_ratio <= 1.0):
            raise ValueError(
                f"RelationConfig.slight_ratio must be in [0, 1], got {self.slight_ratio!r}"
            )
