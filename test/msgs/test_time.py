"""Stamps and headers: nanoseconds <-> builtin_interfaces/Time, std_msgs/Header (fo1_ros.msgs.time)."""

import pytest

from fo1_ros import msgs


@pytest.mark.parametrize("ns", [0, 1, 999_999_999, 1_000_000_000, 1_700_000_000_123_456_789,
                                -1, -1_500_000_000])
def test_stamp_round_trip(store, ns):
    sec, nanosec = msgs.ns_to_stamp(ns)
    assert 0 <= nanosec < 1_000_000_000
    header = msgs.make_header(store, ns, "base")
    assert (header.stamp.sec, header.stamp.nanosec) == (sec, nanosec)
    assert msgs.stamp_to_ns(header.stamp) == ns
    msgs.fill_header(header, ns + 7, "other")
    assert msgs.stamp_to_ns(header.stamp) == ns + 7 and header.frame_id == "other"
    raw = store.serialize_cdr(header, "std_msgs/msg/Header")
    assert msgs.stamp_to_ns(store.deserialize_cdr(raw, "std_msgs/msg/Header").stamp) == ns + 7
