"""What a bag run reports: :class:`BagReport` (counts per query, per-stage timing, drops and
errors, output topics; as ``report.json`` and ``report.md``), the contact sheet of annotated
frames (``contact_sheet.png``), and :class:`Progress`, the one-line progress bar on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import draw


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


def summary(values: list[float]) -> dict[str, float]:
    """mean, p50 and p95 of a series."""
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95))}


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_report(report: BagReport, out_dir: Path, sheet: list[tuple[np.ndarray, str]]) -> None:
    """``contact_sheet.png`` (of ``sheet``: annotated (H, W, 3) uint8 RGB frames and their
    captions; none when empty), ``report.json`` and ``report.md`` into ``out_dir``."""
    if sheet:
        image = draw.contact_sheet([s[0] for s in sheet], [s[1] for s in sheet])
        path = out_dir / "contact_sheet.png"
        cv2.imwrite(str(path), image[:, :, ::-1])
        report.contact_sheet = str(path)
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=_json))
    (out_dir / "report.md").write_text(report.to_markdown())
