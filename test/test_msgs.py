"""Image, CompressedImage, CameraInfo and stamp conversions of fo1_ros.msgs, on rosbags
messages (the rclpy form is covered in test/ros/)."""

import array
import logging

import numpy as np
import pytest

from fo1_ros import msgs

rng = np.random.default_rng(0)
H, W = 5, 7  # odd sizes, so row padding and alignment matter


@pytest.fixture(scope="module")
def store():
    return msgs.typestore()


def _random(dtype, channels):
    shape = (H, W) if channels == 1 else (H, W, channels)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "16UC1", "32FC1", "8UC1",
             "8UC3", "8UC4", "16SC1", "32SC1", "64FC1", "32FC3", "rgb16", "yuv422"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("pad", [0, 3])
def test_image_round_trip(store, encoding, big, pad):
    dtype, channels = msgs.encoding_info(encoding)
    image = _random(dtype, channels)
    row = W * channels * dtype.itemsize
    msg = msgs.make_rosbags_image(store, image, encoding, is_bigendian=big, step=row + pad,
                                  stamp_ns=5, frame_id="cam")
    assert (msg.height, msg.width, msg.step, msg.is_bigendian) == (H, W, row + pad, int(big))
    assert msg.data.dtype == np.uint8 and msg.data.size == (row + pad) * H
    # through CDR, as a bag or the network would carry it
    raw = store.serialize_cdr(msg, "sensor_msgs/msg/Image")
    back = msgs.image_to_numpy(store.deserialize_cdr(raw, "sensor_msgs/msg/Image"))
    assert back.dtype == dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)


def test_big_endian_bytes_are_really_big_endian(store):
    depth = np.array([[1, 258]], dtype=np.uint16)
    msg = msgs.make_rosbags_image(store, depth, "16UC1", is_bigendian=True)
    assert msg.data.tolist() == [0, 1, 1, 2]
    msg = msgs.make_rosbags_image(store, depth, "16UC1")
    assert msg.data.tolist() == [1, 0, 2, 1]
    msg.data = np.array([0, 1, 1, 2], np.uint8)
    msg.is_bigendian = 1
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), depth)


def test_padding_bytes_are_ignored(store):
    image = _random(np.uint8, 3)
    msg = msgs.make_rosbags_image(store, image, "rgb8", step=W * 3 + 5)
    data = msg.data.reshape(H, -1).copy()
    data[:, W * 3:] = 255  # garbage in the padding
    msg.data = data.reshape(-1)
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), image)


def test_decoding_any_buffer_type(store):
    # rclpy hands uint8[] as array.array('B'); bytes and lists must work too.
    image = _random(np.float32, 1)
    msg = msgs.make_rosbags_image(store, image, "32FC1", step=W * 4 + 2)
    raw = msg.data.tobytes()
    for data in (array.array("B", raw), raw, bytearray(raw), list(raw)):
        msg.data = data
        np.testing.assert_array_equal(msgs.image_to_numpy(msg), image)


def test_encoding_inferred_from_dtype_and_shape():
    cases = {((H, W), np.uint8): "mono8", ((H, W, 3), np.uint8): "rgb8",
             ((H, W, 4), np.uint8): "rgba8", ((H, W), np.uint16): "16UC1",
             ((H, W), np.float32): "32FC1", ((H, W, 1), np.uint16): "16UC1",
             ((H, W), np.float64): "64FC1", ((H, W, 2), np.int16): "16SC2"}
    for (shape, dtype), encoding in cases.items():
        assert msgs.numpy_to_image_fields(np.zeros(shape, dtype)).encoding == encoding


def test_fill_image_on_a_rosbags_message(store):
    msg = msgs.make_rosbags_image(store, np.zeros((1, 1), np.uint8), "mono8")
    image = _random(np.uint16, 1)
    assert msgs.fill_image(msg, image, "mono16") is msg
    assert isinstance(msg.data, np.ndarray)
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), image)


def test_image_fields_for_rclpy_use_array_array():
    fields = msgs.numpy_to_image_fields(_random(np.uint8, 3), "bgr8")
    kwargs = fields.as_dict(rclpy=True)
    assert isinstance(kwargs["data"], array.array) and kwargs["data"].typecode == "B"
    assert kwargs["data"].tobytes() == fields.data.tobytes()


def test_empty_image(store):
    msg = msgs.make_rosbags_image(store, np.zeros((0, 0, 3), np.uint8), "rgb8")
    assert msgs.is_empty_image(msg)
    assert msgs.image_to_numpy(msg).shape == (0, 0, 3)
    assert not msgs.is_empty_image(msgs.make_rosbags_image(store, np.zeros((1, 1), np.uint8)))


def _msg(store, **changes):
    msg = msgs.make_rosbags_image(store, _random(np.uint8, 3), "rgb8")
    for key, value in changes.items():
        setattr(msg, key, value)
    return msg


def test_unknown_encoding_is_a_clear_error(store):
    with pytest.raises(msgs.ImageConversionError, match=r"'rgb9' \(field 'encoding'\)"):
        msgs.image_to_numpy(_msg(store, encoding="rgb9"))
    assert issubclass(msgs.ImageConversionError, ValueError)


def test_short_step_is_a_clear_error(store):
    with pytest.raises(msgs.ImageConversionError, match=r"'step' = 20 .* 21 B"):
        msgs.image_to_numpy(_msg(store, step=20))


def test_wrong_data_size_is_a_clear_error(store):
    msg = _msg(store)
    with pytest.raises(msgs.ImageConversionError, match=r"'data' has 104 bytes, expected .* 105"):
        msgs.image_to_numpy(_msg(store, data=msg.data[:-1]))
    with pytest.raises(msgs.ImageConversionError, match="'data' has 106 bytes"):
        msgs.image_to_numpy(_msg(store, data=np.concatenate([msg.data, [0]]).astype(np.uint8)))
    with pytest.raises(msgs.ImageConversionError, match="expected"):
        msgs.image_to_numpy(_msg(store, height=H + 1))


def test_array_not_matching_the_encoding_is_a_clear_error():
    with pytest.raises(msgs.ImageConversionError, match=r"dtype float32 .* '16UC1'"):
        msgs.numpy_to_image_fields(np.zeros((H, W), np.float32), "16UC1")
    with pytest.raises(msgs.ImageConversionError, match=r"shape \(5, 7\) .* 'rgb8'"):
        msgs.numpy_to_image_fields(np.zeros((H, W), np.uint8), "rgb8")
    with pytest.raises(msgs.ImageConversionError, match="step=3"):
        msgs.numpy_to_image_fields(np.zeros((H, W), np.uint8), "mono8", step=3)
    with pytest.raises(msgs.ImageConversionError, match="cannot infer"):
        msgs.numpy_to_image_fields(np.zeros((H, W, 5), np.uint8))


def test_to_rgb8_from_every_colour_encoding():
    rgb = _random(np.uint8, 3)
    alpha = _random(np.uint8, 1)[..., None]
    cases = {
        "rgb8": rgb, "bgr8": rgb[..., ::-1], "8UC3": rgb[..., ::-1],
        "rgba8": np.concatenate([rgb, alpha], 2),
        "bgra8": np.concatenate([rgb[..., ::-1], alpha], 2),
        "8UC4": np.concatenate([rgb[..., ::-1], alpha], 2),
        "rgb16": rgb.astype(np.uint16) << 8 | 0x7F,
        "bgr16": (rgb[..., ::-1].astype(np.uint16) << 8),
    }
    for encoding, image in cases.items():
        out = msgs.to_rgb8(image, encoding)
        assert out.dtype == np.uint8 and out.shape == (H, W, 3) and out.flags.c_contiguous
        np.testing.assert_array_equal(out, rgb, err_msg=encoding)
    grey = _random(np.uint8, 1)
    for encoding, image in {"mono8": grey, "8UC1": grey,
                            "mono16": grey.astype(np.uint16) << 8}.items():
        np.testing.assert_array_equal(msgs.to_rgb8(image, encoding), np.stack([grey] * 3, 2))


def test_to_rgb8_from_bayer():
    # A constant colour seen through each Bayer mosaic must demosaic to that colour.
    colour = np.array([200, 100, 30], np.uint8)
    positions = {"r": 0, "g": 1, "b": 2}
    for pattern in ("rggb", "bggr", "gbrg", "grbg"):
        mosaic = np.zeros((8, 8), np.uint8)
        for i, channel in enumerate(pattern):
            mosaic[i // 2::2, i % 2::2] = colour[positions[channel]]
        out = msgs.to_rgb8(mosaic, f"bayer_{pattern}8")
        np.testing.assert_allclose(out[2:-2, 2:-2].reshape(-1, 3).mean(0), colour, atol=2,
                                   err_msg=pattern)


def test_to_rgb8_from_yuv422():
    # Mid grey: Y=128, U=V=128 in both byte orders.
    uyvy = np.full((2, 4, 2), 128, np.uint8)
    for encoding in ("yuv422", "yuv422_yuy2"):
        out = msgs.to_rgb8(uyvy, encoding)
        assert out.shape == (2, 4, 3)
        np.testing.assert_allclose(out, 128, atol=2)


def test_to_rgb8_rejects_depth():
    with pytest.raises(msgs.ImageConversionError, match="not a colour"):
        msgs.to_rgb8(np.zeros((H, W), np.uint16), "16UC1")
    with pytest.raises(msgs.ImageConversionError, match="not a colour"):
        msgs.to_rgb8(np.zeros((H, W), np.float32), "32FC1")


def test_image_msg_to_rgb8_takes_image_and_compressed(store):
    rgb = _random(np.uint8, 3)
    image_msg = msgs.make_rosbags_image(store, rgb[..., ::-1], "bgr8")
    np.testing.assert_array_equal(msgs.image_msg_to_rgb8(image_msg), rgb)
    compressed = store.types["sensor_msgs/msg/CompressedImage"](
        header=msgs.make_header(store), **msgs.numpy_to_compressed_fields(rgb, "rgb8", "png")
        .as_dict())
    np.testing.assert_array_equal(msgs.image_msg_to_rgb8(compressed), rgb)


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
    image = _random(dtype, channels)
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
    import cv2

    depth = rng.integers(0, 5000, size=(H, W)).astype(np.uint16)
    header = np.array([0], "<i4").tobytes() + np.array([0, 0], "<f4").tobytes()
    data = np.frombuffer(header + cv2.imencode(".png", depth)[1].tobytes(), np.uint8)
    msg = _compressed(store, msgs.CompressedFields("16UC1; compressedDepth png", data))
    back, encoding = msgs.compressed_image_to_numpy(msg)
    assert encoding == "16UC1"
    np.testing.assert_array_equal(back, depth)


def test_compressed_depth_32fc1_inverse_depth(store):
    import cv2

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
    image = _random(np.uint8, 1)
    assert msgs.fill_compressed_image(msg, image, "mono8", "png") is msg
    assert msg.format == "mono8; png compressed mono8"
    np.testing.assert_array_equal(msgs.compressed_image_to_numpy(msg)[0], image)


def _camera_info(store, **changes):
    info = store.types["sensor_msgs/msg/CameraInfo"]
    roi = store.types["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    msg = info(header=msgs.make_header(store, 0, "camera_optical"), height=480, width=640,
               distortion_model="plumb_bob", d=np.zeros(5), k=np.zeros(9), r=np.zeros(9),
               p=np.zeros(12), binning_x=0, binning_y=0, roi=roi)
    msgs.fill_camera_info(msg, [[500, 0, 320], [0, 510, 240], [0, 0, 1]], 640, 480)
    for key, value in changes.items():
        setattr(msg, key, value)
    return msg


def test_camera_info_intrinsics(store):
    msg = _camera_info(store)
    raw = store.serialize_cdr(msg, "sensor_msgs/msg/CameraInfo")
    cam = msgs.camera_info_to_intrinsics(store.deserialize_cdr(raw, "sensor_msgs/msg/CameraInfo"))
    assert cam.K.shape == (3, 3) and cam.K.dtype == np.float64
    np.testing.assert_array_equal(cam.K, [[500, 0, 320], [0, 510, 240], [0, 0, 1]])
    assert (cam.width, cam.height, cam.frame_id) == (640, 480, "camera_optical")
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (500, 510, 320, 240)
    np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], cam.K)


def test_camera_info_binning_and_roi(store):
    msg = _camera_info(store, binning_x=2, binning_y=2)
    msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = 100, 40, 400, 300
    cam = msgs.camera_info_to_intrinsics(msg)
    np.testing.assert_allclose(cam.K, [[250, 0, 110], [0, 255, 100], [0, 0, 1]])
    assert (cam.width, cam.height) == (200, 150)


def test_camera_info_uncalibrated_is_an_error(store):
    with pytest.raises(msgs.CameraInfoError, match="fx=0.0"):
        msgs.camera_info_to_intrinsics(_camera_info(store, k=np.zeros(9)))


def test_camera_info_distortion_warns_once(store, caplog):
    msg = _camera_info(store, d=np.array([0.1, 0, 0, 0, 0]))
    msg.header.frame_id = "distorted_test_frame"
    with caplog.at_level(logging.WARNING, logger="fo1_ros.msgs"):
        msgs.camera_info_to_intrinsics(msg)
        msgs.camera_info_to_intrinsics(msg)
    assert len([r for r in caplog.records if "rectified" in r.message]) == 1


@pytest.mark.parametrize("ns", [0, 1, 999_999_999, 1_000_000_000, 1_700_000_000_123_456_789,
                                -1, -1_500_000_000])
def test_stamp_round_trip(store, ns):
    sec, nanosec = msgs.ns_to_stamp(ns)
    assert 0 <= nanosec < 1_000_000_000
    header = msgs.make_header(store, ns, "base")
    assert (header.stamp.sec, header.stamp.nanosec) == (sec, nanosec)
    assert msgs.stamp_to_ns(header.stamp) == ns
    msgs.fill_header(header, ns + 7, "other")
    assert msgs.stamp_to_ns(header.stamp) == ns + 7 and header.frame_id == "other"
    raw = store.serialize_cdr(header, "std_msgs/msg/Header")
    assert msgs.stamp_to_ns(store.deserialize_cdr(raw, "std_msgs/msg/Header").stamp) == ns + 7
