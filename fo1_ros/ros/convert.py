"""Plain data (``fo1_ros.node`` output dicts) -> rclpy messages, for any generated type.

The node logic builds every message as a dict of fields; :func:`build` makes the rclpy
object of the named type and :func:`fill` sets fields of an existing one (a service
response). Nested messages recurse; ``uint8[]`` data goes through ``array.array('B')`` (the
fast path of rclpy's setters); unknown field names are errors, not silent losses.
"""

from __future__ import annotations

import array
import functools
import importlib
import re
from typing import Any

import numpy as np

_SEQ = re.compile(r"^sequence<([^,>]+)(?:,\s*\d+)?>$")
_ARR = re.compile(r"^(.+)\[(\d+)\]$")
_BOUNDED_STR = re.compile(r"^(w?string)<=\d+$")
_FLOATS = ("float", "double")
_INTS = ("octet", "char", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")


@functools.cache
def message_class(typename: str) -> type:
    """'fo1_ros/msg/RegionArray', 'fo1_ros/RegionArray' or 'fo1_ros/srv/SetQueries' -> class."""
    parts = typename.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3:
        raise ValueError(f"not a ROS type name: {typename!r}")
    module = importlib.import_module(f"{parts[0]}.{parts[1]}")
    return getattr(module, parts[2])


def build(typename: str, data: dict | None) -> Any:
    """A new message of ``typename`` with the fields of ``data`` set."""
    return fill(message_class(typename)(), data or {})


def fill(msg: Any, data: dict) -> Any:
    """Set the fields named in ``data`` on ``msg`` (in place); returns ``msg``."""
    fields = msg.get_fields_and_field_types()
    for key, value in data.items():
        if key not in fields:
            raise ValueError(f"{type(msg).__name__} has no field {key!r}; fields: {list(fields)}")
        setattr(msg, key, _convert(fields[key], getattr(msg, key), value))
    return msg


def _convert(kind: str, current: Any, value: Any) -> Any:
    kind = _BOUNDED_STR.sub(r"\1", kind)
    seq, arr = _SEQ.match(kind), _ARR.match(kind)
    elem = seq.group(1) if seq else arr.group(1) if arr else None
    if elem is not None:
        if "/" in elem:
            cls = message_class(elem)
            return [v if not isinstance(v, dict) else fill(cls(), v) for v in value]
        if elem in ("uint8", "octet", "byte"):
            if isinstance(value, np.ndarray):
                out = array.array("B")
                out.frombytes(np.ascontiguousarray(value, dtype=np.uint8).tobytes())
                return out if seq else list(out)
            return value if isinstance(value, (array.array, bytes)) else list(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if elem in _FLOATS:
            return [float(v) for v in value]
        if elem == "boolean":
            return [bool(v) for v in value]
        if elem in _INTS:
            return [int(v) for v in value]
        return [str(v) for v in value]
    if "/" in kind:
        return fill(current, value) if isinstance(value, dict) else value
    if kind in _FLOATS:
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind in _INTS:
        return int(value)
    return str(value)


__all__ = ["build", "fill", "message_class"]
