"""What the node reports about itself: counters of frames, drops and errors, the last frame's
per-stage timings, per-frame warnings throttled per key, and the ``status`` topic (the stats
as JSON)."""

from __future__ import annotations

import json
import logging
import math
import time

from .outputs import Output
from .topics import OUTPUT_TOPICS

logger = logging.getLogger(__name__)

#: Every counter of the node, in the order the stats show them.
COUNTERS = ("images_received", "frames_processed", "frames_failed",
            "bad_image", "bad_depth", "bad_camera_info", "bad_proposals",
            "depth_size_mismatch", "proposals_capped", "transform_failed",
            "captions", "service_calls", "service_errors", "queries_rejected")


class NodeStatus:
    """Counters, the last frame's timings (seconds per stage) and throttled warnings.

    Not locked itself: the node updates it under its own lock where threads meet."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.timing: dict[str, float] = {}
        self.last_image_ns: int | None = None  # clock time the last image arrived
        self._throttle: dict[str, tuple[float, int]] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def warn(self, key: str, text: str, every_s: float) -> None:
        """Log a per-frame problem at most once per ``every_s`` seconds per key (the
        parameter ``log_throttle_s``), saying how many were suppressed in between."""
        now = time.monotonic()
        last, suppressed = self._throttle.get(key, (-math.inf, 0))
        if now - last >= every_s:
            more = f" ({suppressed} more like this suppressed)" if suppressed else ""
            logger.warning("%s%s", text, more)
            self._throttle[key] = (now, 0)
        else:
            self._throttle[key] = (last, suppressed + 1)

    def stats(self, sync_stats: dict[str, int], dropped_busy: int, queries: list[str],
              active: bool) -> dict:
        """Counters with the sync's drops, the queries in force and the last frame's timings."""
        out: dict = dict(self.counters)
        out.update(sync_stats)
        out["dropped_busy"] = dropped_busy
        out["dropped_total"] = (dropped_busy + sync_stats["dropped_superseded"]
                                + sync_stats["dropped_overflow"] + sync_stats["dropped_no_proposals"])
        out["queries"] = list(queries)
        out["active"] = active
        out["timing_s"] = {k: round(v, 4) for k, v in self.timing.items()}
        return out


def status_output(stats: dict) -> Output:
    """The status topic (std_msgs/String): the stats as JSON."""
    return Output("status", OUTPUT_TOPICS["status"], {"data": json.dumps(stats)})
