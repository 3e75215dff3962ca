"""fo1_ros: object-level vision-language perception (VLM-FO1) for ROS 2 robots.

The package is importable without ROS: the model, engine, geometry, bags and the
command line run on plain Python. Only ``fo1_ros.ros`` imports rclpy.
"""

__version__ = "0.1.0"
