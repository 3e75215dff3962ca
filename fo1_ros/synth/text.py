"""Printed text on object faces: glyph bitmaps and their bilinear lookup.

A label is drawn once per object with OpenCV's Hershey font into a coverage bitmap whose
aspect ratio matches the face it is printed on; the renderer then looks it up at each hit
point's face coordinates ``(u, v)`` in [0, 1] (u to the right, v down, as seen by a viewer
facing the face), which maps the text onto flat faces and wraps it around cylinders alike.
"""

from __future__ import annotations

import cv2
import numpy as np

BITMAP_HEIGHT = 96  # pixels; the face is sampled from this, so it bounds text sharpness
_FONT = cv2.FONT_HERSHEY_DUPLEX


def text_bitmap(text: str, aspect: float, fill: float = 0.82) -> np.ndarray:
    """Coverage bitmap of ``text`` centred on a face of width/height ``aspect``.

    The text is scaled to the largest size that fits ``fill`` of the face in both
    directions, with a stroke weight that grows with the glyph size (bold, high contrast).

    Args:
        text: the characters (non-empty).
        aspect: face width / face height (> 0).
        fill: fraction of the face the text may span.

    Returns:
        ``(BITMAP_HEIGHT, round(BITMAP_HEIGHT * aspect))`` float32 coverage in [0, 1].
    """
    if not text:
        raise ValueError("text_bitmap needs a non-empty text")
    if not aspect > 0:
        raise ValueError(f"text_bitmap aspect must be > 0, got {aspect!r}")
    h = BITMAP_HEIGHT
    w = max(8, int(round(h * aspect)))
    # Draw at 4x and downsample with area averaging: smooth glyph edges.
    s = 4
    canvas = np.zeros((h * s, w * s), np.uint8)
    (tw, th), base = cv2.getTextSize(text, _FONT, 1.0, 1)
    scale = min(fill * w * s / tw, fill * h * s / (th + base * 0.3))
    thickness = max(1, int(round(scale * 2.6)))
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    x = (w * s - tw) // 2
    y = (h * s + th) // 2
    cv2.putText(canvas, text, (x, y), _FONT, scale, 255, thickness, cv2.LINE_AA)
    # Hershey metrics ignore the stroke width: re-centre on the actual ink.
    ys, xs = np.nonzero(canvas)
    shift_x = (w * s - 1) / 2 - (xs.min() + xs.max()) / 2
    shift_y = (h * s - 1) / 2 - (ys.min() + ys.max()) / 2
    canvas = cv2.warpAffine(canvas, np.float32([[1, 0, shift_x], [0, 1, shift_y]]),
                            (w * s, h * s))
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def sample_bitmap(bitmap: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``bitmap`` ``(h, w)`` at face coordinates ``u, v`` ``(M,)``.

    Coordinates outside [0, 1] read 0 (no ink). Returns ``(M,)`` float32.
    """
    h, w = bitmap.shape
    x = u * w - 0.5
    y = v * h - 0.5
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0 = x.astype(np.int32)
    y0 = y.astype(np.int32)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    top = bitmap[y0, x0] * (1 - fx) + bitmap[y0, x0 + 1] * fx
    bot = bitmap[y0 + 1, x0] * (1 - fx) + bitmap[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bot * fy
    return np.where(inside, out, np.float32(0)).astype(np.float32, copy=False)
