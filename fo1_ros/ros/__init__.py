"""The ROS 2 face of fo1_ros: the rclpy lifecycle node (``fo1_node``) and message conversion.

The only package that imports rclpy. Importing this package itself imports nothing from ROS;
``fo1_ros.ros.fo1_node`` needs a colcon install of fo1_ros sourced (for ``fo1_ros.msg``).
"""
