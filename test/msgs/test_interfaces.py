"""The .msg/.srv files through fo1_ros.msgs.interfaces: found in the checkout, strict ROS 2
parsing, rosbags registration, CDR round trips, message definitions (bags, mcap schemas).
How they are packaged (CMakeLists.txt, package.xml, the pip wheel) is test/test_packaging.py."""

import importlib.util
import io

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from fo1_ros import msgs
from test.setup_mode import unavailable

from .support import ALLOWED_DEPENDENCIES, ROOT, interface_paths, referenced_types, ros_module


def _rosidl_parser():
    return ros_module("rosidl_adapter.parser")


def test_interfaces_are_found_in_the_checkout():
    assert msgs.interface_dir() == ROOT
    names = set(msgs.interface_files())
    assert {f"fo1_ros/msg/{p.stem}" for p in interface_paths("msg")} | \
        {f"fo1_ros/srv/{p.stem}" for p in interface_paths("srv")} == names
    expected = {"BoundingBox2D", "Region", "RegionArray", "RegionDescription",
                "RegionDescriptionArray", "ObjectCount", "ObjectCountArray", "SetQueries",
                "DetectObjects", "DescribeRegions", "AskRegion", "CountObjects", "SpatialQuery"}
    assert {n.rsplit("/", 1)[1] for n in names} == expected


def test_every_msg_parses_with_the_strict_ros2_parser():
    parser = _rosidl_parser()
    for path in interface_paths("msg"):
        spec = parser.parse_message_file("fo1_ros", str(path))
        assert spec.fields, path.name


def test_every_srv_parses_with_the_strict_ros2_parser():
    parser = _rosidl_parser()
    for path in interface_paths("srv"):
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


def test_referenced_types_exist_and_come_from_allowed_packages():
    # The strict parser checks syntax only; a misspelt type name (Regoin[]) must be caught here.
    store = msgs.typestore()
    for name in msgs.interface_types():
        for ref in referenced_types(store, name):
            assert ref in store.types, f"{name} uses unknown type {ref}"
            package = ref.split("/")[0]
            assert package == "fo1_ros" or package in ALLOWED_DEPENDENCIES, (name, ref)
            if package == "fo1_ros":
                assert ref in msgs.interface_types(), (name, ref)


def test_services_register_as_request_and_response():
    store = msgs.typestore()
    for path in interface_paths("srv"):
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
    store = msgs.typestore()
    fresh = get_typestore(Stores.EMPTY)
    name = "fo1_ros/msg/RegionArray"
    fresh.register(get_types_from_msg(msgs.message_definition(name, store), name))
    message = _instance(store, name)
    _assert_equal(message, fresh.deserialize_cdr(store.serialize_cdr(message, name), name), name)


def test_message_definitions_work_as_mcap_schemas():
    # Foxglove and mcap tools read ros2msg schemas with their own parser; mcap_ros2 is one.
    if importlib.util.find_spec("mcap_ros2") is None:  # a test extra: required in the test set-up
        unavailable("mcap-ros2-support", "mcap_ros2 is not importable")
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
