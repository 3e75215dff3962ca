"""``PerceptionNode``: the node without a transport, wiring its parts together.

Inputs are buffered and matched (``sync``), the worker takes the latest matched frame set,
decodes it (``decode``), runs the continuous work (``continuous``) and returns its outputs
(``outputs``); services (``services``) answer on the latest frame; ``status`` counts what
happened. The rclpy node (``fo1_ros/ros/``) and the bag processor (``fo1_ros/bag/``) drive it
the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import msgs
from ..engine import Engine, Frame
from ..proposals import ProposalSource, make_proposal_source
from ..proposals.base import Proposals
from . import services
from .config import PROPOSAL_EXTERNAL, NodeConfig
from .continuous import CaptionSchedule, caption_round, detect, processed_frame
from .decode import decode_frame, external_proposals
from .outputs import Output, frame_outputs
from .params import clean_queries, parse_query_text
from .regions import ProcessedFrame, Transform
from .status import NodeStatus, status_output
from .sync import ApproxTimeSync, FrameSet, FrameSlot

logger = logging.getLogger(__name__)

MODEL_MAX_REGIONS = 100  # the most regions the FO1 model takes (when no engine is loaded)


class PerceptionNode:
    """The node's logic. Thread-safe: input callbacks may run on any thread; one frame is
    processed at a time (the engine has its own lock).

    Args:
        config: the parameters (the ROS layer replaces it when parameters change).
        engine: an ``Engine`` to use (tests); default one is built by :meth:`load_engine`.
        transform: ``(target_frame, source_frame, stamp_ns) -> (4, 4) target<-source`` or
            raising; used when ``config.target_frame`` is set (the ROS layer wraps tf2).
        vision_msgs: also produce vision_msgs Detection2DArray / Detection3DArray outputs.
        clock_ns: the time base of the sync's waits (monotonic ns by default).
    """

    def __init__(self, config: NodeConfig, engine: Engine | None = None,
                 transform: Transform | None = None, vision_msgs: bool = False,
                 clock_ns: Callable[[], int] = time.monotonic_ns):
        self.config = config
        self.engine = engine
        self.transform = transform
        self.vision_msgs = vision_msgs and config.publish_vision_msgs
        self.clock_ns = clock_ns
        self._lock = threading.RLock()
        self.sync = self._new_sync()
        self.slot = FrameSlot()
        self.status = NodeStatus()
        self.captions = CaptionSchedule()
        self.queries: list[str] = list(config.queries)
        self.latest: ProcessedFrame | None = None

    # ---- life cycle ----------------------------------------------------------------------
    def _new_sync(self) -> ApproxTimeSync:
        c = self.config
        return ApproxTimeSync(int(c.sync_slop_s * 1e9), c.sync_queue_size, int(c.sync_wait_s * 1e9),
                              need_proposals=c.proposal_source == PROPOSAL_EXTERNAL)

    def load_engine(self) -> None:
        """Build the engine (model + proposal source) from the config, unless one was given."""
        if self.engine is not None:
            return
        if self.config.torch_threads > 0:
            torch.set_num_threads(self.config.torch_threads)
        source = None
        if self.config.proposal_source != PROPOSAL_EXTERNAL:
            source = _proposal_source(self.config.proposal_source)
        self.engine = Engine(self.config.engine_config(), proposal_source=source)

    def unload_engine(self) -> None:
        """Drop the engine and the frame state that holds tensors (lifecycle deactivate)."""
        with self._lock:
            engine, self.engine, self.latest = self.engine, None, None
        if engine is not None and engine.device.type == "cuda":
            del engine
            torch.cuda.empty_cache()

    @property
    def ready(self) -> bool:
        return self.engine is not None

    def reset_inputs(self) -> None:
        """Forget buffered inputs (after a reconfigure)."""
        with self._lock:
            self.sync = self._new_sync()
            self.slot.take(0)

    def warn(self, key: str, text: str) -> None:
        """Log a per-frame problem at most once per ``log_throttle_s`` per key."""
        self.status.warn(key, text, self.config.log_throttle_s)

    # ---- inputs (messages are rclpy or rosbags objects, duck-typed) -----------------------
    def on_image(self, msg: Any, now_ns: int | None = None) -> None:
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            self.status.count("images_received")
            self.status.last_image_ns = now
            try:
                stamp = msgs.stamp_to_ns(msg.header.stamp)
            except (AttributeError, TypeError, ValueError) as e:
                self.status.count("bad_image")
                self.warn("bad_image", f"image without a usable header stamp dropped: {e}")
                return
            for fs in self.sync.add_image(msg, stamp, now):
                self.slot.put(fs)

    def _on_stream(self, stream: str, msg: Any, now_ns: int | None) -> None:
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            try:
                stamp = msgs.stamp_to_ns(msg.header.stamp)
            except (AttributeError, TypeError, ValueError) as e:
                key = {"depth": "bad_depth", "camera_info": "bad_camera_info"}.get(stream,
                                                                                   "bad_proposals")
                self.status.count(key)
                self.warn(key, f"{stream} message without a usable header stamp dropped: {e}")
                return
            for fs in self.sync.add(stream, msg, stamp, now):
                self.slot.put(fs)

    def on_depth(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("depth", msg, now_ns)

    def on_camera_info(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("camera_info", msg, now_ns)

    def on_proposals(self, msg: Any, now_ns: int | None = None) -> None:
        self._on_stream("proposals", msg, now_ns)

    def poll(self, now_ns: int | None = None) -> None:
        """Release images whose wait for depth / camera_info has run out (call periodically)."""
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            for fs in self.sync.poll(now):
                self.slot.put(fs)

    def flush(self, now_ns: int | None = None) -> list[FrameSet]:
        """Every still-pending image, in order, with what matches it (the end of a bag)."""
        now = self.clock_ns() if now_ns is None else now_ns
        with self._lock:
            return self.sync.poll(now, flush=True)

    def on_queries(self, text: str) -> dict:
        """The ``queries`` topic (std_msgs/String): comma-separated labels; '' = none."""
        text = str(text)
        limit = (self.config.max_text_chars + 1) * self.config.max_queries
        if len(text) > limit:
            self.status.count("queries_rejected")
            return {"success": False, "message": f"queries not changed: the text is {len(text)} "
                    f"characters long; the limit is {limit}"}
        return self.set_queries(parse_query_text(text))

    def set_queries(self, queries: Sequence[str]) -> dict:
        try:
            cleaned = clean_queries(list(queries), self.config.max_text_chars, self.config.max_queries)
        except ValueError as e:
            self.status.count("queries_rejected")
            return {"success": False, "message": f"queries not changed: {e}"}
        with self._lock:
            self.queries = cleaned
        if not cleaned:
            return {"success": True, "message": "no queries: continuous detection stopped"}
        return {"success": True, "message": f"{len(cleaned)} queries: {', '.join(cleaned)}"}

    # ---- status --------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counters (drops included), the queries in force and the last frame's timings."""
        with self._lock:
            return self.status.stats(self.sync.stats, self.slot.dropped, self.queries, self.ready)

    def status_output(self) -> Output:
        return status_output(self.stats())

    # ---- frames --------------------------------------------------------------------------
    def decode(self, fs: FrameSet) -> tuple[Frame, dict, list[str]]:
        """(engine Frame, header dict, notes): see :func:`fo1_ros.node.decode.decode_frame`."""
        return decode_frame(fs, self.config, self.status)

    def external_proposals(self, msg: Any, image_hw: tuple[int, int]) -> Proposals:
        """Proposals from a RegionArray: filtered like any source, capped to max_regions."""
        limit = self.engine.max_regions if self.engine is not None else MODEL_MAX_REGIONS
        return external_proposals(msg, image_hw, self.config, limit, self.status)

    def step(self, timeout_s: float = 0.0) -> list[Output]:
        """Take the latest frame (if any) and process it, then run captions if due."""
        fs = self.slot.take(timeout_s)
        out = self.process(fs) if fs is not None else []
        return out + self.caption_step()

    def process(self, fs: FrameSet) -> list[Output]:
        """Run the continuous tasks on one frame set; returns the outputs (never raises)."""
        engine = self.engine
        if engine is None:
            return []
        t0 = time.perf_counter()
        try:
            frame, hdr, notes = self.decode(fs)
        except (msgs.MessageConversionError, ValueError) as e:
            self.status.count("bad_image")
            self.warn("bad_image", f"image dropped: {e}")
            return []
        queries = list(self.queries)
        try:
            proposals = (self.external_proposals(fs.proposals, frame.rgb.shape[:2])
                         if fs.proposals is not None else None)
            if not queries:  # nothing to detect: keep the frame for services, encode lazily
                with self._lock:
                    self.latest = ProcessedFrame(hdr, fs.stamp_ns, frame, None, [], "", [], [],
                                                 proposals=proposals)
                return []
            state, result = detect(engine, frame, proposals, queries, self.config.count_mode)
        except Exception as e:  # noqa: BLE001 - a frame never kills the node
            self.status.count("frames_failed")
            self.warn("frame_failed", f"frame {fs.stamp_ns} failed: {type(e).__name__}: {e}")
            logger.debug("frame failure", exc_info=True)
            return []
        processed, hdr_3d = processed_frame(frame, state, result, hdr, notes, queries, self.config,
                                            self.transform, self.status)
        timing = dict(result.timings)
        timing["total"] = time.perf_counter() - t0
        with self._lock:
            self.latest = processed
            self.status.count("frames_processed")
            self.status.timing = timing
        return frame_outputs(processed, hdr_3d, timing["total"], self.config, self.vision_msgs)

    def caption_step(self) -> list[Output]:
        """Caption a few regions of the latest frame when the caption schedule is due.

        Due once per ``1 / caption_rate_hz`` seconds of source (header) time; run after the
        frame's detections are out, so captions never delay them."""
        with self._lock:
            latest, engine = self.latest, self.engine
            if latest is None or engine is None or \
                    not self.captions.due(latest, self.config.caption_rate_hz):
                return []
        return caption_round(engine, latest, self.config, self.status)

    # ---- services ------------------------------------------------------------------------
    def call_service(self, name: str, request: Any) -> dict:
        """Answer one service request (an rclpy or rosbags request object, or a dict).

        Returns the response fields as plain data; never raises."""
        with self._lock:
            latest = self.latest
        ctx = services.ServiceContext(self.engine, self.config, list(self.queries), latest,
                                      self._lock, self.set_queries)
        return services.answer(name, request, ctx, self.status)


def _proposal_source(name: str) -> ProposalSource:
    """The engine's proposal source by name; a clear error when this installation cannot
    build it (ValueError for an unknown name comes from make_proposal_source as it is)."""
    try:
        return make_proposal_source(name)
    except ImportError as e:
        raise RuntimeError(
            f"proposal_source {name!r} cannot be built in this installation ({e}); set "
            f"proposal_source to '{PROPOSAL_EXTERNAL}' and publish boxes on the proposals "
            "topic") from e
