"""Optional open3d refinements of lifted objects: statistical outlier removal of an object's
points, and an oriented box fitted to them (:class:`OrientedBox`).

open3d is slow to import and optional (``pip install fo1-ros[3d]``): it is imported on first
use only, and where it is absent or fails to import, a warning is logged once and
:func:`open3d_available` is False (lifting then takes its numpy path alone).
"""

from __future__ import annotations

import logging
import types
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["OrientedBox", "open3d_available", "outlier_mask", "oriented_box"]


@dataclass(frozen=True, eq=False)
class OrientedBox:
    """An oriented box fitted by open3d to an object's *visible* points (camera frame).

    Fields: ``center`` (3,) float64 m, ``rotation`` (3, 3) float64 (columns = box axes),
    ``extent`` (3,) float64 m along those axes.
    """

    center: np.ndarray
    rotation: np.ndarray
    extent: np.ndarray


_O3D: types.ModuleType | None = None
_O3D_TRIED = False


def _open3d() -> types.ModuleType | None:
    """open3d module or None; imported once, on first use (it is slow and optional)."""
    global _O3D, _O3D_TRIED
    if not _O3D_TRIED:
        _O3D_TRIED = True
        try:
            import open3d  # noqa: PLC0415 - optional heavy dependency, imported lazily

            _O3D = open3d
        except Exception as e:  # ImportError, or OSError for a missing shared library (libusb)
            logger.warning(
                "open3d is not usable (%s: %s); using the numpy path only", type(e).__name__, e
            )
            _O3D = None
    return _O3D


def open3d_available() -> bool:
    """Whether the optional open3d refinement can run in this environment."""
    return _open3d() is not None


def outlier_mask(points: np.ndarray, neighbors: int, std_ratio: float) -> np.ndarray:
    """(M, 3) points -> (M,) bool inliers of open3d's statistical outlier removal
    (``nb_neighbors=neighbors``, ``std_ratio``). Needs :func:`open3d_available`."""
    o3d = _open3d()
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    _, kept = pcd.remove_statistical_outlier(nb_neighbors=neighbors, std_ratio=std_ratio)
    mask = np.zeros(len(points), dtype=bool)
    mask[np.asarray(kept, dtype=np.int64)] = True
    return mask


def oriented_box(points: np.ndarray) -> OrientedBox | None:
    """open3d's oriented box of (M, 3) points; None for degenerate (e.g. coplanar) sets.
    Needs :func:`open3d_available`."""
    o3d = _open3d()
    try:
        obb = o3d.geometry.OrientedBoundingBox.create_from_points(
            o3d.utility.Vector3dVector(points)
        )
    except RuntimeError as e:  # degenerate (e.g. coplanar) point sets
        logger.debug("open3d oriented box failed: %s", e)
        return None
    return OrientedBox(
        center=np.asarray(obb.center, dtype=np.float64).copy(),
        rotation=np.asarray(obb.R, dtype=np.float64).copy(),
        extent=np.asarray(obb.extent, dtype=np.float64).copy(),
    )
