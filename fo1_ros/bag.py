"""ROS 2 bags in and out (rosbags; no ROS installation needed), driving the node logic.

- :func:`process_bag`: read a rosbag2 recording (sqlite3 or mcap) with rosbags, feed its
  image / depth / camera_info / proposals / queries messages, in log-time order, through the
  same :class:`fo1_ros.node.PerceptionNode` the live node uses, and write every output topic
  into a new bag whose message definitions are embedded (Foxglove opens it, ``ros2 bag play``
  plays it). Returns a :class:`BagReport` (counts per query, per-stage timing, drops and
  errors) and writes ``report.json``, ``report.md`` and ``contact_sheet.png`` beside the bag.
- :class:`BagWriter`: write plain-data messages (dicts of fields, see ``fo1_ros.node``) or
  rosbags message objects to a new bag, with our types registered.
- :func:`write_frames_bag`: an RGB-D sequence (numpy arrays) as image, depth and camera_info
  topics, e.g. for the demo and tests.
- :class:`RosbagsBuilder`: plain data -> rosbags message objects, for any type in the store.

Bags are rosbag2 folders (``metadata.yaml`` + ``*.db3`` or ``*.mcap``); a path to a file
inside such a folder is taken as its folder.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import draw, msgs
from .node import OUTPUT_TOPICS, NodeConfig, Output, PerceptionNode, header

logger = logging.getLogger(__name__)

STORAGES = ("mcap", "sqlite3")
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
OUTPUT_BAG_NAME = "fo1_output"


# --------------------------------------------------------------------------------------------
# Plain data -> rosbags messages
# --------------------------------------------------------------------------------------------

_DTYPES = {"bool": np.bool_, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8,
           "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
           "int64": np.int64, "uint64": np.uint64, "float32": np.float32, "float64": np.float64}


class RosbagsBuilder:
    """Build rosbags message objects from plain data (missing fields take ROS defaults).

    ``build("fo1_ros/msg/RegionArray", {"header": {...}, "regions": [{...}]})``. Unknown
    field names are errors (they would be silently lost otherwise)."""

    def __init__(self, store: Any = None):
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
        from rosbags.interfaces import Nodetype

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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class BagWriter:
    """A new rosbag2 folder (``storage`` 'mcap' or 'sqlite3') with every fo1_ros type known.

    Use as a context manager; ``write(topic, msgtype, data, log_ns)`` takes plain data or a
    rosbags message. Message definitions are embedded for every connection."""

    def __init__(self, path: str | Path, storage: str = "mcap", store: Any = None):
        from rosbags.rosbag2 import StoragePlugin, Writer

        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists; rosbag2 writers need a new folder")
        self.builder = RosbagsBuilder(store)
        self.store = self.builder.store
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._connections: dict[str, Any] = {}
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
                from .node import bbox

                scores = f.scores if f.scores is not None else np.ones(len(f.boxes))
                regions = [{"index": i, "bbox": bbox(b), "proposal_score": float(s)}
                           for i, (b, s) in enumerate(zip(f.boxes, scores))]
                w.write(f"{ns}/proposals", "fo1_ros/msg/RegionArray",
                        {"header": hdr, "regions": regions}, f.stamp_ns)
        return dict(w.counts)


# --------------------------------------------------------------------------------------------
# Reading and processing
# --------------------------------------------------------------------------------------------


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


@dataclass
class BagReport:
    """What process_bag did and found."""

    input: str
    output: str
    topics: dict[str, str]
    frames_in: int = 0
    frames_processed: int = 0
    wall_s: float = 0.0
    counts: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> summary
    detections: dict[str, int] = field(default_factory=dict)  # label -> regions retrieved
    timing_s: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> mean/p50/p95
    written: dict[str, int] = field(default_factory=dict)  # output topic -> messages
    stats: dict[str, Any] = field(default_factory=dict)  # node counters (drops, errors)
    captions: list[dict] = field(default_factory=list)  # a few, for the report
    queries: list[str] = field(default_factory=list)
    contact_sheet: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self) -> str:
        lines = ["# fo1_ros bag report", "", f"- input: `{self.input}`", f"- output: `{self.output}`",
                 f"- frames: {self.frames_processed} processed of {self.frames_in} images "
                 f"in {self.wall_s:.1f} s", f"- queries: {', '.join(self.queries) or '(none)'}", ""]
        if self.counts:
            lines += ["## Counts per query", "", "| query | frames | mean | min | max | regions |",
                      "|---|---|---|---|---|---|"]
            for label, c in self.counts.items():
                lines.append(f"| {label} | {c['frames']:.0f} | {c['mean']:.2f} | {c['min']:.0f} | "
                             f"{c['max']:.0f} | {self.detections.get(label, 0)} |")
            lines.append("")
        if self.timing_s:
            lines += ["## Timing per frame (s)", "", "| stage | mean | p50 | p95 |", "|---|---|---|---|"]
            for stage, t in self.timing_s.items():
                lines.append(f"| {stage} | {t['mean']:.3f} | {t['p50']:.3f} | {t['p95']:.3f} |")
            lines.append("")
        if self.captions:
            lines += ["## Captions (sample)", ""]
            lines += [f"- t={c['stamp_s']:.2f} s region {c['region_index']}: {c['text']}"
                      for c in self.captions]
            lines.append("")
        problems = {k: v for k, v in self.stats.items()
                    if isinstance(v, int) and v and (k.startswith(("bad_", "dropped", "frames_failed",
                                                                  "depth_size", "proposals_capped",
                                                                  "unmatched")))}
        lines += ["## Drops and input errors", ""]
        lines += [f"- {k}: {v}" for k, v in problems.items()] or ["- none"]
        lines += ["", "## Output topics", ""] + [f"- {t}: {n}" for t, n in self.written.items()]
        if self.contact_sheet:
            lines += ["", f"![contact sheet]({Path(self.contact_sheet).name})"]
        return "\n".join(lines) + "\n"


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, every 10 % else)."""

    def __init__(self, total: int, enabled: bool = True, width: int = 30):
        self.total, self.enabled, self.width = max(total, 1), enabled, width
        self.start = time.monotonic()
        self.tty = enabled and sys.stderr.isatty()
        self._last_decile = -1

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        elapsed = time.monotonic() - self.start
        rate = f"{elapsed / done:.2f} s/frame" if done else ""
        bar = "#" * int(frac * self.width) + "." * (self.width - int(frac * self.width))
        line = f"[{bar}] {done}/{self.total} {rate} {note}".rstrip()
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
            sys.stderr.flush()
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


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


def _summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95))}


FrameCallback = Callable[[int, dict[str, Any]], None]


def process_bag(input_path: str | Path, out_dir: str | Path, config: NodeConfig | None = None, *,
                engine: Any = None, topics: BagTopics | None = None, storage: str = "mcap",
                namespace: str = "/fo1", max_frames: int | None = None, progress: bool = True,
                sheet_frames: int = 12, on_frame: FrameCallback | None = None,
                node: PerceptionNode | None = None) -> BagReport:
    """Run the node logic over a bag; write the output bag and the report into ``out_dir``.

    Args:
        input_path: a rosbag2 folder (sqlite3 or mcap).
        out_dir: created if missing; receives ``fo1_output/`` (the bag), ``report.json``,
            ``report.md`` and ``contact_sheet.png``. ``fo1_output`` must not exist yet.
        config: node parameters (queries, thresholds, ...); default ``NodeConfig()``.
        engine: an Engine to use instead of building one from ``config``.
        topics: input topic names; default: found by type and name.
        namespace: output topics are ``{namespace}/{name}`` (e.g. /fo1/detections).
        max_frames: stop after this many images.
        on_frame: called with (frame number, summary dict) after each processed frame (the
            demo prints from it); the summary has stamp_s, detections, counts, captions, timing.
        node: a PerceptionNode to drive (its config wins over ``config``), so the caller can
            ask it questions about the last frame afterwards.

    Every frame is processed (offline: nothing is dropped for being busy); bad messages are
    counted in ``report.stats`` and never stop the run.
    """
    from rosbags.highlevel import AnyReader

    config = config or NodeConfig()
    folder = bag_folder(input_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_bag = out_dir / OUTPUT_BAG_NAME
    if node is None:
        node = PerceptionNode(config, engine=engine)
    config = node.config
    node.load_engine()
    store = msgs.typestore()
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    t_start = time.perf_counter()
    timings: dict[str, list[float]] = {}
    per_label: dict[str, list[int]] = {}
    retrieved: dict[str, int] = {}
    captions: list[dict] = []
    sheet: list[tuple[int, np.ndarray, str]] = []
    frames_done = 0

    with AnyReader([folder], default_typestore=store) as reader:
        found = (topics or BagTopics()).resolve(reader.connections)
        wanted = {t: name for name, t in asdict(found).items() if t}
        conns = [c for c in reader.connections if c.topic in wanted]
        n_images = sum(c.msgcount for c in conns if c.topic == found.image)
        total = min(n_images, max_frames) if max_frames else n_images
        pick = set(np.linspace(0, max(total - 1, 0), min(sheet_frames, total)).round().astype(int)
                   .tolist()) if total else set()
        bar = Progress(total, progress)
        images_seen = 0
        report = BagReport(str(folder), str(out_bag), {k: v for k, v in asdict(found).items() if v})
        with BagWriter(out_bag, storage, store) as writer:
            for stream in ("depth", "camera_info"):
                if getattr(found, stream):  # the bag has it: wait for it from the first image on
                    node.sync.last_received[stream] = int(reader.start_time)

            def emit(outputs: list[Output], log_ns: int) -> None:
                nonlocal frames_done
                summary: dict[str, Any] | None = None
                for o in outputs:
                    writer.write(f"{ns}/{o.topic}", o.msgtype, o.data, log_ns)
                    if o.topic == "detections":
                        summary = _frame_summary(o.data)
                        for r in o.data["regions"]:
                            if r["label"]:
                                retrieved[r["label"]] = retrieved.get(r["label"], 0) + 1
                    elif o.topic == "counts":
                        for c in o.data["counts"]:
                            per_label.setdefault(c["label"], []).append(int(c["count"]))
                    elif o.topic == "descriptions":
                        stamp = msgs.stamp_to_ns(_Obj(o.data["header"]["stamp"])) / 1e9
                        for d in o.data["descriptions"]:
                            if len(captions) < 10:
                                captions.append({"stamp_s": stamp, "region_index": d["region_index"],
                                                 "text": d["text"]})
                if summary is not None:
                    frame_no = frames_done
                    frames_done += 1
                    for key, value in node.timing.items():
                        timings.setdefault(key, []).append(float(value))
                    summary["counts"] = {c["label"]: c["count"] for o in outputs if o.topic == "counts"
                                         for c in o.data["counts"]}
                    summary["captions"] = [d for o in outputs if o.topic == "descriptions"
                                           for d in o.data["descriptions"]]
                    summary["timing_s"] = dict(node.timing)
                    if frame_no in pick:
                        image = next((o.data for o in outputs if o.topic == "annotated_image"), None)
                        if image is not None:
                            arr = msgs.image_to_numpy(_Obj(image))
                            sheet.append((frame_no, arr.copy(), f"#{frame_no} t={summary['stamp_s']:.2f}s"))
                    if on_frame is not None:
                        on_frame(frame_no, summary)
                    bar.update(frames_done)

            def drain(log_ns: int) -> None:
                node.poll(log_ns)
                while True:
                    fs = node.slot.take(0)
                    if fs is None:
                        break
                    emit(node.process(fs) + node.caption_step(), log_ns)

            last_log = 0
            for conn, log_ns, raw in reader.messages(connections=conns):
                kind = wanted[conn.topic]
                if kind == "image" and max_frames and images_seen >= max_frames:
                    break
                last_log = log_ns
                try:
                    msg = reader.deserialize(raw, conn.msgtype)
                except Exception as e:  # noqa: BLE001 - a corrupt message is counted, not fatal
                    node.counters["bad_" + ("image" if kind == "image" else
                                            "depth" if kind == "depth" else "proposals")] += 1
                    node.warn("deserialize", f"cannot decode a {conn.msgtype} on {conn.topic}: {e}")
                    continue
                if kind == "image":
                    images_seen += 1
                    node.on_image(msg, log_ns)
                elif kind == "depth":
                    node.on_depth(msg, log_ns)
                elif kind == "camera_info":
                    node.on_camera_info(msg, log_ns)
                elif kind == "proposals":
                    node.on_proposals(msg, log_ns)
                elif kind == "queries":
                    answer = node.on_queries(msg.data)
                    if not answer["success"]:
                        node.warn("queries", answer["message"])
                drain(log_ns)
            for fs in node.flush(last_log + 10**12):
                emit(node.process(fs) + node.caption_step(), last_log)
            drain(last_log + 10**12)
            writer.write(f"{ns}/status", OUTPUT_TOPICS["status"], node.status_output().data, last_log)
            bar.close()
            report.written = dict(writer.counts)

    report.frames_in = images_seen
    report.frames_processed = frames_done
    report.wall_s = time.perf_counter() - t_start
    report.queries = list(node.queries)
    report.counts = {label: {"frames": float(len(v)), "mean": float(np.mean(v)), "min": float(min(v)),
                             "max": float(max(v)), "last": float(v[-1])}
                     for label, v in per_label.items() if v}
    report.detections = retrieved
    report.timing_s = {k: _summary(v) for k, v in timings.items() if v}
    report.stats = node.stats()
    report.captions = captions
    if sheet:
        import cv2

        image = draw.contact_sheet([s[1] for s in sheet], [s[2] for s in sheet])
        path = out_dir / "contact_sheet.png"
        cv2.imwrite(str(path), image[:, :, ::-1])
        report.contact_sheet = str(path)
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=_json))
    (out_dir / "report.md").write_text(report.to_markdown())
    return report


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class _Obj:
    """Attribute access over a plain-data dict (to reuse the msgs decoders on our outputs)."""

    def __init__(self, data: dict):
        self.__dict__.update({k: _Obj(v) if isinstance(v, dict) else v for k, v in data.items()})


def _frame_summary(data: dict) -> dict[str, Any]:
    stamp = data["header"]["stamp"]
    dets = []
    for r in data["regions"]:
        if not r["label"]:
            continue
        b = r["bbox"]
        det = {"label": r["label"], "score": round(r["score"], 3), "region": r["index"],
               "box": [round(b["center_x"] - b["size_x"] / 2, 1), round(b["center_y"] - b["size_y"] / 2, 1),
                       round(b["center_x"] + b["size_x"] / 2, 1), round(b["center_y"] + b["size_y"] / 2, 1)]}
        if r["has_3d"]:
            c = r["center_3d"]
            det["center_3d"] = [round(c["x"], 3), round(c["y"], 3), round(c["z"], 3)]
        dets.append(det)
    return {"stamp_s": stamp["sec"] + stamp["nanosec"] / 1e9, "detections": dets,
            "regions": len(data["regions"]), "frame_3d": data["frame_3d"]}


def read_topic(path: str | Path, topic: str) -> list[tuple[int, Any]]:
    """Every message of one topic of a bag as (log time ns, rosbags message), in order."""
    from rosbags.highlevel import AnyReader

    with AnyReader([bag_folder(path)], default_typestore=msgs.typestore()) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        if not conns:
            raise ValueError(f"no topic {topic!r} in {path}; topics: "
                             f"{sorted({c.topic for c in reader.connections})}")
        return [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages(conns)]


__all__ = ["BagReport", "BagTopics", "BagWriter", "FrameData", "Progress", "RosbagsBuilder",
           "STORAGES", "bag_folder", "process_bag", "read_topic", "write_frames_bag"]
