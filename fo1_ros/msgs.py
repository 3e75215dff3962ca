"""Message types and conversions: the package's .msg/.srv files, images, cameras, stamps.

No rclpy here. Two families of message objects pass through these functions and are told
apart by duck typing only (attribute names are the same in both):

- rosbags dataclasses (bags, offline processing): ``uint8[]`` fields hold 1-D ``np.uint8``
  arrays; build them with the type store from :func:`typestore`;
- rclpy messages (the live node): ``uint8[]`` fields hold ``array.array('B')``; fixed-size
  float arrays (``CameraInfo.k``) hold numpy arrays.

Interface files. ``msg/*.msg`` and ``srv/*.srv`` at the repository root are the single source
of truth. Under ROS, rosidl compiles them into ``fo1_ros.msg`` / ``fo1_ros.srv``; here they are
parsed at run time with rosbags' parser into a rosbags ``Typestore`` (for bags and mcap). The
folder holding them is looked up, in order, in: ``$FO1_ROS_INTERFACE_DIR``; the installed
package data (``fo1_ros/interfaces/{msg,srv}``, put there by setup.py for ``pip install .``);
the source checkout (editable installs, tests); the ament share folder of a colcon install
(``<prefix>/share/fo1_ros/{msg,srv}``).

Images (a cv_bridge replacement; cv_bridge is not installable beside this stack). Arrays are
``(H, W)`` for one channel and ``(H, W, C)`` otherwise, in native byte order, with the dtype
of the encoding (``uint8`` for ``rgb8``, ``uint16`` for ``mono16``/``16UC1`` depth in
millimetres, ``float32`` for ``32FC1`` depth in metres). Malformed messages raise
:class:`ImageConversionError` (a ``ValueError``) naming the field and the values, never a
crash or silently wrong pixels.
"""

from __future__ import annotations

import array
import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

PACKAGE = "fo1_ros"
INTERFACE_DIR_ENV = "FO1_ROS_INTERFACE_DIR"

__all__ = [
    "PACKAGE",
    "MessageConversionError",
    "ImageConversionError",
    "CameraInfoError",
    "interface_dir",
    "interface_files",
    "interface_text",
    "split_service",
    "service_type_names",
    "interface_types",
    "base_store",
    "typestore",
    "message_definition",
    "message_definitions",
    "IMAGE_ENCODINGS",
    "encoding_info",
    "is_empty_image",
    "image_to_numpy",
    "to_rgb8",
    "image_msg_to_rgb8",
    "ImageFields",
    "numpy_to_image_fields",
    "fill_image",
    "make_rosbags_image",
    "CompressedFields",
    "compressed_image_to_numpy",
    "numpy_to_compressed_fields",
    "fill_compressed_image",
    "CameraIntrinsics",
    "camera_info_to_intrinsics",
    "fill_camera_info",
    "stamp_to_ns",
    "ns_to_stamp",
    "fill_stamp",
    "fill_header",
    "make_header",
]


class MessageConversionError(ValueError):
    """A message could not be converted (bad field values); the text names field and value."""


class ImageConversionError(MessageConversionError):
    """A sensor_msgs/Image or CompressedImage is malformed or in an unsupported encoding."""


class CameraInfoError(MessageConversionError):
    """A sensor_msgs/CameraInfo is unusable (e.g. the all-zero K of an uncalibrated camera)."""


# --------------------------------------------------------------------------------------
# Interface files (.msg / .srv) and the rosbags type store
# --------------------------------------------------------------------------------------


def _has_interfaces(folder: Path) -> bool:
    return (folder / "msg").is_dir() and any((folder / "msg").glob("*.msg"))


def _candidate_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    candidates = []
    if os.environ.get(INTERFACE_DIR_ENV):
        candidates.append(Path(os.environ[INTERFACE_DIR_ENV]))
    # (1) package data of a pip install (setup.py copies msg/ and srv/ there).
    candidates.append(here / "interfaces")
    # (2) the source checkout: the repository root is the ROS package root.
    root = here.parent
    package_xml = root / "package.xml"
    if package_xml.is_file() and f"<name>{PACKAGE}</name>" in package_xml.read_text():
        candidates.append(root)
    # (3) a colcon/ament install: <prefix>/share/fo1_ros, for every prefix on
    # AMENT_PREFIX_PATH, and the prefix this file is installed under
    # (<prefix>/lib/pythonX.Y/site-packages/fo1_ros/msgs.py).
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / PACKAGE)
    if len(here.parents) >= 4:
        candidates.append(here.parents[3] / "share" / PACKAGE)
    return candidates


@functools.cache
def interface_dir() -> Path:
    """The folder holding this package's ``msg/`` and ``srv/`` folders.

    Looked up in ``$FO1_ROS_INTERFACE_DIR``, the installed package data, the source checkout
    and the ament share folders, in that order (see the module docstring).

    Raises:
        FileNotFoundError: none of them holds ``msg/*.msg``; the message lists where it looked.
    """
    candidates = _candidate_dirs()
    for folder in candidates:
        if _has_interfaces(folder):
            return folder
    raise FileNotFoundError(
        f"{PACKAGE}: no msg/*.msg found; looked in: "
        + ", ".join(str(c) for c in candidates)
        + f" (set {INTERFACE_DIR_ENV} to the folder holding msg/ and srv/)"
    )


@functools.cache
def interface_files() -> dict[str, Path]:
    """Every interface file by its ROS name, sorted by name.

    Returns:
        ``{"fo1_ros/msg/Region": Path(".../msg/Region.msg"),
        "fo1_ros/srv/SetQueries": Path(".../srv/SetQueries.srv"), ...}``
    """
    folder = interface_dir()
    files = {}
    for kind, suffix in (("msg", ".msg"), ("srv", ".srv")):
        for path in sorted((folder / kind).glob("*" + suffix)):
            files[f"{PACKAGE}/{kind}/{path.stem}"] = path
    return files


def _full_name(name: str) -> str:
    """'Region' / 'fo1_ros/Region' / 'fo1_ros/msg/Region' -> the key of interface_files()."""
    files = interface_files()
    if name in files:
        return name
    stem = name.rsplit("/", 1)[-1]
    matches = [key for key in files if key.rsplit("/", 1)[-1] == stem]
    if len(matches) != 1:
        raise KeyError(f"no {PACKAGE} interface named {name!r}; known: {sorted(files)}")
    return matches[0]


def interface_text(name: str) -> str:
    """The text of one .msg/.srv file, e.g. ``interface_text("Region")``.

    Args:
        name: ``"Region"``, ``"fo1_ros/msg/Region"`` or ``"fo1_ros/srv/SetQueries"``.
    """
    return interface_files()[_full_name(name)].read_text()


def split_service(text: str) -> tuple[str, str]:
    """Split the text of a .srv file into its request and response .msg texts.

    Raises:
        ValueError: the text has no ``---`` separator line, or more than one.
    """
    parts = re.split(r"^---[ \t]*$", text, flags=re.MULTILINE)
    if len(parts) != 2:
        raise ValueError(f"a .srv needs exactly one '---' line, found {len(parts) - 1}")
    return parts[0], parts[1]


def service_type_names(name: str) -> tuple[str, str]:
    """The rosbags type names of a service's request and response.

    rosbags keeps every type in ``pkg/msg/...`` (a name under ``pkg/srv/`` is silently
    renamed to ``pkg/srv/msg/...``), so ``SetQueries`` gives
    ``("fo1_ros/msg/SetQueries_Request", "fo1_ros/msg/SetQueries_Response")``.
    """
    stem = _full_name(name).rsplit("/", 1)[-1]
    return f"{PACKAGE}/msg/{stem}_Request", f"{PACKAGE}/msg/{stem}_Response"


@functools.cache
def interface_types() -> dict[str, Any]:
    """All types of msg/ and srv/ in rosbags' ``fielddefs`` form, ready for ``register``."""
    from rosbags.typesys import get_types_from_msg

    types: dict[str, Any] = {}
    for full, path in interface_files().items():
        text = path.read_text()
        if "/srv/" in full:
            request_name, response_name = service_type_names(full)
            request, response = split_service(text)
            types.update(get_types_from_msg(request, request_name))
            types.update(get_types_from_msg(response, response_name))
        else:
            types.update(get_types_from_msg(text, full))
    return types


def base_store() -> Any:
    """The rosbags store the package's types extend: ROS 2 Kilted where rosbags has it.

    Kilted is the distribution of the PyPI ROS 2 wheels this project builds against; the
    standard types used here (Header, Image, CompressedImage, CameraInfo, Point, Vector3,
    Time) have the same definitions and hashes from Humble to Kilted, so bags written with it
    play on those distributions too. Older rosbags releases without Kilted fall back to
    Jazzy, then Humble.
    """
    from rosbags.typesys import Stores

    for name in ("ROS2_KILTED", "ROS2_JAZZY", "ROS2_HUMBLE"):
        if hasattr(Stores, name):
            return getattr(Stores, name)
    raise RuntimeError("rosbags offers none of the ROS 2 Kilted/Jazzy/Humble type stores")


def typestore(base: Any = None) -> Any:
    """A new rosbags ``Typestore`` holding the standard ROS 2 types and all fo1_ros types.

    Messages are named ``fo1_ros/msg/<Name>``; services ``fo1_ros/msg/<Name>_Request`` and
    ``fo1_ros/msg/<Name>_Response`` (see :func:`service_type_names`). A new store each call:
    callers may register more types without affecting others.

    Args:
        base: a ``rosbags.typesys.Stores`` member; default :func:`base_store`.
    """
    from rosbags.typesys import get_typestore

    store = get_typestore(base if base is not None else base_store())
    store.register(interface_types())
    return store


def message_definition(typename: str, store: Any = None) -> str:
    """The ROS 2 message definition text of a type, with the definitions it depends on.

    This is the text ROS 2 bag writers store per topic (and mcap ``ros2msg`` schemas hold):
    the type's fields, then each dependency as a block introduced by a line of 80 ``=`` and
    ``MSG: pkg/Type``. rosbags' own writer already produces it this way (its
    ``generate_msgdef(..., ros_version=2)``, used here); comments are not kept.

    Args:
        typename: e.g. ``"fo1_ros/msg/RegionArray"``, ``"fo1_ros/msg/SetQueries_Request"``,
            ``"sensor_msgs/msg/Image"``.
        store: a type store holding the type; default a new :func:`typestore`.
    """
    store = store if store is not None else typestore()
    if typename not in store.types:
        raise KeyError(f"type {typename!r} is not in the type store")
    text, _ = store.generate_msgdef(typename, ros_version=2)
    return text


def message_definitions(store: Any = None) -> dict[str, str]:
    """:func:`message_definition` of every fo1_ros type (services as _Request/_Response)."""
    store = store if store is not None else typestore()
    return {name: message_definition(name, store) for name in interface_types()}


# --------------------------------------------------------------------------------------
# sensor_msgs/Image <-> numpy
# --------------------------------------------------------------------------------------

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


def _as_bytes_array(data: Any) -> np.ndarray:
    """A ``uint8[]`` field (numpy, array.array, bytes, list) as a 1-D uint8 array, no copy
    where the buffer allows it."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ImageConversionError(f"field 'data' must hold uint8, got dtype {data.dtype}")
        return data.reshape(-1)
    if isinstance(data, bytes | bytearray | memoryview | array.array):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8).reshape(-1)


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
    data = _as_bytes_array(msg.data)
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


_warned: set[str] = set()


def _warn_once(key: str, text: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(text)


# cv2 conversion codes for encodings that need demosaicing or YUV decoding. OpenCV names a
# Bayer pattern after the 2x2 block starting at the second row and column, hence the swaps
# (the same mapping as cv_bridge).
_CV2_TO_RGB = {
    "bayer_rggb8": "COLOR_BayerBG2RGB",
    "bayer_bggr8": "COLOR_BayerRG2RGB",
    "bayer_gbrg8": "COLOR_BayerGR2RGB",
    "bayer_grbg8": "COLOR_BayerGB2RGB",
    "yuv422": "COLOR_YUV2RGB_UYVY",
    "uyvy": "COLOR_YUV2RGB_UYVY",
    "yuv422_yuy2": "COLOR_YUV2RGB_YUY2",
    "yuyv": "COLOR_YUV2RGB_YUY2",
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
    _check_array(image, dtype, channels, encoding)
    if encoding in ("8UC3", "8UC4"):
        _warn_once("to_rgb8:" + encoding,
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
        import cv2

        rgb = cv2.cvtColor(np.ascontiguousarray(image), getattr(cv2, _CV2_TO_RGB[encoding]))
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


def _check_array(image: np.ndarray, dtype: np.dtype, channels: int, encoding: str) -> None:
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


def _default_encoding(image: np.ndarray) -> str:
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
    encoding = encoding if encoding is not None else _default_encoding(image)
    dtype, channels = encoding_info(encoding)
    _check_array(image, dtype, channels, encoding)
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


def make_rosbags_image(store: Any, image: np.ndarray, encoding: str | None = None, *,
                       stamp_ns: int = 0, frame_id: str = "", **kwargs: Any) -> Any:
    """A rosbags ``sensor_msgs/msg/Image`` holding ``image`` (see :func:`numpy_to_image_fields`
    for ``encoding`` and ``kwargs``)."""
    fields = numpy_to_image_fields(image, encoding, **kwargs)
    image_type = store.types["sensor_msgs/msg/Image"]
    return image_type(header=make_header(store, stamp_ns, frame_id), **fields.as_dict())


# --------------------------------------------------------------------------------------
# sensor_msgs/CompressedImage <-> numpy (jpeg, png; compressedDepth png)
# --------------------------------------------------------------------------------------


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
    import cv2

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
        ``(image, encoding)``: image ``(H, W)`` or ``(H, W, C)`` as for :func:`image_to_numpy`.

    Raises:
        ImageConversionError: unknown format or undecodable data.
    """
    import cv2

    fmt = str(msg.format)
    data = _as_bytes_array(msg.data)
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
            :func:`numpy_to_image_fields`): rgb8, bgr8, rgba8, bgra8, mono8, mono16/16UC1
            (png only).
        fmt: ``"jpeg"`` (lossy; alpha dropped) or ``"png"`` (lossless).
        quality: jpeg quality 1..100.
        png_level: png compression level 0..9.

    Returns:
        format ``"<encoding>; <fmt> compressed <stored>"`` (stored: bgr8, bgra8 or the grey
        encoding) and the compressed bytes.
    """
    import cv2

    encoding = encoding if encoding is not None else _default_encoding(image)
    dtype, channels = encoding_info(encoding)
    _check_array(image, dtype, channels, encoding)
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


# --------------------------------------------------------------------------------------
# sensor_msgs/CameraInfo
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of the images a camera publishes.

    fo1_ros assumes rectified (undistorted) images, e.g. ``image_rect``; a non-zero
    distortion is reported once and otherwise ignored.
    """

    K: np.ndarray  # (3, 3) float64: [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], pixels
    width: int  # of the published images (after binning / ROI), pixels
    height: int
    distortion_model: str  # e.g. 'plumb_bob'; '' if none
    D: np.ndarray  # (N,) float64 distortion coefficients, as published (ignored)
    frame_id: str  # optical frame of the camera

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])


def camera_info_to_intrinsics(msg: Any) -> CameraIntrinsics:
    """Read K, image size and distortion from a sensor_msgs/CameraInfo (rclpy or rosbags).

    Binning and ROI are applied as image_geometry does: K describes the full-resolution
    sensor, the images are ``roi`` cut out and binned.

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
    D = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    frame_id = str(msg.header.frame_id) if hasattr(msg, "header") else ""
    model = str(msg.distortion_model)
    if D.size and np.any(D != 0):
        _warn_once("distortion:" + frame_id,
                   f"CameraInfo of frame {frame_id!r} has distortion ({model}, D={D.tolist()}); "
                   "fo1_ros ignores it and assumes rectified images (subscribe to image_rect)")
    return CameraIntrinsics(K=K, width=roi_w // binning_x, height=roi_h // binning_y,
                            distortion_model=model, D=D, frame_id=frame_id)


def fill_camera_info(msg: Any, K: np.ndarray, width: int, height: int,
                     D: np.ndarray | None = None, distortion_model: str = "plumb_bob") -> Any:
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


# --------------------------------------------------------------------------------------
# Stamps and headers
# --------------------------------------------------------------------------------------


def stamp_to_ns(stamp: Any) -> int:
    """A builtin_interfaces/Time (``sec``, ``nanosec``) as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> tuple[int, int]:
    """Integer nanoseconds as ``(sec, nanosec)`` with ``0 <= nanosec < 1e9`` (floor division,
    so negative times keep a non-negative nanosec, as ROS 2 does)."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return sec, nanosec


def fill_stamp(stamp: Any, ns: int) -> Any:
    """Set ``sec`` / ``nanosec`` of a Time message (rclpy or rosbags) in place; returns it."""
    stamp.sec, stamp.nanosec = ns_to_stamp(ns)
    return stamp


def fill_header(header: Any, stamp_ns: int, frame_id: str) -> Any:
    """Set stamp and frame_id of a std_msgs/Header (rclpy or rosbags) in place; returns it."""
    fill_stamp(header.stamp, stamp_ns)
    header.frame_id = frame_id
    return header


def make_header(store: Any, stamp_ns: int = 0, frame_id: str = "") -> Any:
    """A rosbags ``std_msgs/msg/Header`` from a type store (e.g. :func:`typestore`)."""
    sec, nanosec = ns_to_stamp(stamp_ns)
    time_type = store.types["builtin_interfaces/msg/Time"]
    header_type = store.types["std_msgs/msg/Header"]
    return header_type(stamp=time_type(sec=sec, nanosec=nanosec), frame_id=frame_id)
