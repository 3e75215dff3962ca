"""sensor_msgs/Image <-> numpy, and any image message to RGB8 (a cv_bridge replacement).

cv_bridge is not installable beside this stack. Two families of message objects pass through
these functions and are told apart by duck typing only (attribute names are the same in both,
hence ``Any`` for messages):

- rosbags dataclasses (bags, offline processing): ``uint8[]`` fields hold 1-D ``np.uint8``
  arrays; build them with the type store from :func:`fo1_ros.msgs.typestore`;
- rclpy messages (the live node): ``uint8[]`` fields hold ``array.array('B')``.

Arrays are ``(H, W)`` for one channel and ``(H, W, C)`` otherwise, in native byte order, with
the dtype of the encoding (``uint8`` for ``rgb8``, ``uint16`` for ``mono16``/``16UC1`` depth in
millimetres, ``float32`` for ``32FC1`` depth in metres; see :mod:`.encodings`). Malformed
messages raise :class:`ImageConversionError` (a ``ValueError``) naming the field and the
values, never a crash or silently wrong pixels. CompressedImage is in :mod:`.compressed`.
"""

from __future__ import annotations

import array
import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from rosbags.typesys.store import Typestore

from .compressed import compressed_image_to_numpy
from .encodings import as_bytes_array, check_array, default_encoding, encoding_info
from .errors import ImageConversionError, warn_once
from .time import make_header

logger = logging.getLogger(__name__)

__all__ = [
    "is_empty_image",
    "image_to_numpy",
    "to_rgb8",
    "image_msg_to_rgb8",
    "ImageFields",
    "numpy_to_image_fields",
    "fill_image",
    "make_rosbags_image",
]


def is_empty_image(msg: Any) -> bool:
    """True for an Image with no pixels (height or width 0), e.g. a default-constructed one;
    the services use this to mean "the latest frame"."""
    return int(msg.height) == 0 or int(msg.width) == 0


def image_to_numpy(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/Image (rosbags or rclpy) into a numpy array.

    Honours ``step`` (row padding is dropped) and ``is_bigendian`` (multi-byte pixels are
    returned in native byte order).

    Returns:
        ``(H, W)`` for one-channel encodings, ``(H, W, C)`` otherwise; dtype from the encoding
        (see :func:`encoding_info`). The array may share memory with ``msg.data`` (no copy when
        rows are unpadded and the byte order is native): copy it before writing to it.

    Raises:
        ImageConversionError: unknown encoding, ``step`` smaller than a row, or ``data`` not
            ``step * height`` bytes.
    """
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    encoding = str(msg.encoding)
    dtype, channels = encoding_info(encoding)
    data = as_bytes_array(msg.data)
    row_bytes = width * channels * dtype.itemsize
    if height < 0 or width < 0:
        raise ImageConversionError(f"negative image size: height={height}, width={width}")
    if step < row_bytes:
        raise ImageConversionError(
            f"field 'step' = {step} is smaller than one row of {width} px x {channels} ch x "
            f"{dtype.itemsize} B = {row_bytes} B (encoding {encoding!r})"
        )
    if data.size != step * height:
        raise ImageConversionError(
            f"field 'data' has {data.size} bytes, expected step * height = {step} * {height} "
            f"= {step * height} (encoding {encoding!r}, width {width})"
        )
    shape = (height, width) if channels == 1 else (height, width, channels)
    if height == 0 or width == 0:
        return np.zeros(shape, dtype=dtype)
    rows = data.reshape(height, step)[:, :row_bytes]  # (H, row_bytes) uint8
    if step != row_bytes:
        rows = np.ascontiguousarray(rows)  # drop the row padding: one copy
    stored = dtype.newbyteorder(">" if int(msg.is_bigendian) else "<")
    image = rows.view(stored).reshape(shape)  # (H, W) or (H, W, C)
    if image.dtype != dtype:
        image = image.astype(dtype)  # byte-swap to native order
    return image


# cv2 conversion codes for encodings that need demosaicing or YUV decoding. OpenCV names a
# Bayer pattern after the 2x2 block starting at the second row and column, hence the swaps
# (the same mapping as cv_bridge).
_CV2_TO_RGB: dict[str, int] = {
    "bayer_rggb8": cv2.COLOR_BayerBG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGR2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
}


def to_rgb8(image: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an image array in a colour or grey encoding to RGB ``uint8``.

    Args:
        image: as returned by :func:`image_to_numpy` for ``encoding``.
        encoding: rgb8, bgr8, rgba8, bgra8, mono8, mono16, rgb16/bgr16/rgba16/bgra16 (16-bit
            values keep their top 8 bits), bayer_*8, yuv422 (UYVY), yuv422_yuy2 (YUYV),
            8UC1 (grey), 8UC3 / 8UC4 (taken as OpenCV's BGR / BGRA, with a warning once).

    Returns:
        ``(H, W, 3)`` uint8, C-contiguous (for rgb8 input, possibly ``image`` itself).

    Raises:
        ImageConversionError: depth or other non-colour encodings (16UC1, 32FC1, ...), or an
            array whose dtype / channels do not match the encoding.
    """
    dtype, channels = encoding_info(encoding)
    check_array(image, dtype, channels, encoding)
    if encoding in ("8UC3", "8UC4"):
        warn_once(logger, "to_rgb8:" + encoding,
                  f"image encoding {encoding!r} has no channel order; assuming OpenCV's "
                  f"{'BGR' if encoding == '8UC3' else 'BGRA'}")
        encoding = "bgr8" if encoding == "8UC3" else "bgra8"
    if encoding in ("mono16", "rgb16", "bgr16", "rgba16", "bgra16"):
        image = (image >> 8).astype(np.uint8)
        encoding = {"mono16": "mono8"}.get(encoding, encoding.replace("16", "8"))
    if encoding in ("mono8", "8UC1"):
        rgb = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
    elif encoding == "rgb8":
        rgb = image
    elif encoding == "bgr8":
        rgb = image[..., ::-1]
    elif encoding == "rgba8":
        rgb = image[..., :3]
    elif encoding == "bgra8":
        rgb = image[..., 2::-1]
    elif encoding in _CV2_TO_RGB:
        rgb = cv2.cvtColor(np.ascontiguousarray(image), _CV2_TO_RGB[encoding])
    else:
        raise ImageConversionError(
            f"image encoding {encoding!r} is not a colour or grey encoding; use "
            "image_to_numpy() for depth and other data images"
        )
    return np.ascontiguousarray(rgb)  # (H, W, 3) uint8


def image_msg_to_rgb8(msg: Any) -> np.ndarray:
    """A sensor_msgs/Image or sensor_msgs/CompressedImage as RGB ``uint8`` ``(H, W, 3)``.

    A message with a ``format`` field is taken as a CompressedImage.
    """
    if hasattr(msg, "format"):
        image, encoding = compressed_image_to_numpy(msg)
    else:
        image, encoding = image_to_numpy(msg), str(msg.encoding)
    return to_rgb8(image, encoding)


@dataclass(frozen=True)
class ImageFields:
    """The fields of a sensor_msgs/Image except ``header``.

    ``data`` is a 1-D ``uint8`` numpy array of ``step * height`` bytes: the form rosbags
    messages take. For rclpy messages use :meth:`data_array` (``array.array('B')``, which
    rclpy's ``uint8[]`` setter stores as is; a numpy array there is converted element by
    element, ~40x slower for a VGA frame).
    """

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: np.ndarray  # (step * height,) uint8

    def data_array(self) -> array.array:
        """``data`` as ``array.array('B')`` for rclpy messages (one memory copy)."""
        out = array.array("B")
        out.frombytes(self.data.tobytes())
        return out

    def as_dict(self, rclpy: bool = False) -> dict[str, Any]:
        """Keyword arguments for a message constructor, e.g. ``Image(header=h, **f.as_dict())``.

        Args:
            rclpy: give ``data`` as ``array.array('B')`` (rclpy) instead of numpy (rosbags).
        """
        return {"height": self.height, "width": self.width, "encoding": self.encoding,
                "is_bigendian": self.is_bigendian, "step": self.step,
                "data": self.data_array() if rclpy else self.data}


def numpy_to_image_fields(image: np.ndarray, encoding: str | None = None, *,
                          is_bigendian: bool = False, step: int | None = None) -> ImageFields:
    """Encode a numpy image as sensor_msgs/Image fields.

    Args:
        image: ``(H, W)`` or ``(H, W, C)``; its dtype must be the encoding's (e.g. uint8 for
            rgb8, uint16 for 16UC1 depth in mm, float32 for 32FC1 depth in m).
        encoding: default from dtype and shape: uint8 (H, W) mono8, (H, W, 3) rgb8,
            (H, W, 4) rgba8; uint16 (H, W) 16UC1; float32 (H, W) 32FC1; else the generic
            ``<bits><U|S|F>C<n>`` name.
        is_bigendian: write multi-byte pixels big-endian (default: little-endian, as every
            common ROS 2 platform).
        step: bytes per row; default packed rows. A larger step pads each row with zeros.

    Raises:
        ImageConversionError: dtype or channels do not match the encoding, or ``step`` is
            smaller than a row.
    """
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    encoding = encoding if encoding is not None else default_encoding(image)
    dtype, channels = encoding_info(encoding)
    check_array(image, dtype, channels, encoding)
    height, width = image.shape[:2]
    row_bytes = width * channels * dtype.itemsize
    step = row_bytes if step is None else int(step)
    if step < row_bytes:
        raise ImageConversionError(
            f"step={step} is smaller than one row of {row_bytes} bytes "
            f"({width} px x {channels} ch x {dtype.itemsize} B)"
        )
    order = ">" if is_bigendian else "<"
    pixels = np.ascontiguousarray(image, dtype=dtype.newbyteorder(order))
    rows = pixels.view(np.uint8).reshape(height, row_bytes)  # (H, row_bytes) uint8
    if step != row_bytes:
        padded = np.zeros((height, step), dtype=np.uint8)
        padded[:, :row_bytes] = rows
        rows = padded
    return ImageFields(height=int(height), width=int(width), encoding=encoding,
                       is_bigendian=int(bool(is_bigendian)), step=step,
                       data=rows.reshape(-1))


def fill_image(msg: Any, image: np.ndarray, encoding: str | None = None, *,
               is_bigendian: bool = False, step: int | None = None) -> Any:
    """Set the pixel fields of an Image message (rclpy or rosbags) in place; returns ``msg``.

    ``data`` gets ``array.array('B')`` when the message holds one already (rclpy), a numpy
    uint8 array otherwise (rosbags). ``header`` is left alone (see :func:`fill_header`).
    Arguments as :func:`numpy_to_image_fields`.
    """
    fields = numpy_to_image_fields(image, encoding, is_bigendian=is_bigendian, step=step)
    for key, value in fields.as_dict(rclpy=isinstance(getattr(msg, "data", None),
                                                      array.array)).items():
        setattr(msg, key, value)
    return msg


def make_rosbags_image(store: Typestore, image: np.ndarray, encoding: str | None = None, *,
                       stamp_ns: int = 0, frame_id: str = "", **kwargs: Any) -> Any:
    """A rosbags ``sensor_msgs/msg/Image`` holding ``image`` (see :func:`numpy_to_image_fields`
    for ``encoding`` and ``kwargs``)."""
    fields = numpy_to_image_fields(image, encoding, **kwargs)
    image_type = store.types["sensor_msgs/msg/Image"]
    return image_type(header=make_header(store, stamp_ns, frame_id), **fields.as_dict())
