"""Writing ROS 2 bags with rosbags: plain data (``fo1_ros.node`` output dicts) or rosbags
messages into a new rosbag2 folder (mcap or sqlite3) with every fo1_ros type known and the
message definitions embedded, so Foxglove opens it and ``ros2 bag play`` plays it.

- :class:`RosbagsBuilder`: plain data -> rosbags message objects, for any type in the store.
- :class:`BagWriter`: a new bag; ``write(topic, msgtype, data, log_ns)``.
- :func:`write_frames_bag`: an RGB-D sequence (numpy arrays) as image, depth, camera_info
  (and proposals) topics, e.g. for the demo and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.interfaces import Connection, Nodetype
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

from .. import msgs
from ..node import bbox, header

STORAGES = ("mcap", "sqlite3")

_DTYPES = {"bool": np.bool_, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8,
           "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
           "int64": np.int64, "uint64": np.uint64, "float32": np.float32, "float64": np.float64}


class RosbagsBuilder:
    """Build rosbags message objects from plain data (missing fields take ROS defaults).

    ``build("fo1_ros/msg/RegionArray", {"header": {...}, "regions": [{...}]})``. Unknown
    field names are errors (they would be silently lost otherwise). rosbags generates its
    message classes at run time, so messages are typed ``Any``."""

    def __init__(self, store: Typestore | None = None):
        self.store = store if store is not None else msgs.typestore()

    def build(self, typename: str, data: Any = None) -> Any:
        if typename not in self.store.fielddefs:
            raise KeyError(f"type {typename!r} is not in the type store")
        if data is not None and not isinstance(data, dict):
            return data  # already a message object
        data = data or {}
        _, fields = self.store.fielddefs[typename]
        names = [name for name, _ in fields]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"{typename} has no fields {unknown}; fields: {names}")
        kwargs = {name: self._value(spec, data.get(name)) for name, spec in fields}
        return self.store.types[typename](**kwargs)

    def _value(self, spec: tuple, value: Any) -> Any:
        kind, sub = spec
        if kind == Nodetype.BASE:
            return _base(sub[0], value)
        if kind == Nodetype.NAME:
            return self.build(sub, value)
        (elem_kind, elem_sub), length = sub
        if elem_kind == Nodetype.BASE and elem_sub[0] != "string":
            dtype = _DTYPES[elem_sub[0]]
            if value is None:
                return np.zeros(length if kind == Nodetype.ARRAY else 0, dtype)
            if isinstance(value, (bytes, bytearray, memoryview)):
                return np.frombuffer(bytes(value), dtype)
            return np.asarray(value, dtype=dtype).reshape(-1)
        items = list(value) if value is not None else []
        if kind == Nodetype.ARRAY and value is None:
            items = [None] * length
        return [self._value((elem_kind, elem_sub), v) for v in items]


def _base(kind: str, value: Any) -> Any:
    if kind == "string":
        return "" if value is None else str(value)
    if kind == "bool":
        return bool(value) if value is not None else False
    if kind.startswith("float"):
        return float(value) if value is not None else 0.0
    return int(value) if value is not None else 0


class BagWriter:
    """A new rosbag2 folder (``storage`` 'mcap' or 'sqlite3') with every fo1_ros type known.

    Use as a context manager; ``write(topic, msgtype, data, log_ns)`` takes plain data or a
    rosbags message. Message definitions are embedded for every connection."""

    def __init__(self, path: str | Path, storage: str = "mcap", store: Typestore | None = None):
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists; rosbag2 writers need a new folder")
        self.builder = RosbagsBuilder(store)
        self.store = self.builder.store
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._writer.close()

    def write(self, topic: str, msgtype: str, data: Any, log_ns: int) -> None:
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self.store)
            self._connections[topic] = conn
        elif conn.msgtype != msgtype:
            raise ValueError(f"topic {topic} was written as {conn.msgtype}, now {msgtype}")
        msg = self.builder.build(msgtype, data)
        self._writer.write(conn, int(log_ns), self.store.serialize_cdr(msg, msgtype))
        self.counts[topic] = self.counts.get(topic, 0) + 1


@dataclass
class FrameData:
    """One RGB-D frame for :func:`write_frames_bag`: rgb (H, W, 3) uint8; depth (H, W) uint16
    millimetres (16UC1) or float32 metres (32FC1), or None; K (3, 3) or None."""

    rgb: np.ndarray
    stamp_ns: int
    depth: np.ndarray | None = None
    K: np.ndarray | None = None
    frame_id: str = "camera_optical_frame"
    boxes: np.ndarray | None = None  # (N, 4) xyxy -> a RegionArray on the proposals topic
    scores: np.ndarray | None = None  # (N,)


def write_frames_bag(path: str | Path, frames: Iterable[FrameData], storage: str = "mcap",
                     namespace: str = "/camera", compressed: str = "") -> dict[str, int]:
    """Write frames as ``{namespace}/image`` (rgb8; or ``image/compressed`` with
    ``compressed`` = 'jpeg' | 'png'), ``depth``, ``camera_info`` and, when boxes are given,
    ``proposals``. Log time = stamp. Returns messages written per topic."""
    ns = namespace.rstrip("/")
    with BagWriter(path, storage) as w:
        for f in frames:
            hdr = header(f.stamp_ns, f.frame_id)
            if compressed:
                fields = msgs.numpy_to_compressed_fields(f.rgb, "rgb8", compressed)
                w.write(f"{ns}/image/compressed", "sensor_msgs/msg/CompressedImage",
                        {"header": hdr, **fields.as_dict()}, f.stamp_ns)
            else:
                w.write(f"{ns}/image", "sensor_msgs/msg/Image",
                        {"header": hdr, **msgs.numpy_to_image_fields(f.rgb, "rgb8").as_dict()},
                        f.stamp_ns)
            if f.depth is not None:
                enc = "16UC1" if f.depth.dtype == np.uint16 else "32FC1"
                w.write(f"{ns}/depth", "sensor_msgs/msg/Image",
                        {"header": hdr, **msgs.numpy_to_image_fields(f.depth, enc).as_dict()},
                        f.stamp_ns)
            if f.K is not None:
                H, W = f.rgb.shape[:2]
                info = msgs.fill_camera_info(w.builder.build("sensor_msgs/msg/CameraInfo",
                                                             {"header": hdr}), f.K, W, H)
                w.write(f"{ns}/camera_info", "sensor_msgs/msg/CameraInfo", info, f.stamp_ns)
            if f.boxes is not None:
                scores = f.scores if f.scores is not None else np.ones(len(f.boxes))
                regions = [{"index": i, "bbox": bbox(b), "proposal_score": float(s)}
                           for i, (b, s) in enumerate(zip(f.boxes, scores))]
                w.write(f"{ns}/proposals", "fo1_ros/msg/RegionArray",
                        {"header": hdr, "regions": regions}, f.stamp_ns)
        return dict(w.counts)
