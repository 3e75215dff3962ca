"""Depth image decoding: the ``sensor_msgs/Image`` encoding decides the units.

Following ``depth_image_proc/depth_traits.hpp``:

* ``16UC1``: unsigned 16-bit **millimetres**; 0 means "no measurement".
* ``32FC1``: 32-bit float **metres**; NaN, +/-inf and values <= 0 mean "no measurement".

Any other encoding is an error, never a guess (yolo_ros issue #105: a unit divisor set by the
user silently produced 3-D boxes 1000x too small). Decoded depth is (H, W) float32 metres with
NaN wherever there is no valid measurement, including values outside the configured range.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import ArrayLike

logger = logging.getLogger(__name__)

__all__ = ["DEPTH_ENCODINGS", "decode_depth", "encode_depth"]

#: Supported encodings and the factor from stored value to metres.
DEPTH_ENCODINGS: dict[str, float] = {"16UC1": 1e-3, "32FC1": 1.0}


def _check_range(min_depth_m: float, max_depth_m: float) -> None:
    if not (math.isfinite(min_depth_m) and min_depth_m >= 0.0):
        raise ValueError(f"min_depth_m must be finite and >= 0, got {min_depth_m!r}")
    if not (max_depth_m > min_depth_m):  # inf is allowed for max
        raise ValueError(
            f"max_depth_m must be > min_depth_m ({min_depth_m!r}), got {max_depth_m!r}"
        )


def decode_depth(
    image: ArrayLike, encoding: str, min_depth_m: float = 0.0, max_depth_m: float = math.inf
) -> np.ndarray:
    """Decode a depth image to metres.

    Args:
        image: (H, W) or (H, W, 1) array; dtype uint16 for ``16UC1`` (either byte order),
            float32 (float64 accepted) for ``32FC1``.
        encoding: the ``sensor_msgs/Image.encoding`` string, ``'16UC1'`` or ``'32FC1'``.
        min_depth_m, max_depth_m: depths outside ``[min_depth_m, max_depth_m]`` become NaN.
    Returns:
        (H, W) float32 depth in metres, NaN = invalid.
    Raises:
        ValueError: unsupported encoding, wrong shape/dtype, or a bad range.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(
            f"unsupported depth encoding {encoding!r}; expected one of {sorted(DEPTH_ENCODINGS)} "
            "(16UC1 = millimetres, 32FC1 = metres)"
        )
    _check_range(float(min_depth_m), float(max_depth_m))
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise ValueError(f"depth image must have shape (H, W) or (H, W, 1), got {arr.shape}")
    if encoding == "16UC1":
        if arr.dtype.kind != "u" or arr.dtype.itemsize != 2:
            raise ValueError(f"encoding '16UC1' needs a uint16 array, got dtype {arr.dtype}")
        raw = arr.astype(np.float32)
        raw[arr == 0] = np.nan
        depth = raw * np.float32(DEPTH_ENCODINGS[encoding])  # (H, W) metres
    else:
        if arr.dtype.kind != "f":
            raise ValueError(f"encoding '32FC1' needs a float array, got dtype {arr.dtype}")
        depth = arr.astype(np.float32, copy=True)
        depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    with np.errstate(invalid="ignore"):
        depth[(depth < min_depth_m) | (depth > max_depth_m)] = np.nan
    return depth


def encode_depth(depth_m: ArrayLike, encoding: str) -> np.ndarray:
    """Inverse of :func:`decode_depth` (for tests, bags and demos).

    Args:
        depth_m: (H, W) float depth in metres, NaN/<=0 = invalid.
        encoding: ``'16UC1'`` (whole mm, 0 = invalid, clipped to 65.535 m) or ``'32FC1'``.
    Returns:
        (H, W) uint16 or float32 array.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(
            f"unsupported depth encoding {encoding!r}; expected one of {sorted(DEPTH_ENCODINGS)}"
        )
    d = np.asarray(depth_m, dtype=np.float64)
    valid = np.isfinite(d) & (d > 0)
    if encoding == "32FC1":
        return np.where(valid, d, np.nan).astype(np.float32)
    mm = np.zeros(d.shape, dtype=np.float64)
    mm[valid] = np.clip(np.rint(d[valid] / DEPTH_ENCODINGS["16UC1"]), 0, 65535)
    return mm.astype(np.uint16)
