"""The .msg/.srv files: strict ROS 2 parsing, rosbags registration and CDR round trips, and
agreement with CMakeLists.txt, package.xml and the pip-built package."""

import functools
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fo1_ros import msgs

ROOT = Path(__file__).resolve().parents[1]
# The only packages custom types may depend on (DESIGN.md).
ALLOWED_DEPENDENCIES = {"std_msgs", "geometry_msgs", "sensor_msgs", "builtin_interfaces"}
UNAVAILABLE = "fo1_ros: ROS 2 wheels unavailable:"


def _files(kind):
    return sorted((ROOT / kind).glob(f"*.{kind}"))


@functools.cache
def _install_ros_wheels():
    """Install the ROS 2 wheels into this venv (scripts/ros_build.sh --wheels); returns the
    reason they cannot be installed, or None."""
    if sys.prefix == sys.base_prefix:
        return "not running in a virtual environment: run scripts/ros_build.sh --wheels"
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ros_build.sh"), "--wheels"],
                            env=dict(os.environ, FO1_VENV=sys.prefix), capture_output=True,
                            text=True, timeout=900)
    output = result.stdout + result.stderr
    if result.returncode == 2:
        return next((line for line in output.splitlines() if line.startswith(UNAVAILABLE)),
                    UNAVAILABLE + " (no reason given)")
    assert result.returncode == 0, f"scripts/ros_build.sh --wheels failed:\n{output[-4000:]}"
    importlib.invalidate_caches()
    return None


def _ros_module(name):
    """Import a module of the ROS 2 wheels (rosidl_adapter.parser, catkin_pkg.package),
    installing the wheels first where they are missing; skip only where they cannot install."""
    try:
        return importlib.import_module(name)
    except ImportError:
        reason = _install_ros_wheels()
        if reason:
            pytest.skip(f"{name} unavailable: {reason}")
        return importlib.import_module(name)


def _rosidl_parser():
    return _ros_module("rosidl_adapter.parser")


def test_interfaces_are_found_in_the_checkout():
    assert msgs.interface_dir() == ROOT
    names = set(msgs.interface_files())
    assert {f"fo1_ros/msg/{p.stem}" for p in _files("msg")} | \
        {f"fo1_ros/srv/{p.stem}" for p in _files("srv")} == names
    expected = {"BoundingBox2D", "Region", "RegionArray", "RegionDescription",
                "RegionDescriptionArray", "ObjectCount", "ObjectCountArray", "SetQueries",
                "DetectObjects", "DescribeRegions", "AskRegion", "CountObjects", "SpatialQuery"}
    assert {n.rsplit("/", 1)[1] for n in names} == expected


def test_every_msg_parses_with_the_strict_ros2_parser():
    parser = _rosidl_parser()
    for path in _files("msg"):
        spec = parser.parse_message_file("fo1_ros", str(path))
        assert spec.fields, path.name


def test_every_srv_parses_with_the_strict_ros2_parser():
    parser = _rosidl_parser()
    for path in _files("srv"):
        spec = parser.parse_service_file("fo1_ros", str(path))
        response_fields = [f.name for f in spec.response.fields]
        assert response_fields[:2] == ["success", "message"], path.name


def test_strict_parser_rejects_a_typo():
    # rosbags' parser accepts both of these; the ROS 2 parser must not (else the two tests
    # above prove nothing).
    parser = _rosidl_parser()
    good = msgs.interface_text("Region")
    parser.parse_message_string("fo1_ros", "Region", good)
    with pytest.raises(parser.InvalidResourceName, match="strng"):
        parser.parse_message_string("fo1_ros", "Region", good.replace("string label",
                                                                      "strng label"))
    with pytest.raises(parser.InvalidValue, match="oops"):
        parser.parse_message_string("fo1_ros", "Region", good.replace(
            "float32 score ", "float32 score oops "))


def _referenced_types(store, name):
    _, fields = store.fielddefs[name]
    for _, (kind, detail) in fields:
        while kind in (3, 4):  # ARRAY, SEQUENCE: look inside
            (kind, detail), _ = detail
        if kind == 2:  # NAME
            yield detail


def test_referenced_types_exist_and_come_from_allowed_packages():
    # The strict parser checks syntax only; a misspelt type name (Regoin[]) must be caught here.
    store = msgs.typestore()
    for name in msgs.interface_types():
        for ref in _referenced_types(store, name):
            assert ref in store.types, f"{name} uses unknown type {ref}"
            package = ref.split("/")[0]
            assert package == "fo1_ros" or package in ALLOWED_DEPENDENCIES, (name, ref)
            if package == "fo1_ros":
                assert ref in msgs.interface_types(), (name, ref)


def test_services_register_as_request_and_response():
    store = msgs.typestore()
    for path in _files("srv"):
        request, response = msgs.service_type_names(path.stem)
        assert request == f"fo1_ros/msg/{path.stem}_Request"
        assert response == f"fo1_ros/msg/{path.stem}_Response"
        assert request in store.types and response in store.types
    assert store.types["fo1_ros/msg/DescribeRegions_Request"].TASK_OCR == "ocr"
    assert store.types["fo1_ros/msg/SpatialQuery_Request"].RELATION_IN_FRONT_OF == "in_front_of"
    assert store.types["fo1_ros/msg/Region"].REASON_NO_DEPTH == "no_depth"


_NUMPY = {"bool": np.bool_, "int8": np.int8, "uint8": np.uint8, "byte": np.uint8,
          "char": np.uint8, "int16": np.int16, "uint16": np.uint16, "int32": np.int32,
          "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64,
          "float32": np.float32, "float64": np.float64}


def _value(store, kind, detail, seed):
    """A non-default value for one field, so a round trip that drops or swaps fields fails."""
    if kind == 1:
        base = detail[0]
        if base == "string":
            return f"s{seed}"
        if base == "bool":
            return True
        return _NUMPY[base](seed % 100 + 1).item()
    if kind == 2:
        return _instance(store, detail, seed)
    (inner_kind, inner_detail), size = detail
    count = size if kind == 3 else 2
    if inner_kind == 1 and inner_detail[0] != "string":
        return np.arange(seed, seed + count).astype(_NUMPY[inner_detail[0]])
    return [_value(store, inner_kind, inner_detail, seed + i) for i in range(count)]


def _instance(store, name, seed=1):
    _, fields = store.fielddefs[name]
    kwargs = {field: _value(store, kind, detail, seed + i)
              for i, (field, (kind, detail)) in enumerate(fields)}
    return store.types[name](**kwargs)


def _assert_equal(a, b, where):
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dataclass_fields__"):
        for field in a.__dataclass_fields__:
            if field != "__msgtype__":
                _assert_equal(getattr(a, field), getattr(b, field), f"{where}.{field}")
    elif isinstance(a, float):
        assert np.float32(a) == np.float32(b), where
    else:
        assert a == b, where


def test_every_type_round_trips_through_cdr():
    store = msgs.typestore()
    for name in msgs.interface_types():
        message = _instance(store, name)
        raw = store.serialize_cdr(message, name)
        back = store.deserialize_cdr(raw, name)
        _assert_equal(message, back, name)


def test_message_definitions_carry_their_dependencies():
    definitions = msgs.message_definitions()
    assert set(definitions) == set(msgs.interface_types())
    text = definitions["fo1_ros/msg/RegionArray"]
    for dependency in ("std_msgs/Header", "builtin_interfaces/Time", "fo1_ros/Region",
                       "fo1_ros/BoundingBox2D", "geometry_msgs/Point", "geometry_msgs/Vector3"):
        assert f"\nMSG: {dependency}\n" in text, dependency
    assert "string REASON_NO_DEPTH=no_depth\n" in text
    request = definitions["fo1_ros/msg/DetectObjects_Request"]
    assert request.startswith("sensor_msgs/Image image\n")
    assert "\nMSG: sensor_msgs/Image\n" in request


def test_message_definitions_rebuild_the_same_types():
    # What a bag reader does with a stored definition: rebuild the types from the text alone.
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = msgs.typestore()
    fresh = get_typestore(Stores.EMPTY)
    name = "fo1_ros/msg/RegionArray"
    fresh.register(get_types_from_msg(msgs.message_definition(name, store), name))
    message = _instance(store, name)
    _assert_equal(message, fresh.deserialize_cdr(store.serialize_cdr(message, name), name), name)


def _cmake_text():
    return (ROOT / "CMakeLists.txt").read_text()


def test_cmakelists_lists_exactly_the_interface_files():
    listed = re.findall(r'"((?:msg|srv)/[^"]+)"', _cmake_text())
    on_disk = [f"msg/{p.name}" for p in _files("msg")] + [f"srv/{p.name}" for p in _files("srv")]
    assert sorted(listed) == sorted(on_disk)
    assert len(listed) == len(set(listed))


def test_cmakelists_dependencies_cover_the_types_used():
    match = re.search(r"rosidl_generate_interfaces\((.*?)\)", _cmake_text(), re.S)
    declared = set(match.group(1).split("DEPENDENCIES", 1)[1].split())
    assert _packages_used() <= declared <= ALLOWED_DEPENDENCIES
    for package in declared:
        assert f"find_package({package} REQUIRED)" in _cmake_text()


def _packages_used():
    store = msgs.typestore()
    used = {ref.split("/")[0] for name in msgs.interface_types()
            for ref in _referenced_types(store, name)}
    used.discard("fo1_ros")
    return used | {"builtin_interfaces"}  # Header's stamp; rosidl needs it declared


def test_package_xml_is_valid_format_3_and_declares_what_the_messages_use():
    package = _ros_module("catkin_pkg.package").parse_package(str(ROOT / "package.xml"))
    package.validate()
    assert package.package_format == 3
    assert package.name == "fo1_ros"
    assert [m.email for m in package.maintainers] == ["maintainers@fo1-ros.dev"]
    assert package.licenses == ["Apache-2.0"]
    assert package.get_build_type() == "ament_cmake"
    build = {d.name for d in package.build_depends}
    run = {d.name for d in package.exec_depends}
    for used in _packages_used():
        assert used in build and used in run, used
    assert "rosidl_default_generators" in {d.name for d in package.buildtool_depends}
    assert {"rosidl_default_runtime", "rclpy", "visualization_msgs"} <= run
    assert "rosidl_interface_packages" in [g.name for g in package.member_of_groups]


def test_pip_built_package_carries_the_interface_files(tmp_path):
    # A real non-editable install: the wheel must carry msg/ and srv/ as package data and
    # fo1_ros.msgs must find them there (the run happens outside the checkout).
    target = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", str(ROOT), "--no-deps", "--target", str(target),
         "--quiet", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    code = ("import fo1_ros.msgs as m; print(m.interface_dir()); "
            "print(len(m.interface_files())); m.typestore()")
    env = {k: v for k, v in os.environ.items() if k not in ("AMENT_PREFIX_PATH",
                                                            msgs.INTERFACE_DIR_ENV)}
    env["PYTHONPATH"] = str(target)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    folder, count = result.stdout.split()
    assert Path(folder) == target / "fo1_ros" / "interfaces"
    assert int(count) == len(_files("msg")) + len(_files("srv"))


def test_message_definitions_work_as_mcap_schemas():
    # Foxglove and mcap tools read ros2msg schemas with their own parser; mcap_ros2 is one.
    import io

    pytest.importorskip("mcap_ros2", reason="mcap-ros2-support not installed")
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from mcap_ros2.writer import Writer

    buffer = io.BytesIO()
    writer = Writer(buffer)
    name = "fo1_ros/msg/RegionArray"
    schema = writer.register_msgdef(name, msgs.message_definition(name))
    region = {"index": 3, "label": "mug", "reason_3d": "no_depth", "proposal_score": 0.5,
              "bbox": {"center_x": 1.0, "center_y": 2.0, "size_x": 3.0, "size_y": 4.0}}
    writer.write_message(topic="/detections", schema=schema, log_time=5, publish_time=5,
                         message={"header": {"stamp": {"sec": 1, "nanosec": 2},
                                             "frame_id": "cam"},
                                  "queries": ["mug"], "regions": [region]})
    writer.finish()
    buffer.seek(0)
    decoded = [m for *_, m in make_reader(buffer, decoder_factories=[DecoderFactory()])
               .iter_decoded_messages()]
    assert len(decoded) == 1
    got = decoded[0].regions[0]
    assert (got.index, got.label, got.reason_3d, got.proposal_score) == (3, "mug", "no_depth",
                                                                         0.5)
    assert got.bbox.size_y == 4.0 and decoded[0].header.frame_id == "cam"
