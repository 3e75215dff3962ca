"""Reading ROS 2 bags with rosbags: where a bag is (:func:`bag_folder`), which of its topics
are the node's inputs (:class:`BagTopics`, found by type and name or given), and every message
of one topic (:func:`read_topic`).

Bags are rosbag2 folders (``metadata.yaml`` + ``*.db3`` or ``*.mcap``); a path to a file
inside such a folder is taken as its folder. Connections and messages are rosbags objects
(duck-typed, hence ``Any``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rosbags.highlevel import AnyReader

from .. import msgs

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def bag_folder(path: str | Path) -> Path:
    """The rosbag2 folder of ``path`` (the folder itself, or the folder of a file in it)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no bag at {p}")
    if p.is_file():
        if (p.parent / "metadata.yaml").is_file():
            return p.parent
        raise ValueError(f"{p} is a file without a metadata.yaml beside it: pass a rosbag2 "
                         "folder (metadata.yaml + .db3 / .mcap)")
    if not (p / "metadata.yaml").is_file():
        raise ValueError(f"{p} has no metadata.yaml: not a rosbag2 folder")
    return p


@dataclass
class BagTopics:
    """Input topics of a bag ('' = find by type and name: 'depth' in the name = depth)."""

    image: str = ""
    depth: str = ""
    camera_info: str = ""
    proposals: str = ""
    queries: str = ""

    def resolve(self, connections: Sequence[Any]) -> BagTopics:
        by_type: dict[str, list[str]] = {}
        for c in connections:
            by_type.setdefault(c.msgtype, [])
            if c.topic not in by_type[c.msgtype]:
                by_type[c.msgtype].append(c.topic)
        images = [t for mt in IMAGE_TYPES for t in by_type.get(mt, [])]
        infos = by_type.get("sensor_msgs/msg/CameraInfo", [])
        out = BagTopics(**asdict(self))
        if not out.image:
            colour = [t for t in images if "depth" not in t.lower()]
            out.image = colour[0] if colour else ""
        if not out.depth:
            depth = [t for t in by_type.get("sensor_msgs/msg/Image", []) +
                     by_type.get("sensor_msgs/msg/CompressedImage", [])
                     if "depth" in t.lower() and t != out.image]
            out.depth = depth[0] if depth else ""
        if not out.camera_info:
            colour = [t for t in infos if "depth" not in t.lower()]
            out.camera_info = (colour or infos or [""])[0]
        if not out.proposals:
            out.proposals = next(iter(by_type.get("fo1_ros/msg/RegionArray", [])), "")
        if not out.queries:
            out.queries = next((t for t in by_type.get("std_msgs/msg/String", [])
                                if t.rstrip("/").endswith("queries")), "")
        known = {c.topic for c in connections}
        for name, topic in asdict(out).items():
            if topic and topic not in known:
                raise ValueError(f"{name} topic {topic!r} is not in the bag; topics: {sorted(known)}")
        if not out.image:
            raise ValueError("the bag has no sensor_msgs/Image or CompressedImage topic; topics: "
                             + ", ".join(f"{c.topic} ({c.msgtype})" for c in connections))
        return out


def read_topic(path: str | Path, topic: str) -> list[tuple[int, Any]]:
    """Every message of one topic of a bag as (log time ns, rosbags message), in order."""
    with AnyReader([bag_folder(path)], default_typestore=msgs.typestore()) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        if not conns:
            raise ValueError(f"no topic {topic!r} in {path}; topics: "
                             f"{sorted({c.topic for c in reader.connections})}")
        return [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages(conns)]
