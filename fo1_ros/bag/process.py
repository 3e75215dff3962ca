"""Running the node logic over a bag: :func:`process_bag` feeds a recording's image / depth /
camera_info / proposals / queries messages, in log-time order, through the same
:class:`fo1_ros.node.PerceptionNode` the live node uses, writes every output topic into a new
bag and reports what it found (``report.json``, ``report.md``, ``contact_sheet.png``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection

from .. import msgs
from ..engine import Engine
from ..node import OUTPUT_TOPICS, NodeConfig, Output, PerceptionNode
from .reader import BagTopics, bag_folder
from .report import BagReport, Progress, summary, write_report
from .writer import BagWriter

OUTPUT_BAG_NAME = "fo1_output"
END_NS = 10**12  # past every wait of the sync: "the bag has ended"

#: ``on_frame(frame number, summary)``: summary has stamp_s, detections, counts, captions, timing.
FrameCallback = Callable[[int, dict[str, Any]], None]


def process_bag(input_path: str | Path, out_dir: str | Path, config: NodeConfig | None = None, *,
                engine: Engine | None = None, topics: BagTopics | None = None, storage: str = "mcap",
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
    folder = bag_folder(input_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_bag = out_dir / OUTPUT_BAG_NAME
    if node is None:
        node = PerceptionNode(config or NodeConfig(), engine=engine)
    node.load_engine()
    store = msgs.typestore()
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    t_start = time.perf_counter()
    with AnyReader([folder], default_typestore=store) as reader:
        found = (topics or BagTopics()).resolve(reader.connections)
        wanted = {t: name for name, t in asdict(found).items() if t}
        conns = [c for c in reader.connections if c.topic in wanted]
        n_images = sum(c.msgcount for c in conns if c.topic == found.image)
        total = min(n_images, max_frames) if max_frames else n_images
        report = BagReport(str(folder), str(out_bag), {k: v for k, v in asdict(found).items() if v})
        with BagWriter(out_bag, storage, store) as writer:
            for stream in ("depth", "camera_info"):
                if getattr(found, stream):  # the bag has it: wait for it from the first image on
                    node.sync.last_received[stream] = int(reader.start_time)
            run = _Run(node, writer, ns, total, sheet_frames, on_frame, progress)
            last_log = _feed(reader, conns, wanted, run, max_frames)
            run.finish(last_log)
            report.written = dict(writer.counts)
    report.wall_s = time.perf_counter() - t_start
    run.fill(report)
    write_report(report, out_dir, [(image, title) for _, image, title in run.sheet])
    return report


def _feed(reader: AnyReader, conns: list[Connection], wanted: dict[str, str], run: _Run,
          max_frames: int | None) -> int:
    """Every wanted message, in log-time order, into the run; returns the last log time."""
    last_log = 0
    node = run.node
    for conn, log_ns, raw in reader.messages(connections=conns):
        kind = wanted[conn.topic]
        if kind == "image" and max_frames and run.images_seen >= max_frames:
            break
        last_log = log_ns
        try:
            msg = reader.deserialize(raw, conn.msgtype)
        except Exception as e:  # noqa: BLE001 - a corrupt message is counted, not fatal
            node.status.count("bad_" + ("image" if kind == "image" else
                                        "depth" if kind == "depth" else "proposals"))
            node.warn("deserialize", f"cannot decode a {conn.msgtype} on {conn.topic}: {e}")
            continue
        run.feed(kind, msg, log_ns)
    return last_log


class _Run:
    """One pass over a bag: inputs into the node, its outputs into the writer, and what the
    report shows gathered on the way."""

    def __init__(self, node: PerceptionNode, writer: BagWriter, ns: str, total: int,
                 sheet_frames: int, on_frame: FrameCallback | None, progress: bool):
        self.node, self.writer, self.ns, self.on_frame = node, writer, ns, on_frame
        self.images_seen = self.frames_done = 0
        self.timings: dict[str, list[float]] = {}  # stage -> seconds per frame
        self.per_label: dict[str, list[int]] = {}  # query -> count per frame
        self.retrieved: dict[str, int] = {}  # label -> regions retrieved
        self.captions: list[dict] = []  # the first few
        self.sheet: list[tuple[int, np.ndarray, str]] = []  # (frame, annotated image, title)
        self.pick = set(np.linspace(0, max(total - 1, 0), min(sheet_frames, total)).round().astype(int)
                        .tolist()) if total else set()
        self.bar = Progress(total, progress)

    def feed(self, kind: str, msg: Any, log_ns: int) -> None:
        """One input message (a rosbags object) of stream ``kind``, then whatever it completed."""
        node = self.node
        if kind == "image":
            self.images_seen += 1
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
        self.drain(log_ns)

    def drain(self, log_ns: int) -> None:
        """Process every frame the sync has released."""
        self.node.poll(log_ns)
        while True:
            fs = self.node.slot.take(0)
            if fs is None:
                break
            self.emit(self.node.process(fs) + self.node.caption_step(), log_ns)

    def finish(self, last_log: int) -> None:
        """The end of the bag: every pending image, then the status."""
        node = self.node
        for fs in node.flush(last_log + END_NS):
            self.emit(node.process(fs) + node.caption_step(), last_log)
        self.drain(last_log + END_NS)
        self.writer.write(f"{self.ns}/status", OUTPUT_TOPICS["status"], node.status_output().data,
                          last_log)
        self.bar.close()

    def emit(self, outputs: list[Output], log_ns: int) -> None:
        """Write the outputs of one step; gather the report's numbers from them."""
        summary_: dict[str, Any] | None = None
        for o in outputs:
            self.writer.write(f"{self.ns}/{o.topic}", o.msgtype, o.data, log_ns)
            if o.topic == "detections":
                summary_ = _frame_summary(o.data)
                for r in o.data["regions"]:
                    if r["label"]:
                        self.retrieved[r["label"]] = self.retrieved.get(r["label"], 0) + 1
            elif o.topic == "counts":
                for c in o.data["counts"]:
                    self.per_label.setdefault(c["label"], []).append(int(c["count"]))
            elif o.topic == "descriptions":
                stamp = msgs.stamp_to_ns(_Obj(o.data["header"]["stamp"])) / 1e9
                for d in o.data["descriptions"]:
                    if len(self.captions) < 10:
                        self.captions.append({"stamp_s": stamp, "region_index": d["region_index"],
                                              "text": d["text"]})
        if summary_ is not None:
            self._frame_done(summary_, outputs)

    def _frame_done(self, summary_: dict[str, Any], outputs: list[Output]) -> None:
        frame_no = self.frames_done
        self.frames_done += 1
        timing = self.node.status.timing
        for key, value in timing.items():
            self.timings.setdefault(key, []).append(float(value))
        summary_["counts"] = {c["label"]: c["count"] for o in outputs if o.topic == "counts"
                              for c in o.data["counts"]}
        summary_["captions"] = [d for o in outputs if o.topic == "descriptions"
                                for d in o.data["descriptions"]]
        summary_["timing_s"] = dict(timing)
        if frame_no in self.pick:
            image = next((o.data for o in outputs if o.topic == "annotated_image"), None)
            if image is not None:
                arr = msgs.image_to_numpy(_Obj(image))
                self.sheet.append((frame_no, arr.copy(), f"#{frame_no} t={summary_['stamp_s']:.2f}s"))
        if self.on_frame is not None:
            self.on_frame(frame_no, summary_)
        self.bar.update(self.frames_done)

    def fill(self, report: BagReport) -> None:
        """The report's numbers (after the run)."""
        report.frames_in = self.images_seen
        report.frames_processed = self.frames_done
        report.queries = list(self.node.queries)
        report.counts = {label: {"frames": float(len(v)), "mean": float(np.mean(v)),
                                 "min": float(min(v)), "max": float(max(v)), "last": float(v[-1])}
                         for label, v in self.per_label.items() if v}
        report.detections = self.retrieved
        report.timing_s = {k: summary(v) for k, v in self.timings.items() if v}
        report.stats = self.node.stats()
        report.captions = self.captions


class _Obj:
    """Attribute access over a plain-data dict (to reuse the msgs decoders on our outputs)."""

    def __init__(self, data: dict):
        self.__dict__.update({k: _Obj(v) if isinstance(v, dict) else v for k, v in data.items()})


def _frame_summary(data: dict) -> dict[str, Any]:
    """The on_frame summary of one detections message (RegionArray plain data)."""
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
