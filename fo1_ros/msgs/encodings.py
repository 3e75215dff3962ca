"""Image encodings (those of sensor_msgs/image_encodings.hpp and OpenCV's ``<bits><U|S|F>C<n>``).

What each encoding means as a numpy array (element dtype, channel count), checks of an array
against an encoding, the default encoding of an array, and the ``uint8[]`` buffer of a message
as numpy. Shared by :mod:`.image` and :mod:`.compressed`; arrays are ``(H, W)`` for one channel
and ``(H, W, C)`` otherwise.
"""

from __future__ import annotations

import array
import re
from collections.abc import Sequence

import numpy as np

from .errors import ImageConversionError

__all__ = ["IMAGE_ENCODINGS", "encoding_info", "as_bytes_array", "check_array", "default_encoding"]

# Named encodings of sensor_msgs/image_encodings.hpp: (dtype, channels).
IMAGE_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "rgb16": (np.dtype(np.uint16), 3),
    "bgr16": (np.dtype(np.uint16), 3),
    "rgba16": (np.dtype(np.uint16), 4),
    "bgra16": (np.dtype(np.uint16), 4),
    "bayer_rggb8": (np.dtype(np.uint8), 1),
    "bayer_bggr8": (np.dtype(np.uint8), 1),
    "bayer_gbrg8": (np.dtype(np.uint8), 1),
    "bayer_grbg8": (np.dtype(np.uint8), 1),
    # 4:2:2 packed YUV, two bytes per pixel: "yuv422" is UYVY, "yuv422_yuy2" is YUYV.
    "yuv422": (np.dtype(np.uint8), 2),
    "uyvy": (np.dtype(np.uint8), 2),
    "yuv422_yuy2": (np.dtype(np.uint8), 2),
    "yuyv": (np.dtype(np.uint8), 2),
}

#: What a ``uint8[]`` message field holds: numpy (rosbags), array.array (rclpy), bytes, a list.
ByteBuffer = np.ndarray | bytes | bytearray | memoryview | array.array | Sequence[int]

# OpenCV-style generic encodings, e.g. 8UC1, 16UC1 (depth, mm), 32FC1 (depth, m), 8UC3.
_GENERIC = re.compile(r"^(8U|8S|16U|16S|32S|32F|64F)C([1-4])$")
_GENERIC_DTYPES = {
    "8U": np.uint8, "8S": np.int8, "16U": np.uint16, "16S": np.int16,
    "32S": np.int32, "32F": np.float32, "64F": np.float64,
}


def encoding_info(encoding: str) -> tuple[np.dtype, int]:
    """The element dtype and channel count of an image encoding.

    Raises:
        ImageConversionError: unknown encoding.
    """
    if encoding in IMAGE_ENCODINGS:
        return IMAGE_ENCODINGS[encoding]
    match = _GENERIC.match(encoding)
    if match:
        return np.dtype(_GENERIC_DTYPES[match.group(1)]), int(match.group(2))
    raise ImageConversionError(
        f"unsupported image encoding {encoding!r} (field 'encoding'); supported: "
        f"{', '.join(IMAGE_ENCODINGS)} and 8U/8S/16U/16S/32S/32F/64F with C1..C4 (e.g. 16UC1)"
    )


def as_bytes_array(data: ByteBuffer) -> np.ndarray:
    """A ``uint8[]`` field (numpy, array.array, bytes, list) as a 1-D uint8 array, no copy
    where the buffer allows it."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ImageConversionError(f"field 'data' must hold uint8, got dtype {data.dtype}")
        return data.reshape(-1)
    if isinstance(data, bytes | bytearray | memoryview | array.array):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8).reshape(-1)



def check_array(image: np.ndarray, dtype: np.dtype, channels: int, encoding: str) -> None:
    """Raise :class:`ImageConversionError` unless ``image`` is a numpy array of ``dtype`` (any byte
    order) with ``channels`` channels: ``(H, W)`` for one, ``(H, W, channels)`` otherwise."""
    if not isinstance(image, np.ndarray):
        raise ImageConversionError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype.newbyteorder("=") != dtype:
        raise ImageConversionError(
            f"array dtype {image.dtype} does not match encoding {encoding!r} ({dtype})"
        )
    got = 1 if image.ndim == 2 else (image.shape[2] if image.ndim == 3 else None)
    if got != channels:
        raise ImageConversionError(
            f"array shape {image.shape} does not match encoding {encoding!r} "
            f"({channels} channel{'s' if channels > 1 else ''}: expected "
            f"{'(H, W)' if channels == 1 else f'(H, W, {channels})'})"
        )


def default_encoding(image: np.ndarray) -> str:
    """The encoding an array is written in when none is given: uint8 ``(H, W)`` mono8,
    ``(H, W, 3)`` rgb8, ``(H, W, 4)`` rgba8; uint16 ``(H, W)`` 16UC1; float32 ``(H, W)`` 32FC1;
    else the generic ``<bits><U|S|F>C<n>`` name."""
    channels = 1 if image.ndim == 2 else image.shape[-1]
    named = {(np.uint8, 1): "mono8", (np.uint8, 3): "rgb8", (np.uint8, 4): "rgba8",
             (np.uint16, 1): "16UC1", (np.float32, 1): "32FC1"}
    key = (image.dtype.newbyteorder("=").type, channels)
    if key in named:
        return named[key]
    for code, dtype in _GENERIC_DTYPES.items():
        if np.dtype(dtype) == image.dtype.newbyteorder("=") and 1 <= channels <= 4:
            return f"{code}C{channels}"
    raise ImageConversionError(
        f"cannot infer an image encoding for an array of shape {image.shape} and dtype "
        f"{image.dtype}; pass encoding="
    )
