"""sensor_msgs/CompressedImage <-> numpy: jpeg, png and compressedDepth (fo1_ros.msgs.compressed)."""

import cv2
import numpy as np
import pytest

from fo1_ros import msgs

from .support import H, W, random_image, rng


def _smooth_rgb():
    y, x = np.mgrid[0:48, 0:64]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)


def _compressed(store, fields):
    msg = store.types["sensor_msgs/msg/CompressedImage"](header=msgs.make_header(store),
                                                         **fields.as_dict())
    raw = store.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage")
    return store.deserialize_cdr(raw, "sensor_msgs/msg/CompressedImage")


def test_compressed_jpeg_round_trip_is_close(store):
    rgb = _smooth_rgb()
    fields = msgs.numpy_to_compressed_fields(rgb, "rgb8", "jpeg", quality=95)
    assert fields.format == "rgb8; jpeg compressed bgr8"
    assert fields.data[:2].tolist() == [0xFF, 0xD8]
    image, encoding = msgs.compressed_image_to_numpy(_compressed(store, fields))
    assert encoding == "rgb8" and image.shape == rgb.shape and image.dtype == np.uint8
    assert np.abs(image.astype(int) - rgb).mean() < 3  # channel order kept, lossy but close


@pytest.mark.parametrize("encoding,channels,dtype", [
    ("rgb8", 3, np.uint8), ("bgr8", 3, np.uint8), ("rgba8", 4, np.uint8),
    ("bgra8", 4, np.uint8), ("mono8", 1, np.uint8), ("16UC1", 1, np.uint16),
    ("mono16", 1, np.uint16)])
def test_compressed_png_round_trip_is_exact(store, encoding, channels, dtype):
    image = random_image(dtype, channels)
    fields = msgs.numpy_to_compressed_fields(image, encoding, "png")
    back, back_encoding = msgs.compressed_image_to_numpy(_compressed(store, fields))
    assert back_encoding == encoding
    np.testing.assert_array_equal(back, image)


def test_compressed_plain_formats_and_sniffing(store):
    rgb = _smooth_rgb()
    fields = msgs.numpy_to_compressed_fields(rgb, "rgb8", "png")
    for fmt in ("png", "", "PNG"):
        msg = _compressed(store, msgs.CompressedFields(format=fmt, data=fields.data))
        image, encoding = msgs.compressed_image_to_numpy(msg)
        assert encoding == "rgb8"
        np.testing.assert_array_equal(image, rgb)


def test_compressed_depth_png(store):
    depth = rng.integers(0, 5000, size=(H, W)).astype(np.uint16)
    header = np.array([0], "<i4").tobytes() + np.array([0, 0], "<f4").tobytes()
    data = np.frombuffer(header + cv2.imencode(".png", depth)[1].tobytes(), np.uint8)
    msg = _compressed(store, msgs.CompressedFields("16UC1; compressedDepth png", data))
    back, encoding = msgs.compressed_image_to_numpy(msg)
    assert encoding == "16UC1"
    np.testing.assert_array_equal(back, depth)


def test_compressed_depth_32fc1_inverse_depth(store):
    a, b = 1000.0, -10.0  # depth = a / (v - b)
    inverse = np.array([[0, 90, 490]], np.uint16)
    header = np.array([0], "<i4").tobytes() + np.array([a, b], "<f4").tobytes()
    data = np.frombuffer(header + cv2.imencode(".png", inverse)[1].tobytes(), np.uint8)
    msg = _compressed(store, msgs.CompressedFields("32FC1; compressedDepth png", data))
    back, encoding = msgs.compressed_image_to_numpy(msg)
    assert encoding == "32FC1" and back.dtype == np.float32
    assert np.isnan(back[0, 0])
    np.testing.assert_allclose(back[0, 1:], [10.0, 2.0])


def test_compressed_errors(store):
    with pytest.raises(msgs.ImageConversionError, match="format 'tiff'"):
        msgs.compressed_image_to_numpy(_compressed(store, msgs.CompressedFields(
            "tiff", np.arange(10, dtype=np.uint8))))
    with pytest.raises(msgs.ImageConversionError, match="could not decode 4 bytes"):
        msgs.compressed_image_to_numpy(_compressed(store, msgs.CompressedFields(
            "jpeg", np.array([0xFF, 0xD8, 0, 1], np.uint8))))
    with pytest.raises(msgs.ImageConversionError, match="empty"):
        msgs.compressed_image_to_numpy(_compressed(store, msgs.CompressedFields(
            "jpeg", np.zeros(0, np.uint8))))
    with pytest.raises(msgs.ImageConversionError, match="16UC1.*jpeg"):
        msgs.numpy_to_compressed_fields(np.zeros((H, W), np.uint16), "16UC1", "jpeg")


def test_fill_compressed_image_on_a_rosbags_message(store):
    msg = _compressed(store, msgs.CompressedFields("png", np.zeros(1, np.uint8)))
    image = random_image(np.uint8, 1)
    assert msgs.fill_compressed_image(msg, image, "mono8", "png") is msg
    assert msg.format == "mono8; png compressed mono8"
    np.testing.assert_array_equal(msgs.compressed_image_to_numpy(msg)[0], image)
