"""sensor_msgs/Image <-> numpy and conversion to RGB8 (fo1_ros.msgs.image, fo1_ros.msgs.encodings),
on rosbags messages (the rclpy form is covered in test/ros/)."""

import array

import numpy as np
import pytest

from fo1_ros import msgs

from .support import H, W, random_image

ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "16UC1", "32FC1", "8UC1",
             "8UC3", "8UC4", "16SC1", "32SC1", "64FC1", "32FC3", "rgb16", "yuv422"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("pad", [0, 3])
def test_image_round_trip(store, encoding, big, pad):
    dtype, channels = msgs.encoding_info(encoding)
    image = random_image(dtype, channels)
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
    image = random_image(np.uint8, 3)
    msg = msgs.make_rosbags_image(store, image, "rgb8", step=W * 3 + 5)
    data = msg.data.reshape(H, -1).copy()
    data[:, W * 3:] = 255  # garbage in the padding
    msg.data = data.reshape(-1)
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), image)


def test_decoding_any_buffer_type(store):
    # rclpy hands uint8[] as array.array('B'); bytes and lists must work too.
    image = random_image(np.float32, 1)
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
    image = random_image(np.uint16, 1)
    assert msgs.fill_image(msg, image, "mono16") is msg
    assert isinstance(msg.data, np.ndarray)
    np.testing.assert_array_equal(msgs.image_to_numpy(msg), image)


def test_image_fields_for_rclpy_use_array_array():
    fields = msgs.numpy_to_image_fields(random_image(np.uint8, 3), "bgr8")
    kwargs = fields.as_dict(rclpy=True)
    assert isinstance(kwargs["data"], array.array) and kwargs["data"].typecode == "B"
    assert kwargs["data"].tobytes() == fields.data.tobytes()


def test_empty_image(store):
    msg = msgs.make_rosbags_image(store, np.zeros((0, 0, 3), np.uint8), "rgb8")
    assert msgs.is_empty_image(msg)
    assert msgs.image_to_numpy(msg).shape == (0, 0, 3)
    assert not msgs.is_empty_image(msgs.make_rosbags_image(store, np.zeros((1, 1), np.uint8)))


def _msg(store, **changes):
    msg = msgs.make_rosbags_image(store, random_image(np.uint8, 3), "rgb8")
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
    rgb = random_image(np.uint8, 3)
    alpha = random_image(np.uint8, 1)[..., None]
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
    grey = random_image(np.uint8, 1)
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
    rgb = random_image(np.uint8, 3)
    image_msg = msgs.make_rosbags_image(store, rgb[..., ::-1], "bgr8")
    np.testing.assert_array_equal(msgs.image_msg_to_rgb8(image_msg), rgb)
    compressed = store.types["sensor_msgs/msg/CompressedImage"](
        header=msgs.make_header(store), **msgs.numpy_to_compressed_fields(rgb, "rgb8", "png")
        .as_dict())
    np.testing.assert_array_equal(msgs.image_msg_to_rgb8(compressed), rgb)
