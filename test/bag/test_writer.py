"""fo1_ros.bag.writer (and bag_folder): plain data -> rosbags messages with ROS defaults,
writer and folder errors."""

from __future__ import annotations

import numpy as np
import pytest

from fo1_ros.bag import BagWriter, RosbagsBuilder, bag_folder


def test_bag_folder_and_writer_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        bag_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="metadata.yaml"):
        bag_folder(tmp_path)
    (tmp_path / "x").mkdir()
    with pytest.raises(FileExistsError):
        BagWriter(tmp_path / "x")
    with pytest.raises(ValueError, match="storage"):
        BagWriter(tmp_path / "y", storage="rosbag1")


def test_rosbags_builder_defaults_and_errors():
    b = RosbagsBuilder()
    msg = b.build("fo1_ros/msg/RegionArray", {"regions": [{"label": "a", "bbox": {"size_x": 2}}]})
    assert msg.regions[0].label == "a" and msg.regions[0].bbox.size_x == 2.0
    assert msg.header.frame_id == "" and msg.regions[0].center_3d.x == 0.0
    counts = b.build("fo1_ros/msg/ObjectCount", {"region_indices": [1, 2]})
    assert counts.region_indices.dtype == np.uint16
    info = b.build("sensor_msgs/msg/CameraInfo")
    assert info.k.shape == (9,) and info.d.shape == (0,)
    with pytest.raises(ValueError, match="no fields"):
        b.build("fo1_ros/msg/Region", {"lable": "typo"})
    with pytest.raises(KeyError):
        b.build("fo1_ros/msg/Nope", {})
