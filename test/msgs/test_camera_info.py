"""sensor_msgs/CameraInfo -> CameraModel, and fill_camera_info
(fo1_ros.msgs.camera_info)."""

import logging

import numpy as np
import pytest

from fo1_ros import msgs
from fo1_ros.geometry import CameraModel


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


def test_camera_info_to_model(store):
    msg = _camera_info(store)
    raw = store.serialize_cdr(msg, "sensor_msgs/msg/CameraInfo")
    cam = msgs.camera_info_to_model(store.deserialize_cdr(raw, "sensor_msgs/msg/CameraInfo"))
    assert isinstance(cam, CameraModel)
    assert cam == CameraModel(fx=500, fy=510, cx=320, cy=240, width=640, height=480)
    assert cam.K.shape == (3, 3) and cam.K.dtype == np.float64
    np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], cam.K)


def test_camera_info_to_model_binning_and_roi(store):
    msg = _camera_info(store, binning_x=2, binning_y=2)
    msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = 100, 40, 400, 300
    cam = msgs.camera_info_to_model(msg)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (250, 255, 110, 100)
    assert (cam.width, cam.height) == (200, 150)
    # binning alone: the full sensor, halved
    cam = msgs.camera_info_to_model(_camera_info(store, binning_x=2, binning_y=1))
    assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height) == (250, 510, 160, 240, 320, 480)
    # and fitted to the images actually received
    assert cam.fit_to(320, 480) is cam
    assert cam.fit_to(160, 240) == cam.scaled(160, 240)


def test_camera_info_to_model_errors_name_the_field(store):
    with pytest.raises(msgs.CameraInfoError, match="fx=0.0"):
        msgs.camera_info_to_model(_camera_info(store, k=np.zeros(9)))
    with pytest.raises(msgs.CameraInfoError, match="'k' has 8 entries"):
        msgs.camera_info_to_model(_camera_info(store, k=np.ones(8)))
    with pytest.raises(msgs.CameraInfoError, match="width must be a positive integer, got 0"):
        msgs.camera_info_to_model(_camera_info(store, width=0))
    bad = np.array([500.0, 0, 320, 0, 510, 240, 0, 0, 2])
    with pytest.raises(msgs.CameraInfoError, match="last row"):
        msgs.camera_info_to_model(_camera_info(store, k=bad))
    assert issubclass(msgs.CameraInfoError, ValueError)


def test_camera_info_to_model_distortion_warns_once(store, caplog):
    msg = _camera_info(store, d=np.array([0.0, 0.2, 0, 0, 0]))
    msg.header.frame_id = "distorted_model_test_frame"
    with caplog.at_level(logging.WARNING, logger="fo1_ros.msgs"):
        msgs.camera_info_to_model(msg)
        msgs.camera_info_to_model(msg)
    assert len([r for r in caplog.records if "distorted_model_test_frame" in r.message]) == 1
