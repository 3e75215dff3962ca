"""Input synchronisation: approximate-time matching of an image with its depth, camera_info
and external proposals (``ApproxTimeSync``), and the one-frame slot between the input
callbacks and the worker (``FrameSlot``: the latest frame wins).

Messages are held as they came (rclpy or rosbags objects, duck-typed: only their header stamp
was read, by the caller); nothing here decodes them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FrameSet:
    """An image with the depth, camera_info and proposals matched to it (or None).

    The messages are rclpy or rosbags objects (duck-typed, hence ``Any``): ``image`` a
    sensor_msgs/Image or CompressedImage, ``depth`` an Image or CompressedImage,
    ``camera_info`` a CameraInfo, ``proposals`` a fo1_ros/RegionArray."""

    image: Any
    stamp_ns: int  # the image header stamp
    depth: Any = None
    camera_info: Any = None
    proposals: Any = None
    notes: list[str] = field(default_factory=list)  # why a stream is missing


@dataclass
class _Pending:
    """A buffered message (any input type) with its stamp and arrival time."""

    msg: Any
    stamp_ns: int
    received_ns: int


class ApproxTimeSync:
    """Bounded approximate-time matching of image with depth, camera_info and proposals.

    (``message_filters`` is not on PyPI; this is a simpler policy suited to "latest frame
    wins".) Each image waits, at most ``wait_ns``, for the message of every *live* stream
    whose stamp is nearest to it within ``slop_ns``. A stream is live when a message of it
    arrived within the last ``stream_timeout_ns``; a stream that has never spoken or has gone
    quiet is not waited for. A wait ends early once a stream has delivered a stamp later than
    ``image + slop`` without a match (in-order streams cannot match any more). camera_info
    never blocks a frame for long: without a match the last one received is used (intrinsics
    rarely change; a latched camera_info is the common case). External proposals are
    required when ``need_proposals``: an image without them is dropped and counted.

    When an image is emitted, older pending images are dropped (counted in
    ``stats["dropped_superseded"]``): the newest complete frame wins. Every buffer holds at
    most ``queue_size`` messages; overflow drops the oldest (``stats["dropped_overflow"]``).
    Times are integer nanoseconds; ``now_ns`` is wall/monotonic time live, log time in bags.
    """

    STREAMS = ("depth", "camera_info", "proposals")

    def __init__(self, slop_ns: int, queue_size: int, wait_ns: int,
                 stream_timeout_ns: int | None = None, need_proposals: bool = False):
        self.slop_ns, self.wait_ns = int(slop_ns), int(wait_ns)
        self.stream_timeout_ns = int(stream_timeout_ns if stream_timeout_ns is not None
                                     else max(4 * wait_ns, 2_000_000_000))
        self.need_proposals = need_proposals
        self.images: deque[_Pending] = deque()
        self.buffers: dict[str, deque[_Pending]] = {s: deque() for s in self.STREAMS}
        self.last_received: dict[str, int | None] = {s: None for s in self.STREAMS}
        self.last_info: Any = None  # the last camera_info message received
        self.queue_size = int(queue_size)
        self.stats = {"dropped_superseded": 0, "dropped_overflow": 0, "dropped_no_proposals": 0,
                      "unmatched_depth": 0, "camera_info_fallback": 0}

    def _push(self, buf: deque[_Pending], item: _Pending) -> None:
        buf.append(item)
        while len(buf) > self.queue_size:
            buf.popleft()
            self.stats["dropped_overflow"] += 1

    def add_image(self, msg: Any, stamp_ns: int, now_ns: int) -> list[FrameSet]:
        self._push(self.images, _Pending(msg, stamp_ns, now_ns))
        return self.poll(now_ns)

    def add(self, stream: str, msg: Any, stamp_ns: int, now_ns: int) -> list[FrameSet]:
        if stream not in self.buffers:
            raise ValueError(f"unknown stream {stream!r}; expected one of {self.STREAMS}")
        self._push(self.buffers[stream], _Pending(msg, stamp_ns, now_ns))
        self.last_received[stream] = now_ns
        if stream == "camera_info":
            self.last_info = msg
        return self.poll(now_ns)

    def _live(self, stream: str, now_ns: int) -> bool:
        last = self.last_received[stream]
        if stream == "proposals" and self.need_proposals:
            return True  # always waited for
        return last is not None and now_ns - last <= self.stream_timeout_ns

    def _match(self, stream: str, stamp_ns: int) -> _Pending | None:
        best = None
        for item in self.buffers[stream]:
            d = abs(item.stamp_ns - stamp_ns)
            if d <= self.slop_ns and (best is None or d < abs(best.stamp_ns - stamp_ns)):
                best = item
        return best

    def _state(self, img: _Pending, now_ns: int,
               flush: bool) -> tuple[bool, dict[str, _Pending | None]]:
        """(ready, matches) for one pending image."""
        matches: dict[str, _Pending | None] = {}
        ready = True
        expired = flush or now_ns - img.received_ns >= self.wait_ns
        for stream in self.STREAMS:
            m = self._match(stream, img.stamp_ns)
            matches[stream] = m
            if m is not None or not self._live(stream, now_ns):
                continue
            later = any(p.stamp_ns > img.stamp_ns + self.slop_ns for p in self.buffers[stream])
            if stream == "camera_info" and self.last_info is not None:
                # never hold a frame for intrinsics we already have, beyond the wait
                if not (expired or later):
                    ready = False
                continue
            if not (expired or later):
                ready = False
        return ready, matches

    def poll(self, now_ns: int, flush: bool = False) -> list[FrameSet]:
        """Emit the newest ready image (older pending ones are superseded); with ``flush``,
        emit every pending image in order (the end of a bag)."""
        out: list[FrameSet] = []
        if flush:
            while self.images:
                img = self.images.popleft()
                out += self._emit(img, self._state(img, now_ns, True)[1], now_ns)
            return out
        for k in range(len(self.images) - 1, -1, -1):
            img = self.images[k]
            ready, matches = self._state(img, now_ns, False)
            if ready:
                for _ in range(k):
                    self.images.popleft()
                    self.stats["dropped_superseded"] += 1
                self.images.popleft()
                out += self._emit(img, matches, now_ns)
                break
        return out

    def _emit(self, img: _Pending, matches: dict[str, _Pending | None], now_ns: int) -> list[FrameSet]:
        fs = FrameSet(img.msg, img.stamp_ns)
        if matches["depth"] is not None:
            fs.depth = matches["depth"].msg
        elif self.last_received["depth"] is not None:
            self.stats["unmatched_depth"] += 1
            fs.notes.append(f"no depth within {self.slop_ns / 1e9:.3f} s of the image stamp")
        if matches["camera_info"] is not None:
            fs.camera_info = matches["camera_info"].msg
        elif self.last_info is not None:
            fs.camera_info = self.last_info
            self.stats["camera_info_fallback"] += 1
        if matches["proposals"] is not None:
            fs.proposals = matches["proposals"].msg
        elif self.need_proposals:
            self.stats["dropped_no_proposals"] += 1
            return []
        # messages at or before this frame cannot match a later image better than this one
        horizon = img.stamp_ns - self.slop_ns
        for buf in self.buffers.values():
            while buf and buf[0].stamp_ns < horizon:
                buf.popleft()
        return [fs]


class FrameSlot:
    """One slot between the input callbacks and the worker: a new frame replaces an
    unprocessed one (the replaced frame is counted in ``dropped``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: FrameSet | None = None
        self.dropped = 0

    def put(self, item: FrameSet) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def take(self, timeout_s: float | None = 0.0) -> FrameSet | None:
        with self._cond:
            if self._item is None and timeout_s:
                self._cond.wait(timeout_s)
            item, self._item = self._item, None
            return item

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
