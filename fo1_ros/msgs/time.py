"""Stamps and headers: builtin_interfaces/Time <-> integer nanoseconds, std_msgs/Header.

fo1_ros keeps times as integer nanoseconds (no float rounding, cheap to compare); these
functions convert at the message boundary. The message objects are rclpy or rosbags ones,
duck-typed (``Any``): both have ``sec`` / ``nanosec`` and ``stamp`` / ``frame_id``.
"""

from __future__ import annotations

from typing import Any

from rosbags.typesys.store import Typestore

__all__ = ["stamp_to_ns", "ns_to_stamp", "fill_stamp", "fill_header", "make_header"]


def stamp_to_ns(stamp: Any) -> int:
    """A builtin_interfaces/Time (``sec``, ``nanosec``) as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> tuple[int, int]:
    """Integer nanoseconds as ``(sec, nanosec)`` with ``0 <= nanosec < 1e9`` (floor division,
    so negative times keep a non-negative nanosec, as ROS 2 does)."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return sec, nanosec


def fill_stamp(stamp: Any, ns: int) -> Any:
    """Set ``sec`` / ``nanosec`` of a Time message (rclpy or rosbags) in place; returns it."""
    stamp.sec, stamp.nanosec = ns_to_stamp(ns)
    return stamp


def fill_header(header: Any, stamp_ns: int, frame_id: str) -> Any:
    """Set stamp and frame_id of a std_msgs/Header (rclpy or rosbags) in place; returns it."""
    fill_stamp(header.stamp, stamp_ns)
    header.frame_id = frame_id
    return header


def make_header(store: Typestore, stamp_ns: int = 0, frame_id: str = "") -> Any:
    """A rosbags ``std_msgs/msg/Header`` from a type store (e.g. :func:`fo1_ros.msgs.typestore`)."""
    sec, nanosec = ns_to_stamp(stamp_ns)
    time_type = store.types["builtin_interfaces/msg/Time"]
    header_type = store.types["std_msgs/msg/Header"]
    return header_type(stamp=time_type(sec=sec, nanosec=nanosec), frame_id=frame_id)
