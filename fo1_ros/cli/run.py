"""`fo1-ros run [ROS ARGS]`: start the rclpy node (needs the colcon build sourced)."""

from __future__ import annotations

import argparse
import importlib.util
import sys


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="start the rclpy node (extra arguments go to ROS)")
    p.add_argument("--params", help="ROS 2 parameter file")
    return p


def command(args: argparse.Namespace, rest: list[str]) -> int:
    """Hand over to fo1_ros.ros.fo1_node.main with --params as a ROS parameter file and `rest`."""
    if importlib.util.find_spec("rclpy") is None:  # rclpy itself is imported only inside fo1_ros.ros
        print("fo1-ros run: rclpy is not importable. Install ROS 2 (e.g. scripts/ros_build.sh "
              "installs ROS 2 Kilted wheels into the venv), build and source this package:\n"
              "    scripts/ros_build.sh && source build/ros/install/local_setup.bash", file=sys.stderr)
        return 2
    from ..ros import fo1_node  # rclpy (optional) loads only here, after the check above

    if fo1_node.IMPORT_ERROR is not None:
        print(f"fo1-ros run: {fo1_node.IMPORT_ERROR}; {fo1_node.BUILD_HINT}", file=sys.stderr)
        return 2
    ros_args = list(rest)
    if args.params:
        ros_args = ["--ros-args", "--params-file", args.params] + (
            ros_args[1:] if ros_args[:1] == ["--ros-args"] else ros_args)
    return fo1_node.main(["fo1_node"] + ros_args)
