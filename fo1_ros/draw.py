"""What people look at: the annotated image and the RViz markers of one frame.

- :func:`annotate`: boxes, labels with scores, and the counts drawn onto an RGB image
  (OpenCV; labelled regions in a colour per label, unlabelled proposals as thin grey boxes).
- :func:`markers`: ``visualization_msgs/Marker`` fields (plain data) for every labelled region
  with 3-D: a translucent CUBE and a TEXT_VIEW_FACING label above it. The array starts with
  one DELETEALL, so each frame replaces the last one completely in RViz: no stale objects and
  no lifetime-based blinking (a frequent complaint about detection markers).
- :func:`contact_sheet`: a grid of frames (the bag report's PNG).

Regions are ``fo1_ros.node.RegionInfo``-like objects (:class:`Region`: ``index``, ``box``
xyxy, ``label``, ``score``, ``has_3d``, ``center``, ``size``).
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

# visualization_msgs/Marker constants
CUBE, TEXT_VIEW_FACING = 1, 9
ADD, DELETEALL = 0, 3
MARKER_NS = "fo1"
LABEL_NS = "fo1_labels"


class Region(Protocol):
    """What drawing reads of a region (``fo1_ros.node.RegionInfo`` has it)."""

    index: int
    box: np.ndarray  # (4,) xyxy pixels
    label: str  # '' = unlabelled
    score: float
    has_3d: bool
    center: np.ndarray | None  # (3,) metres
    size: np.ndarray | None  # (3,) metres


def label_colour(label: str) -> tuple[float, float, float]:
    """A stable, saturated RGB colour in [0, 1] for a label (same label, same colour)."""
    if not label:
        return (0.6, 0.6, 0.6)
    h = int(hashlib.md5(label.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return colorsys.hsv_to_rgb(h, 0.85, 0.95)


def _rgb255(label: str) -> tuple[int, int, int]:
    r, g, b = label_colour(label)
    return int(r * 255), int(g * 255), int(b * 255)


def annotate(rgb: np.ndarray, regions: Sequence[Region], counts: Sequence[dict] = (),
             title: str = "") -> np.ndarray:
    """Draw regions and counts on a copy of ``rgb`` ((H, W, 3) uint8); returns (H, W, 3) uint8."""
    out = np.ascontiguousarray(rgb.copy())
    H, W = out.shape[:2]
    scale = max(0.35, min(W, H) / 900)
    thick = max(1, int(round(min(W, H) / 300)))
    for r in regions:  # unlabelled first, underneath
        if r.label:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in r.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (150, 150, 150), 1)
    for r in regions:
        if not r.label:
            continue
        colour = _rgb255(r.label)
        x1, y1, x2, y2 = (int(round(v)) for v in r.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick + 1)
        text = f"{r.label} {r.score:.2f}"
        if r.has_3d and r.center is not None:
            text += f" {float(np.linalg.norm(r.center)):.2f}m"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y1 - 3 if y1 - th - 6 >= 0 else min(H - 1, y2 + th + 3)
        cv2.rectangle(out, (x1, ty - th - 3), (x1 + tw + 4, ty + base - 1), colour, -1)
        cv2.putText(out, text, (x1 + 2, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    lines = ([title] if title else []) + [f"{c['label']}: {c['count']}" for c in counts]
    y = 4
    for line in lines:
        (tw, th), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(out, (2, y), (8 + tw, y + th + base + 4), (0, 0, 0), -1)
        cv2.putText(out, line, (5, y + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
        y += th + base + 6
    return out


def _pose(position: Sequence[float]) -> dict:
    return {"position": {"x": float(position[0]), "y": float(position[1]), "z": float(position[2])},
            "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}


def markers(hdr: dict, regions: Sequence[Region], alpha: float = 0.45) -> list[dict]:
    """Marker fields for one frame: DELETEALL, then a CUBE and a facing TEXT per labelled
    region with 3-D (ids = region index), in ``hdr['frame_id']``; lifetime 0 (until replaced).

    The text sits above the cube along -y: the optical frame's "up" in the image (it is the
    target frame's -y too only when that frame is optical-like; labels still read well)."""
    out = [{"header": hdr, "ns": MARKER_NS, "id": 0, "action": DELETEALL}]
    for r in regions:
        if not (r.label and r.has_3d and r.center is not None):
            continue
        cr, cg, cb = label_colour(r.label)
        size = [max(float(s), 0.01) for s in r.size]
        out.append({"header": hdr, "ns": MARKER_NS, "id": int(r.index), "type": CUBE, "action": ADD,
                    "pose": _pose(r.center), "scale": {"x": size[0], "y": size[1], "z": size[2]},
                    "color": {"r": cr, "g": cg, "b": cb, "a": alpha}})
        above = [float(r.center[0]), float(r.center[1]) - size[1] / 2 - 0.03, float(r.center[2])]
        out.append({"header": hdr, "ns": LABEL_NS, "id": int(r.index), "type": TEXT_VIEW_FACING,
                    "action": ADD, "pose": _pose(above), "scale": {"x": 0.0, "y": 0.0, "z": 0.04},
                    "color": {"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0},
                    "text": f"{r.label} {r.score:.2f}"})
    return out


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str] = (), columns: int = 4,
                  thumb_width: int = 320) -> np.ndarray:
    """Frames side by side as one (H, W, 3) uint8 image (empty input: a small black image)."""
    if not images:
        return np.zeros((32, 32, 3), np.uint8)
    thumbs = []
    for k, im in enumerate(images):
        h, w = im.shape[:2]
        t = cv2.resize(im, (thumb_width, max(1, int(round(h * thumb_width / w)))),
                       interpolation=cv2.INTER_AREA)
        if k < len(captions) and captions[k]:
            cv2.rectangle(t, (0, t.shape[0] - 16), (thumb_width, t.shape[0]), (0, 0, 0), -1)
            cv2.putText(t, captions[k][:48], (3, t.shape[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 1, cv2.LINE_AA)
        thumbs.append(t)
    th = max(t.shape[0] for t in thumbs)
    columns = max(1, min(columns, len(thumbs)))
    rows = -(-len(thumbs) // columns)
    sheet = np.zeros((rows * th, columns * thumb_width, 3), np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, columns)
        sheet[r * th:r * th + t.shape[0], c * thumb_width:(c + 1) * thumb_width] = t
    return sheet


__all__ = ["annotate", "contact_sheet", "label_colour", "markers"]
