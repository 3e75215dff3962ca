"""Pinhole camera model: intrinsics, projection, back-projection, resolution scaling.

:class:`CameraModel` is fo1_ros's one camera model: :func:`fo1_ros.msgs.camera_info_to_model`
reads it from a CameraInfo, and :meth:`CameraModel.fit_to` rescales it to the size of the image
it is used with (or refuses an image of another aspect ratio).

Conventions (those of ROS ``sensor_msgs/CameraInfo`` and OpenCV):

* Points are in the camera *optical* frame: x right, y down, z forward, metres.
* Pixel coordinates ``(u, v)`` are such that the centre of the pixel in column ``j``, row
  ``i`` is at ``(u, v) = (j, i)``; ``K`` maps normalised coordinates to these.
* 2-D boxes elsewhere in fo1_ros are *continuous* ``x1, y1, x2, y2`` with pixel ``(i, j)``
  covering ``[j, j + 1) x [i, i + 1)`` (the detector / torchvision convention), so a box
  edge ``x`` is at ``u = x - 0.5``. :meth:`CameraModel.box_to` does this bookkeeping.

Dim names: ``N`` points or boxes, ``H, W`` image rows and columns.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

logger = logging.getLogger(__name__)

__all__ = ["CameraModel", "ASPECT_TOLERANCE"]

#: Largest difference of ``width / height`` for two image sizes to count as one aspect ratio
#: (:meth:`CameraModel.fit_to`); the node's decoding has always used 0.01.
ASPECT_TOLERANCE = 0.01


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics of one image (no distortion: use rectified images).

    Args:
        fx, fy: focal lengths in pixels, finite and > 0.
        cx, cy: principal point in pixels (pixel-centre convention, see module doc).
        width, height: image size in pixels, > 0.
        skew: ``K[0, 1]``; 0 for almost every camera.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    skew: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy", "skew"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(
                value
            ):
                raise ValueError(f"CameraModel.{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("fx", "fy"):
            if getattr(self, name) <= 0.0:
                raise ValueError(
                    f"CameraModel.{name} must be > 0, got {getattr(self, name)!r} "
                    "(an all-zero K means the camera is uncalibrated)"
                )
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"CameraModel.{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_matrix(cls, K: ArrayLike, width: int, height: int) -> CameraModel:
        """Build from a 3x3 intrinsic matrix ``K`` (array-like, (3, 3)) and the image size.

        The last row must be ``[0, 0, 1]`` and ``K[1, 0]`` must be 0.
        """
        k = np.asarray(K, dtype=np.float64)
        if k.shape != (3, 3):
            raise ValueError(f"K must have shape (3, 3), got {k.shape}")
        if not np.all(np.isfinite(k)):
            raise ValueError(f"K must be finite, got {k.tolist()}")
        cam = cls(
            fx=float(k[0, 0]),
            fy=float(k[1, 1]),
            cx=float(k[0, 2]),
            cy=float(k[1, 2]),
            width=width,
            height=height,
            skew=float(k[0, 1]),
        )  # validates fx, fy first: an all-zero K (uncalibrated camera) is reported as such
        if k[1, 0] != 0.0 or not np.allclose(k[2], [0.0, 0.0, 1.0]):
            raise ValueError(f"K must have K[1,0] = 0 and last row [0, 0, 1], got {k.tolist()}")
        return cam

    @classmethod
    def from_camera_info(cls, k: Sequence[float], width: int, height: int) -> CameraModel:
        """From ``sensor_msgs/CameraInfo`` fields ``k`` (9,) row-major, ``width``, ``height``."""
        flat = np.asarray(k, dtype=np.float64).reshape(-1)
        if flat.shape != (9,):
            raise ValueError(f"CameraInfo k must have 9 values, got {flat.shape[0]}")
        return cls.from_matrix(flat.reshape(3, 3), int(width), int(height))

    @classmethod
    def from_msg(cls, msg: Any) -> CameraModel:
        """Build from any object with ``k``, ``width``, ``height`` attributes (a CameraInfo,
        rclpy or rosbags: duck-typed, hence ``Any``). No binning, ROI or distortion: see
        :func:`fo1_ros.msgs.camera_info_to_model` for those."""
        try:
            k, width, height = msg.k, msg.width, msg.height
        except AttributeError as e:
            raise TypeError(
                f"expected a CameraInfo-like object with k/width/height, got {type(msg).__name__}"
            ) from e
        return cls.from_camera_info(k, width, height)

    # ------------------------------------------------------------------ properties
    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 intrinsic matrix."""
        return np.array(
            [[self.fx, self.skew, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]],
            dtype=np.float64,
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the image these intrinsics describe (numpy order)."""
        return (self.height, self.width)

    # ------------------------------------------------------------------ normalised coordinates
    def pixel_to_normalized(self, uv: ArrayLike) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) float64 normalised coordinates ``(x/z, y/z)``."""
        uv = np.asarray(uv, dtype=np.float64)
        yn = (uv[..., 1] - self.cy) / self.fy
        xn = (uv[..., 0] - self.cx - self.skew * yn) / self.fx
        return np.stack([xn, yn], axis=-1)

    def normalized_to_pixel(self, xy: ArrayLike) -> np.ndarray:
        """(N, 2) normalised coordinates -> (N, 2) float64 pixels."""
        xy = np.asarray(xy, dtype=np.float64)
        u = self.fx * xy[..., 0] + self.skew * xy[..., 1] + self.cx
        v = self.fy * xy[..., 1] + self.cy
        return np.stack([u, v], axis=-1)

    # ------------------------------------------------------------------ projection
    def project(self, points: ArrayLike) -> np.ndarray:
        """Project optical-frame points to pixels.

        Args:
            points: (N, 3) float, metres.
        Returns:
            (N, 2) float64 ``(u, v)``; NaN for points with ``z <= 0`` (behind the camera).
        """
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-1] != 3:
            raise ValueError(f"points must have shape (N, 3), got {p.shape}")
        z = p[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = p[..., :2] / z[..., None]
        xy[z <= 0] = np.nan
        return self.normalized_to_pixel(xy)

    def back_project(self, uv: ArrayLike, depth: ArrayLike) -> np.ndarray:
        """Pixels plus depth (z, metres) -> optical-frame points.

        Args:
            uv: (N, 2) float pixels.
            depth: (N,) float z in metres (not the ray length).
        Returns:
            (N, 3) float64 points.
        """
        xy = self.pixel_to_normalized(uv)
        z = np.asarray(depth, dtype=np.float64)
        if z.shape != xy.shape[:-1]:
            raise ValueError(f"depth shape {z.shape} does not match uv shape {xy.shape[:-1]}")
        return np.concatenate([xy * z[..., None], z[..., None]], axis=-1)

    def normalized_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalised coordinates of all pixel centres: two (H, W) float64, ``x/z`` and ``y/z``."""
        v, u = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        yn = (v - self.cy) / self.fy
        xn = (u - self.cx - self.skew * yn) / self.fx
        return xn, yn

    def back_project_image(self, depth: ArrayLike) -> np.ndarray:
        """(H, W) depth in metres -> (H, W, 3) float64 points (NaN where depth is NaN)."""
        d = np.asarray(depth, dtype=np.float64)
        if d.shape != self.shape:
            raise ValueError(f"depth shape {d.shape} does not match camera (H, W) {self.shape}")
        xn, yn = self.normalized_grid()
        return np.stack([xn * d, yn * d, d], axis=-1)

    # ------------------------------------------------------------------ resolution
    def scaled(self, width: int, height: int) -> CameraModel:
        """Intrinsics of the same camera after resizing the image to ``width`` x ``height``.

        Uses the exact pixel-area mapping of ``cv2.resize``: ``u' + 0.5 = s (u + 0.5)``,
        so ``cx' = s (cx + 0.5) - 0.5`` (image_proc's ``cx' = s cx`` is off by ``(s-1)/2`` px).
        """
        _check_size("width", width)
        _check_size("height", height)
        sx, sy = width / self.width, height / self.height
        return CameraModel(
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=sx * (self.cx + 0.5) - 0.5,
            cy=sy * (self.cy + 0.5) - 0.5,
            width=int(width),
            height=int(height),
            skew=self.skew * sx,
        )

    def fit_to(self, width: int, height: int) -> CameraModel:
        """These intrinsics for an image of ``width`` x ``height``: ``self`` when that is this
        model's size, :meth:`scaled` when the aspect ratio agrees (``width / height`` within
        :data:`ASPECT_TOLERANCE`), e.g. a CameraInfo for 1280x960 and images resized to 640x480.

        Raises:
            ValueError: another aspect ratio (the image was cropped, or the CameraInfo belongs to
                another camera); the text names both sizes.
        """
        _check_size("width", width)
        _check_size("height", height)
        if (width, height) == (self.width, self.height):
            return self
        if abs(self.width / self.height - width / height) > ASPECT_TOLERANCE:
            raise ValueError(
                f"CameraModel for {self.width}x{self.height} images cannot describe "
                f"{width}x{height} images (another aspect ratio)"
            )
        return self.scaled(width, height)

    def box_to(self, boxes: ArrayLike, other: CameraModel) -> np.ndarray:
        """Map continuous xyxy boxes from this image to ``other``'s pixels.

        Assumes the two images share one optical frame and differ only by intrinsics and
        resolution (a depth image registered to the colour camera, or a resized copy): each
        corner goes through normalised coordinates, which is exact for such pairs. The
        corners are mapped independently, so with skew the result is the enclosing box.

        Args:
            boxes: (N, 4) float ``x1, y1, x2, y2`` in this image (box convention, see module doc).
        Returns:
            (N, 4) float64 boxes in ``other``'s pixels.
        """
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        corners = (
            np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [0, 3]], b[:, [2, 3]]], axis=1) - 0.5
        )  # (N, 4, 2) pixel-centre coordinates
        mapped = other.normalized_to_pixel(self.pixel_to_normalized(corners)) + 0.5  # (N, 4, 2)
        return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)
