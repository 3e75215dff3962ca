"""QoS profiles by the names the parameters use (``image_qos``, ``output_qos``; the list is
``fo1_ros.node.QOS_PROFILES``)."""

from __future__ import annotations

from rclpy.qos import (
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
    qos_profile_services_default,
    qos_profile_system_default,
)


def qos_profile(name: str, depth: int | None = None) -> QoSProfile:
    """A QoS profile by name (NodeConfig.image_qos / output_qos), with an optional depth."""
    if name == "sensor_data":
        base = qos_profile_sensor_data
    elif name == "system_default":
        base = qos_profile_system_default
    elif name == "services_default":
        base = qos_profile_services_default
    elif name in ("default", "reliable"):
        base = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    elif name == "best_effort":
        base = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    else:
        raise ValueError(f"unknown QoS profile {name!r}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth or base.depth or 10,
                      reliability=base.reliability, durability=base.durability)
