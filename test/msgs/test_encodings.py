"""Image encodings as numpy arrays (fo1_ros.msgs.encodings): dtype and channels, array checks,
default encodings, and ``uint8[]`` buffers; their use in messages is tested in test_image.py."""

import array

import numpy as np
import pytest

from fo1_ros import msgs
from fo1_ros.msgs.encodings import as_bytes_array, check_array, default_encoding

from .support import H, W


@pytest.mark.parametrize("encoding, dtype, channels", [
    ("rgb8", np.uint8, 3), ("bgra8", np.uint8, 4), ("mono16", np.uint16, 1),
    ("yuv422", np.uint8, 2), ("bayer_rggb8", np.uint8, 1), ("16UC1", np.uint16, 1),
    ("32FC1", np.float32, 1), ("8SC4", np.int8, 4), ("64FC2", np.float64, 2)])
def test_encoding_info_of_named_and_generic_encodings(encoding, dtype, channels):
    assert msgs.encoding_info(encoding) == (np.dtype(dtype), channels)


def test_unknown_encodings_are_refused():
    for encoding in ("rgb9", "16UC5", "8UC0", "32UC1", ""):
        with pytest.raises(msgs.ImageConversionError, match="unsupported image encoding"):
            msgs.encoding_info(encoding)


def test_check_array_accepts_either_byte_order_and_refuses_mismatches():
    check_array(np.zeros((H, W), ">u2"), np.dtype(np.uint16), 1, "16UC1")
    with pytest.raises(msgs.ImageConversionError, match=r"shape \(5, 7, 3\) .* 'mono8'"):
        check_array(np.zeros((H, W, 3), np.uint8), np.dtype(np.uint8), 1, "mono8")
    with pytest.raises(msgs.ImageConversionError, match="expected a numpy array, got list"):
        check_array([[0]], np.dtype(np.uint8), 1, "mono8")


def test_default_encoding_of_big_endian_arrays():
    assert default_encoding(np.zeros((H, W), ">u2")) == "16UC1"
    assert default_encoding(np.zeros((H, W, 3), ">f4")) == "32FC3"


def test_as_bytes_array_takes_every_buffer_type():
    raw = bytes(range(6))
    for data in (raw, bytearray(raw), memoryview(raw), array.array("B", raw), list(raw),
                 np.frombuffer(raw, np.uint8).reshape(2, 3)):
        out = as_bytes_array(data)
        assert out.dtype == np.uint8 and out.shape == (6,) and out.tobytes() == raw
    with pytest.raises(msgs.ImageConversionError, match="must hold uint8, got dtype int16"):
        as_bytes_array(np.zeros(3, np.int16))
