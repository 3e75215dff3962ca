"""Every topic and service of fo1_node by its relative name (namespaces and remaps work), with
its message type, and the QoS profile names the parameters accept.

The only place in the package that names topics; ``fo1_ros/ros/`` and ``fo1_ros/bag/`` take
them from here.
"""

from __future__ import annotations

#: Input topics -> message type. ``image`` is used with image_transport 'raw',
#: ``image/compressed`` with 'compressed' (image_transport's naming).
INPUT_TOPICS: dict[str, str] = {
    "image": "sensor_msgs/msg/Image",
    "image/compressed": "sensor_msgs/msg/CompressedImage",
    "depth": "sensor_msgs/msg/Image",
    "camera_info": "sensor_msgs/msg/CameraInfo",
    "proposals": "fo1_ros/msg/RegionArray",
    "queries": "std_msgs/msg/String",
}
#: Output topics -> message type. The vision_msgs ones only where vision_msgs is importable.
OUTPUT_TOPICS: dict[str, str] = {
    "detections": "fo1_ros/msg/RegionArray",
    "counts": "fo1_ros/msg/ObjectCountArray",
    "descriptions": "fo1_ros/msg/RegionDescriptionArray",
    "markers": "visualization_msgs/msg/MarkerArray",
    "annotated_image": "sensor_msgs/msg/Image",
    "detections_2d": "vision_msgs/msg/Detection2DArray",
    "detections_3d": "vision_msgs/msg/Detection3DArray",
    "status": "std_msgs/msg/String",
}
VISION_TOPICS = ("detections_2d", "detections_3d")
#: Service name -> service type.
SERVICES: dict[str, str] = {
    "set_queries": "fo1_ros/srv/SetQueries",
    "detect_objects": "fo1_ros/srv/DetectObjects",
    "describe_regions": "fo1_ros/srv/DescribeRegions",
    "ask_region": "fo1_ros/srv/AskRegion",
    "count_objects": "fo1_ros/srv/CountObjects",
    "spatial_query": "fo1_ros/srv/SpatialQuery",
}

#: Names of the QoS profiles ``image_qos`` and ``output_qos`` accept (``fo1_ros/ros/qos.py``
#: turns them into rclpy profiles).
QOS_PROFILES = ("sensor_data", "default", "system_default", "services_default", "reliable",
                "best_effort")
