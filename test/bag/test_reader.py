"""fo1_ros.bag.reader: the input topics of a bag, found by type and name or given."""

from __future__ import annotations

import dataclasses

import pytest

from fo1_ros.bag import BagTopics


def test_topics_are_found_by_type_and_name_or_given():
    @dataclasses.dataclass
    class Conn:
        topic: str
        msgtype: str

    conns = [Conn("/cam/color/image_raw", "sensor_msgs/msg/Image"),
             Conn("/cam/depth/image_raw", "sensor_msgs/msg/Image"),
             Conn("/cam/depth/camera_info", "sensor_msgs/msg/CameraInfo"),
             Conn("/cam/color/camera_info", "sensor_msgs/msg/CameraInfo")]
    found = BagTopics().resolve(conns)
    assert (found.image, found.depth, found.camera_info) == \
        ("/cam/color/image_raw", "/cam/depth/image_raw", "/cam/color/camera_info")
    with pytest.raises(ValueError, match="not in the bag"):
        BagTopics(image="/nope").resolve(conns)
    with pytest.raises(ValueError, match="no sensor_msgs/Image"):
        BagTopics().resolve(conns[2:])
