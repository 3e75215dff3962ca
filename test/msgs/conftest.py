"""Fixtures shared by the fo1_ros.msgs tests."""

import pytest

from fo1_ros import msgs


@pytest.fixture(scope="module")
def store():
    """A fresh rosbags type store with the standard ROS 2 types and all fo1_ros types."""
    return msgs.typestore()
