"""Launch fo1_node (VLM-FO1 perception) on a camera, optionally with RViz.

    ros2 launch fo1_ros perception.launch.py \
        image_topic:=/camera/color/image_raw \
        depth_topic:=/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/color/camera_info use_rviz:=true

fo1_node is a lifecycle node; with autostart (default) it configures and activates itself.
Its parameters come from params_file (default: the installed config/perception.yaml); the
arguments model_path, device and autostart override it. Outputs appear under the namespace:
/fo1/detections, /fo1/counts, /fo1/descriptions, /fo1/markers, /fo1/annotated_image.
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def generate_launch_description():
    share = FindPackageShare("fo1_ros")
    arg = LaunchConfiguration
    arguments = [
        DeclareLaunchArgument("namespace", default_value="fo1",
                              description="namespace of fo1_node and its topics and services"),
        DeclareLaunchArgument("image_topic", default_value="/camera/color/image_raw",
                              description="colour image (sensor_msgs/Image; with "
                                          "image_transport=compressed, <image_topic>/compressed)"),
        DeclareLaunchArgument("depth_topic",
                              default_value="/camera/aligned_depth_to_color/image_raw",
                              description="depth registered to the colour image "
                                          "(16UC1 millimetres or 32FC1 metres)"),
        DeclareLaunchArgument("camera_info_topic", default_value="/camera/color/camera_info",
                              description="sensor_msgs/CameraInfo of the colour image"),
        DeclareLaunchArgument("params_file",
                              default_value=PathJoinSubstitution([share, "config", "perception.yaml"]),
                              description="ROS 2 parameter file for fo1_node"),
        DeclareLaunchArgument("model_path", default_value="",
                              description="VLM-FO1 model folder; empty = the shipped model"),
        DeclareLaunchArgument("device", default_value="auto",
                              description="auto (CUDA when available) | cpu | cuda:0"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure and activate the lifecycle node at start"),
        DeclareLaunchArgument("log_level", default_value="info",
                              description="log level of fo1_node (debug | info | warn | error)"),
        DeclareLaunchArgument("use_rviz", default_value="false",
                              description="start RViz showing the annotated image and 3-D markers"),
        DeclareLaunchArgument("rviz_config",
                              default_value=PathJoinSubstitution([share, "config", "perception.rviz"]),
                              description="RViz configuration file"),
    ]
    fo1_node = LifecycleNode(
        package="fo1_ros",
        executable="fo1_node",
        name="fo1_node",
        namespace=arg("namespace"),
        output="screen",
        parameters=[
            arg("params_file"),
            {"model_path": ParameterValue(arg("model_path"), value_type=str),
             "device": ParameterValue(arg("device"), value_type=str),
             "autostart": ParameterValue(arg("autostart"), value_type=bool)},
        ],
        remappings=[
            ("image", arg("image_topic")),
            ("image/compressed", [arg("image_topic"), "/compressed"]),
            ("depth", arg("depth_topic")),
            ("camera_info", arg("camera_info_topic")),
        ],
        arguments=["--ros-args", "--log-level", arg("log_level")],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", arg("rviz_config")],
        condition=IfCondition(arg("use_rviz")),
        output="screen",
    )
    return LaunchDescription(arguments + [fo1_node, rviz])
