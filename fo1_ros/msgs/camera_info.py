"""sensor_msgs/CameraInfo -> the camera model of :mod:`fo1_ros.geometry`, and filling a CameraInfo.

fo1_ros has one camera model, :class:`fo1_ros.geometry.CameraModel` (intrinsics, projection,
rescaling to another image size with :meth:`~fo1_ros.geometry.CameraModel.fit_to`);
:func:`camera_info_to_model` reads it out of a CameraInfo, with binning and ROI applied as
image_geometry does. fo1_ros assumes rectified (undistorted) images, e.g. ``image_rect``: a
non-zero distortion is reported once per frame id and otherwise ignored.

Messages are rclpy or rosbags objects, duck-typed (``Any``): ``k`` is a numpy array in both,
``d`` an ``array.array('d')`` (rclpy) or a numpy array (rosbags).
"""

from __future__ import annotations

import array
import logging
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..geometry.camera import CameraModel
from .errors import CameraInfoError, warn_once

logger = logging.getLogger(__name__)

__all__ = ["camera_info_to_model", "fill_camera_info"]


def _binned_intrinsics(msg: Any) -> tuple[np.ndarray, int, int]:
    """``(K, width, height)`` of the published images: K ``(3, 3)`` float64 after ROI and binning.

    Raises:
        CameraInfoError: K has not 9 entries, or fx / fy are not positive (uncalibrated).
    """
    k = np.asarray(msg.k, dtype=np.float64).reshape(-1)
    if k.size != 9:
        raise CameraInfoError(f"CameraInfo field 'k' has {k.size} entries, expected 9")
    K = k.reshape(3, 3).copy()
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise CameraInfoError(
            f"CameraInfo field 'k' has fx={K[0, 0]}, fy={K[1, 1]}: the camera is not "
            "calibrated (fx and fy must be > 0)"
        )
    width, height = int(msg.width), int(msg.height)
    binning_x = max(int(getattr(msg, "binning_x", 0)), 1)
    binning_y = max(int(getattr(msg, "binning_y", 0)), 1)
    roi = getattr(msg, "roi", None)
    roi_x, roi_y = (int(roi.x_offset), int(roi.y_offset)) if roi is not None else (0, 0)
    roi_w, roi_h = (int(roi.width), int(roi.height)) if roi is not None else (0, 0)
    if roi_w == 0 or roi_h == 0:  # an all-zero ROI means the full image
        roi_x, roi_y, roi_w, roi_h = 0, 0, width, height
    K[0, 2] -= roi_x
    K[1, 2] -= roi_y
    K[0, :] /= binning_x
    K[1, :] /= binning_y
    return K, roi_w // binning_x, roi_h // binning_y


def _distortion(msg: Any) -> np.ndarray:
    """``d`` as a ``(N,)`` float64 array."""
    return np.asarray(msg.d, dtype=np.float64).reshape(-1)


def _frame_id(msg: Any) -> str:
    return str(msg.header.frame_id) if hasattr(msg, "header") else ""


def camera_info_to_model(msg: Any) -> CameraModel:
    """The camera model of the images a sensor_msgs/CameraInfo (rclpy or rosbags) describes.

    Binning and ROI are applied as image_geometry does: K describes the full-resolution
    sensor, the images are ``roi`` cut out and binned (an all-zero ROI means the full image).
    Distortion is ignored, with a warning once per frame id (rectified images are assumed).
    Use :meth:`~fo1_ros.geometry.CameraModel.fit_to` for an image of another size.

    Raises:
        CameraInfoError: K has not 9 entries, fx / fy are not positive (uncalibrated), or K and
            the size make no camera model (e.g. width 0, or K's last row not ``[0, 0, 1]``).
    """
    K, width, height = _binned_intrinsics(msg)
    D = _distortion(msg)
    if D.size and np.any(D != 0):
        frame_id, model = _frame_id(msg), str(msg.distortion_model)
        warn_once(logger, "distortion:" + frame_id,
                  f"CameraInfo of frame {frame_id!r} has distortion ({model}, D={D.tolist()}); "
                  "fo1_ros ignores it and assumes rectified images (subscribe to image_rect)")
    try:
        return CameraModel.from_matrix(K, width, height)
    except ValueError as e:
        raise CameraInfoError(f"CameraInfo does not describe a camera: {e}") from e


def fill_camera_info(msg: Any, K: ArrayLike, width: int, height: int,
                     D: ArrayLike | None = None, distortion_model: str = "plumb_bob") -> Any:
    """Set k, d, r, p, width, height and distortion_model of a CameraInfo (rclpy or rosbags)
    in place for an ideal pinhole camera (R = identity, P = [K | 0]); returns ``msg``.

    Args:
        K: ``(3, 3)`` intrinsics, pixels.
        D: distortion coefficients, default five zeros (plumb_bob).
    """
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    D = np.zeros(5) if D is None else np.asarray(D, dtype=np.float64).reshape(-1)
    P = np.concatenate([K, np.zeros((3, 1))], axis=1)  # (3, 4)
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = distortion_model
    msg.k = K.reshape(-1).copy()
    msg.r = np.eye(3).reshape(-1)
    msg.p = P.reshape(-1)
    msg.d = array.array("d", D.tolist()) if isinstance(getattr(msg, "d", None),
                                                       array.array) else D
    return msg
