"""Depth decoding: units from the encoding, invalid values, range limits."""

import numpy as np
import pytest

from fo1_ros.geometry import decode_depth, encode_depth


def test_16uc1_is_millimetres_with_zero_invalid():
    raw = np.array([[0, 1000], [1500, 65535]], dtype=np.uint16)
    d = decode_depth(raw, "16UC1")
    assert d.dtype == np.float32
    assert np.isnan(d[0, 0])
    np.testing.assert_allclose(d[0, 1:], [1.0])
    np.testing.assert_allclose(d[1], [1.5, 65.535], rtol=1e-6)


def test_16uc1_big_endian_is_accepted():
    raw = np.array([[1234]], dtype=">u2")
    np.testing.assert_allclose(decode_depth(raw, "16UC1"), [[1.234]], rtol=1e-6)


def test_32fc1_is_metres_with_nan_inf_nonpositive_invalid():
    raw = np.array([[np.nan, np.inf, -np.inf], [0.0, -1.0, 2.5]], dtype=np.float32)
    d = decode_depth(raw, "32FC1")
    assert np.isnan(d[0]).all() and np.isnan(d[1, :2]).all()
    assert d[1, 2] == np.float32(2.5)


def test_range_limits_mark_out_of_range_invalid():
    raw = np.array([[0.05, 0.5, 12.0]], dtype=np.float32)
    d = decode_depth(raw, "32FC1", min_depth_m=0.1, max_depth_m=10.0)
    assert np.isnan(d[0, 0]) and np.isnan(d[0, 2]) and d[0, 1] == np.float32(0.5)
    mm = decode_depth(np.array([[50, 500, 12000]], dtype=np.uint16), "16UC1", 0.1, 10.0)
    np.testing.assert_array_equal(np.isnan(mm), np.isnan(d))
    with pytest.raises(ValueError, match="max_depth_m"):
        decode_depth(raw, "32FC1", min_depth_m=2.0, max_depth_m=1.0)


@pytest.mark.parametrize("encoding", ["mono16", "16SC1", "32FC3", "rgb8", ""])
def test_unknown_encoding_is_named(encoding):
    with pytest.raises(ValueError, match=f"unsupported depth encoding {encoding!r}"):
        decode_depth(np.zeros((2, 2), np.uint16), encoding)


def test_dtype_and_shape_must_match_the_encoding():
    with pytest.raises(ValueError, match="uint16"):
        decode_depth(np.zeros((2, 2), np.float32), "16UC1")
    with pytest.raises(ValueError, match="float"):
        decode_depth(np.zeros((2, 2), np.uint16), "32FC1")
    with pytest.raises(ValueError, match="shape"):
        decode_depth(np.zeros((2, 2, 3), np.float32), "32FC1")
    assert decode_depth(np.ones((2, 2, 1), np.float32), "32FC1").shape == (2, 2)


def test_encode_decode_agree_between_encodings():
    rng = np.random.default_rng(0)
    d = rng.uniform(0.3, 5.0, size=(20, 30)).astype(np.float32)
    d[3, 4] = np.nan
    a = decode_depth(encode_depth(d, "32FC1"), "32FC1")
    b = decode_depth(encode_depth(d, "16UC1"), "16UC1")
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b)) <= 0.0005 + 1e-6  # whole millimetres
