"""sensor_msgs/CompressedImage <-> numpy: jpeg and png as image_transport's ``compressed``
plugin writes them, and ``compressedDepth`` png (compressed_depth_image_transport).

Messages are rclpy or rosbags objects, duck-typed (``Any``) as in :mod:`.image`; arrays are
as :func:`fo1_ros.msgs.image_to_numpy` returns them.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .encodings import as_bytes_array, check_array, default_encoding, encoding_info
from .errors import ImageConversionError

__all__ = [
    "CompressedFields",
    "compressed_image_to_numpy",
    "numpy_to_compressed_fields",
    "fill_compressed_image",
]


def _codec(fmt: str, data: np.ndarray) -> str:
    lowered = fmt.lower()
    if "jpeg" in lowered or "jpg" in lowered:
        return "jpeg"
    if "png" in lowered:
        return "png"
    if data[:2].tobytes() == b"\xff\xd8":
        return "jpeg"
    if data[:8].tobytes() == b"\x89PNG\r\n\x1a\n":
        return "png"
    raise ImageConversionError(
        f"unsupported CompressedImage format {fmt!r} (field 'format'); supported: jpeg, png, "
        "'<encoding>; jpeg compressed bgr8', '<encoding>; png compressed ...', "
        "'16UC1; compressedDepth png', '32FC1; compressedDepth png'"
    )


def _decode_compressed_depth(fmt: str, data: np.ndarray) -> tuple[np.ndarray, str]:
    """compressed_depth_image_transport: a 12-byte ConfigHeader (int32 format, float32
    depthQuantA, float32 depthQuantB) and then a PNG."""
    encoding = fmt.split(";")[0].strip()
    if "png" not in fmt.lower() and fmt.strip().lower() != f"{encoding.lower()}; compresseddepth":
        raise ImageConversionError(f"unsupported compressedDepth format {fmt!r}; only png")
    if data.size <= 12:
        raise ImageConversionError(f"compressedDepth 'data' has only {data.size} bytes")
    quant_a, quant_b = np.frombuffer(data[4:12].tobytes(), dtype="<f4")
    png = cv2.imdecode(data[12:], cv2.IMREAD_UNCHANGED)
    if png is None or png.dtype != np.uint16 or png.ndim != 2:
        raise ImageConversionError(
            f"compressedDepth 'data' ({data.size} bytes, format {fmt!r}) is not a 16-bit PNG"
        )
    if encoding == "16UC1":
        return png, "16UC1"
    if encoding == "32FC1":
        # The PNG holds quantised inverse depth: depth = A / (v - B); 0 = no depth.
        with np.errstate(divide="ignore"):
            depth = quant_a / (png.astype(np.float32) - quant_b)
        depth[png == 0] = np.nan
        return depth.astype(np.float32), "32FC1"
    raise ImageConversionError(f"compressedDepth of encoding {encoding!r} is not supported")


def compressed_image_to_numpy(msg: Any) -> tuple[np.ndarray, str]:
    """Decode a sensor_msgs/CompressedImage (jpeg or png; compressedDepth png).

    ``format`` is read as image_transport writes it: ``"jpeg"``, ``"png"``,
    ``"rgb8; jpeg compressed bgr8"``, ``"16UC1; compressedDepth png"``; an empty format is
    sniffed from the data. When the format names the original encoding the image comes back
    in it; otherwise colour comes back as rgb8 (rgba8 with alpha), grey as mono8 / mono16.

    Returns:
        ``(image, encoding)``: image ``(H, W)`` or ``(H, W, C)`` as for :func:`fo1_ros.msgs.image_to_numpy`.

    Raises:
        ImageConversionError: unknown format or undecodable data.
    """
    fmt = str(msg.format)
    data = as_bytes_array(msg.data)
    if data.size == 0:
        raise ImageConversionError("CompressedImage field 'data' is empty")
    if "compresseddepth" in fmt.lower():
        return _decode_compressed_depth(fmt, data)
    codec = _codec(fmt, data)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # BGR(A) or grey, uint8 or uint16
    if image is None:
        raise ImageConversionError(
            f"could not decode {data.size} bytes of CompressedImage data as {codec} "
            f"(format {fmt!r})"
        )
    original = fmt.split(";")[0].strip() if ";" in fmt else ""
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        wanted = original if original in ("mono8", "mono16", "8UC1", "16UC1") else (
            "mono8" if image.dtype == np.uint8 else "mono16")
        if encoding_info(wanted)[0] != image.dtype:
            raise ImageConversionError(
                f"CompressedImage decoded to {image.dtype} but format {fmt!r} names {wanted}")
        return image, wanted
    if image.dtype != np.uint8:
        image = (image >> 8).astype(np.uint8)  # 16-bit colour png: keep 8 bits
    bgr = image[:, :, :3]
    alpha = image[:, :, 3:] if channels == 4 else None
    if original in ("bgr8", "8UC3"):
        return np.ascontiguousarray(bgr), original
    if original in ("mono8", "8UC1"):
        return cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2GRAY), original
    if original in ("bgra8", "rgba8") or (alpha is not None and original not in ("rgb8",)):
        full = np.concatenate([bgr, alpha if alpha is not None else
                               np.full(bgr.shape[:2] + (1,), 255, np.uint8)], axis=2)
        if original == "bgra8":
            return np.ascontiguousarray(full), "bgra8"
        return np.ascontiguousarray(full[:, :, [2, 1, 0, 3]]), "rgba8"
    return np.ascontiguousarray(bgr[:, :, ::-1]), "rgb8"


@dataclass(frozen=True)
class CompressedFields:
    """The fields of a sensor_msgs/CompressedImage except ``header``; ``data`` as numpy
    (rosbags), :meth:`data_array` for rclpy."""

    format: str
    data: np.ndarray  # (N,) uint8

    def data_array(self) -> array.array:
        out = array.array("B")
        out.frombytes(self.data.tobytes())
        return out

    def as_dict(self, rclpy: bool = False) -> dict[str, Any]:
        return {"format": self.format, "data": self.data_array() if rclpy else self.data}


def numpy_to_compressed_fields(image: np.ndarray, encoding: str | None = None,
                               fmt: str = "jpeg", *, quality: int = 90,
                               png_level: int = 3) -> CompressedFields:
    """Compress a numpy image as image_transport's ``compressed`` plugin does.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` in ``encoding`` (default as
            :func:`fo1_ros.msgs.numpy_to_image_fields`): rgb8, bgr8, rgba8, bgra8, mono8, mono16/16UC1
            (png only).
        fmt: ``"jpeg"`` (lossy; alpha dropped) or ``"png"`` (lossless).
        quality: jpeg quality 1..100.
        png_level: png compression level 0..9.

    Returns:
        format ``"<encoding>; <fmt> compressed <stored>"`` (stored: bgr8, bgra8 or the grey
        encoding) and the compressed bytes.
    """
    encoding = encoding if encoding is not None else default_encoding(image)
    dtype, channels = encoding_info(encoding)
    check_array(image, dtype, channels, encoding)
    if fmt not in ("jpeg", "png"):
        raise ImageConversionError(f"fmt must be 'jpeg' or 'png', got {fmt!r}")
    if encoding in ("rgb8", "8UC3") or (encoding in ("rgba8", "bgra8") and fmt == "jpeg"):
        src = image[:, :, :3]
        data, stored = (src[:, :, ::-1] if encoding.startswith("rgb") else src), "bgr8"
    elif encoding == "bgr8":
        data, stored = image, "bgr8"
    elif encoding == "rgba8":
        data, stored = image[:, :, [2, 1, 0, 3]], "bgra8"
    elif encoding == "bgra8":
        data, stored = image, "bgra8"
    elif encoding in ("mono8", "8UC1"):
        data, stored = image, encoding
    elif encoding in ("mono16", "16UC1") and fmt == "png":
        data, stored = image, encoding
    else:
        raise ImageConversionError(f"cannot compress encoding {encoding!r} as {fmt}")
    params = ([cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg"
              else [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
    ok, buf = cv2.imencode("." + ("jpg" if fmt == "jpeg" else "png"),
                           np.ascontiguousarray(data), params)
    if not ok:
        raise ImageConversionError(f"cv2.imencode failed for {encoding} as {fmt}")
    return CompressedFields(format=f"{encoding}; {fmt} compressed {stored}",
                            data=np.asarray(buf, dtype=np.uint8).reshape(-1))


def fill_compressed_image(msg: Any, image: np.ndarray, encoding: str | None = None,
                          fmt: str = "jpeg", **kwargs: Any) -> Any:
    """Set ``format`` and ``data`` of a CompressedImage (rclpy or rosbags) in place; returns
    ``msg``. Arguments as :func:`numpy_to_compressed_fields`."""
    fields = numpy_to_compressed_fields(image, encoding, fmt, **kwargs)
    rclpy = isinstance(getattr(msg, "data", None), array.array)
    for key, value in fields.as_dict(rclpy=rclpy).items():
        setattr(msg, key, value)
    return msg
