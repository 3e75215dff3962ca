"""fo1_node under the real rclpy (ROS 2 Kilted wheels), built with colcon, driven over DDS.

One fo1_node process (the installed ``lib/fo1_ros/fo1_node``, as ``ros2 run`` starts it, with
the installed ``config/perception.yaml``) and one driver process (fo1_node_driver.py: two
cameras, a subscriber of every output, clients of every service, lifecycle and parameter
services). DDS stays on localhost (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in a random
domain. Each check of the driver is one test here, so a failure names what broke.

- plumbing (tiny random model, runs everywhere the wheels install): topics, headers, QoS,
  encodings, bad input, every service, lifecycle, parameters;
- content (the shipped model; skipped until fo1_ros/assets/default_model exists): detections
  and counts against the synthetic ground truth.
Skipped, with the build script's one line, only where the ROS 2 wheels cannot install.
"""

from __future__ import annotations

import ast
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test.ros.test_ros_build import WORKSPACE, _ros_env, _sourced, install  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "fo1_node_driver.py"
SHIPPED_MODEL = ROOT / "fo1_ros" / "assets" / "default_model" / "config.json"
LAUNCH = ROOT / "launch" / "perception.launch.py"

PLUMBING_CHECKS = [
    "node_active_at_start", "unknown_parameter_reported", "lifecycle_get_state_active",
    "queries_topic_sets_vocabulary", "reliable_publisher_reaches_node",
    "detections_header_is_source_header", "detections_regions_are_proposals",
    "detections_carry_queries", "detections_have_3d_from_depth",
    "region_3d_centres_match_ground_truth", "counts_published_per_query",
    "markers_start_with_one_deleteall", "markers_cube_and_text_per_object",
    "annotated_image_published", "best_effort_publisher_reaches_node",
    "image_encoding_bgr8", "image_encoding_rgba8", "image_encoding_bgra8", "image_encoding_mono8",
    "image_encoding_mono16", "depth_32FC1_metres", "bad_images_counted", "nan_depth_gives_reason",
    "depth_of_other_aspect_rejected_with_reason", "depth_of_half_size_is_scaled",
    "thousand_proposals_capped", "set_queries_empty_stops_detection",
    "no_detections_without_queries", "detect_without_any_query_refused", "set_queries_1mb_refused",
    "set_queries_reserved_token_refused", "set_queries_service", "queries_topic_1mb_ignored",
    "frame_for_services", "detect_objects_latest_frame",
    "detect_objects_given_image_without_boxes_explains", "describe_regions_given_image_and_boxes",
    "describe_regions_ocr", "describe_regions_bad_task_refused",
    "describe_regions_truncated_image_refused", "ask_region_vqa", "ask_region_reasoning",
    "ask_region_1mb_question_refused", "ask_region_bad_index_refused", "count_objects",
    "spatial_query_nearest", "spatial_query_within_needs_radius",
    "spatial_query_bad_relation_refused", "descriptions_topic_rate_limited_captions",
    "lifecycle_deactivate", "inactive_node_ignores_frames", "inactive_node_services_explain",
    "set_parameter_while_inactive", "lifecycle_activate_again", "compressed_image_jpeg",
    "compressed_image_png", "default_rgbd_proposer_live", "frozen_parameter_refused_while_active",
    "status_counts_frames_and_drops", "driver_completed", "node_alive_after_everything",
]
# The shipped model's content on the driver's scenes: labelled detections on an object of that
# category (floor 0.5); counts that name exactly the regions labelled so and beat answering 0.
CONTENT_CHECKS = ["node_active_at_start", "set_queries", "content_every_frame_answered",
                  "content_detection_precision", "content_counts_match_detections",
                  "content_counts_beat_zero",
                  "driver_completed", "node_alive_after_everything"]


def _run(install_dir, tmp_path: Path, mode: str, overrides: list[str], timeout: float) -> dict:
    """Start fo1_node, run the driver, stop the node; {check name: check}."""
    env = _ros_env()
    env["ROS_DOMAIN_ID"] = str(random.randint(101, 200))  # apart from test_ros_build's range
    env["PYTHONUNBUFFERED"] = "1"
    tag = f"fo1_test_{os.getpid()}_{random.randint(0, 10**6)}"
    prefix = install_dir / "fo1_ros"
    params = prefix / "share" / "fo1_ros" / "config" / "perception.yaml"
    node_cmd = [sys.executable, str(prefix / "lib" / "fo1_ros" / "fo1_node"), "--ros-args",
                "-r", f"__ns:=/{tag}", "--params-file", str(params)]
    for item in overrides:
        node_cmd += ["-p", item]
    log_path = tmp_path / f"fo1_node_{mode}.log"
    out = tmp_path / f"checks_{mode}.json"
    with open(log_path, "w") as log:
        node = subprocess.Popen(_sourced(install_dir, *node_cmd), cwd=tmp_path, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            driver = subprocess.run(_sourced(install_dir, sys.executable, str(DRIVER), tag, mode,
                                             str(out)),
                                    cwd=tmp_path, env=env, capture_output=True, text=True,
                                    timeout=timeout)
            alive = node.poll() is None
        finally:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGINT)
                try:
                    node.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(node.pid, signal.SIGKILL)
                    node.wait()
    node_log = log_path.read_text()
    checks = {c["name"]: c for c in json.loads(out.read_text())} if out.exists() else {}
    checks["node_alive_after_everything"] = {"name": "node_alive_after_everything", "ok": alive,
                                             "detail": node_log[-3000:]}
    checks["_logs"] = {"driver": (driver.stdout + driver.stderr)[-6000:], "node": node_log[-6000:]}
    return checks


@pytest.fixture(scope="module")
def plumbing(install, tiny_model_dir, tmp_path_factory):  # noqa: F811 - install is a fixture
    tmp = tmp_path_factory.mktemp("fo1_node_plumbing")
    return _run(install, tmp, "plumbing",
                [f"model_path:={tiny_model_dir}", "device:=cpu", "proposal_source:=external",
                 "torch_threads:=1",
                 "caption_rate_hz:=2.0", "status_period_s:=0.5", "sync_wait_s:=0.3",
                 "not_a_parameter:=1"], timeout=600)


def _assert_check(checks: dict, name: str) -> None:
    logs = checks["_logs"]
    if name not in checks:
        done = checks.get("driver_completed", {}).get("detail", "")
        pytest.fail(f"check {name!r} did not run; driver: {done}\n--- driver log\n{logs['driver']}"
                    f"\n--- node log\n{logs['node']}")
    check = checks[name]
    assert check["ok"], f"{name}: {check['detail']}\n--- node log (tail)\n{logs['node'][-2500:]}"


@pytest.mark.parametrize("name", PLUMBING_CHECKS)
def test_fo1_node_plumbing(plumbing, name):
    _assert_check(plumbing, name)


@pytest.fixture(scope="module")
def content(install, tmp_path_factory):  # noqa: F811 - install is a fixture
    if not SHIPPED_MODEL.is_file():
        pytest.skip(f"the shipped model is not there yet ({SHIPPED_MODEL} missing)")
    tmp = tmp_path_factory.mktemp("fo1_node_content")
    return _run(install, tmp, "content", ["caption_rate_hz:=0.0", "torch_threads:=1"], timeout=900)


@pytest.mark.parametrize("name", CONTENT_CHECKS)
def test_fo1_node_shipped_model_content(content, name):
    _assert_check(content, name)


# ---- launch file: imported where launch_ros exists, else its structure --------------------

LAUNCH_ARGUMENTS = {"namespace", "image_topic", "depth_topic", "camera_info_topic", "params_file",
                    "model_path", "device", "use_rviz", "rviz_config", "autostart", "log_level"}


def _launch_calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def test_launch_file_structure():
    tree = ast.parse(LAUNCH.read_text())
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "generate_launch_description" in functions
    declared = {}
    for call in _launch_calls(tree, "DeclareLaunchArgument"):
        name = ast.literal_eval(call.args[0])
        keywords = {k.arg: k.value for k in call.keywords}
        assert "default_value" in keywords, f"argument {name} has no default"
        assert "description" in keywords and ast.literal_eval(keywords["description"]).strip(), \
            f"argument {name} has no description"
        declared[name] = keywords
    assert LAUNCH_ARGUMENTS <= set(declared), LAUNCH_ARGUMENTS - set(declared)
    nodes = _launch_calls(tree, "LifecycleNode") + _launch_calls(tree, "Node")
    executables = {ast.literal_eval(k.value) for n in nodes for k in n.keywords
                   if k.arg == "executable"}
    assert {"fo1_node", "rviz2"} <= executables, executables
    # the default files are the package's share/fo1_ros/config/..., which exist in the source
    for argument, parts in (("params_file", ["config", "perception.yaml"]),
                            ("rviz_config", ["config", "perception.rviz"])):
        assert _share_path(declared[argument]["default_value"]) == parts, ast.dump(
            declared[argument]["default_value"])
        assert (ROOT.joinpath(*parts)).is_file(), parts
    # and fo1_node takes its parameters from that argument
    (fo1_node,) = [n for n in nodes if any(k.arg == "executable" and ast.literal_eval(k.value) == "fo1_node"
                                           for k in n.keywords)]
    parameters = next(k.value for k in fo1_node.keywords if k.arg == "parameters")
    assert any(_launch_argument(item) == "params_file" for item in parameters.elts), ast.dump(parameters)


def _share_path(node: ast.AST) -> list:
    """The literal parts after the share folder of ``PathJoinSubstitution([share, ...])``."""
    assert isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PathJoinSubstitution", \
        ast.dump(node)
    (parts,) = node.args
    return [ast.literal_eval(e) for e in parts.elts[1:]]


def _launch_argument(node: ast.AST) -> str | None:
    """``'name'`` for ``arg('name')`` / ``LaunchConfiguration('name')``, else None."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("arg", "LaunchConfiguration"):
        return ast.literal_eval(node.args[0])
    return None


def test_installed_perception_yaml_is_node_config(install):  # noqa: F811 - install is a fixture
    """fo1_node and the launch file read the *installed* parameter file: its keys and values
    are NodeConfig's defaults (test/node/test_config.py checks the source tree's copy)."""
    from fo1_ros.node import NodeConfig, load_params_file

    params = load_params_file(install / "fo1_ros" / "share" / "fo1_ros" / "config" / "perception.yaml")
    assert sorted(params) == sorted(NodeConfig.field_names())
    assert NodeConfig.from_dict(params).to_dict() == NodeConfig().to_dict()


def test_launch_file_imports_where_launch_ros_exists():
    pytest.importorskip("launch_ros", reason="launch_ros is not on PyPI: structure checked above")
    import importlib.util

    spec = importlib.util.spec_from_file_location("perception_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert LAUNCH_ARGUMENTS <= names


def test_rviz_config_shows_image_and_markers():
    text = (ROOT / "config" / "perception.rviz").read_text()
    assert "rviz_default_plugins/Image" in text and "rviz_default_plugins/MarkerArray" in text
    assert "annotated_image" in text and "markers" in text


def test_invalid_parameters_are_reported_at_start_and_the_node_stays_up(install, tmp_path):  # noqa: F811
    """An invalid value: configure fails with the reason in the log; the process lives on
    (unconfigured, its services answering) until told to stop."""
    import time

    env = _ros_env()
    env["ROS_DOMAIN_ID"] = str(random.randint(101, 200))
    env["PYTHONUNBUFFERED"] = "1"
    prefix = install / "fo1_ros"
    log_path = tmp_path / "node.log"
    with open(log_path, "w") as log:
        node = subprocess.Popen(
            _sourced(install, sys.executable, str(prefix / "lib" / "fo1_ros" / "fo1_node"),
                     "--ros-args", "-r", f"__ns:=/fo1_bad_{os.getpid()}", "-p", "image_qos:=fast",
                     "-p", "caption_rate_hz:=-1.0"),
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "cannot configure" not in log_path.read_text():
                time.sleep(0.5)
            time.sleep(1.0)
            alive = node.poll() is None
        finally:
            os.killpg(node.pid, signal.SIGINT)
            try:
                node.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
    text = log_path.read_text()
    assert "cannot configure" in text and "image_qos" in text and "fast" in text, text[-3000:]
    assert "caption_rate_hz" in text, text[-3000:]  # every invalid value is named
    assert alive, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
