"""Box ops and NMS in plain torch, with torchvision.ops semantics.

torchvision cannot be installed beside the CPU torch build this project uses, so the proposal
filters and the training data use these instead. Each function reproduces what its
`torchvision.ops` namesake computes (checked in `test/model/test_boxes.py` wherever torchvision
is importable); the few deliberate departures are named in the docstrings. RoIAlign is in
`roi_align.py`.

Dim names used in this module:
    N, M    boxes given to the box ops
    K       boxes kept by NMS

Boxes are `(x1, y1, x2, y2)` ("xyxy") unless a `fmt` argument says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "box_area",
    "box_iou",
    "box_convert",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "nms",
    "batched_nms",
]

_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

# NMS works on blocks of this many score-sorted boxes so that its pairwise masks stay at
# block x N booleans instead of N x N (100k proposals would otherwise need 10 GB).
_NMS_BLOCK = 1024
_NMS_COLUMN_CHUNK = 16384

# ---------------------------------------------------------------------------------------------
# Box ops
# ---------------------------------------------------------------------------------------------


def _check_last_dim4(boxes: torch.Tensor, name: str, min_dim: int = 1) -> None:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dim() < min_dim or boxes.shape[-1] != 4:
        lead = "(N, 4)" if min_dim == 2 else "(..., 4)"
        raise ValueError(f"{name} must have shape {lead}, got {tuple(boxes.shape)}")


def _check_fmt(fmt: str, name: str = "fmt") -> None:
    if fmt not in _BOX_FORMATS:
        raise ValueError(f"{name} must be one of {_BOX_FORMATS}, got {fmt!r}")


def _upcast(t: torch.Tensor) -> torch.Tensor:
    # As torchvision.ops._utils._upcast: guards products of coordinates against overflow.
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t if t.dtype in (torch.int32, torch.int64) else t.int()


def box_area(boxes: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """Box areas.

    Args:
        boxes: (..., 4) in `fmt` ("xyxy", "xywh" or "cxcywh"); half/int8/int16 are upcast.

    Returns:
        (...) areas; negative for inverted xyxy boxes, as in torchvision.
    """
    _check_last_dim4(boxes, "boxes")
    _check_fmt(fmt)
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """Pairwise intersection over union.

    Args:
        boxes1: (..., N, 4), boxes2: (..., M, 4) in `fmt`; leading dims broadcast.

    Returns:
        (..., N, M) IoU; 0/0 (two empty boxes) gives NaN, as in torchvision.
    """
    _check_last_dim4(boxes1, "boxes1", min_dim=2)
    _check_last_dim4(boxes2, "boxes2", min_dim=2)
    _check_fmt(fmt)
    area1 = box_area(boxes1, fmt)  # (..., N)
    area2 = box_area(boxes2, fmt)  # (..., M)
    a = boxes1[..., None, :]  # (..., N, 1, 4)
    b = boxes2[..., None, :, :]  # (..., 1, M, 4)
    if fmt == "xyxy":
        lt = torch.max(a[..., :2], b[..., :2])
        rb = torch.min(a[..., 2:], b[..., 2:])
    elif fmt == "xywh":
        lt = torch.max(a[..., :2], b[..., :2])
        rb = torch.min(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    else:
        lt = torch.max(a[..., :2] - a[..., 2:] / 2, b[..., :2] - b[..., 2:] / 2)
        rb = torch.min(a[..., :2] + a[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2)
    wh = _upcast(rb - lt).clamp(min=0)  # (..., N, M, 2)
    inter = wh[..., 0] * wh[..., 1]  # (..., N, M)
    union = area1[..., None] + area2[..., None, :] - inter
    return inter / union


def box_convert(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Convert boxes between "xyxy", "xywh" and "cxcywh" (torchvision's axis-aligned formats).

    Args:
        boxes: (..., 4) in `in_fmt`.

    Returns:
        (..., 4) in `out_fmt`; a copy even when the formats are equal. Integer boxes become
        float for conversions that halve (to or from cxcywh), as in torchvision.
    """
    _check_last_dim4(boxes, "boxes")
    _check_fmt(in_fmt, "in_fmt")
    _check_fmt(out_fmt, "out_fmt")
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt == "xywh":
        x, y, w, h = boxes.unbind(-1)
        boxes = torch.stack([x, y, x + w, y + h], dim=-1)
    elif in_fmt == "cxcywh":
        cx, cy, w, h = boxes.unbind(-1)
        boxes = torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)
    if out_fmt == "xywh":
        x1, y1, x2, y2 = boxes.unbind(-1)
        boxes = torch.stack([x1, y1, x2 - x1, y2 - y1], dim=-1)
    elif out_fmt == "cxcywh":
        x1, y1, x2, y2 = boxes.unbind(-1)
        boxes = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)
    return boxes


def clip_boxes_to_image(boxes: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Clamp xyxy boxes into an image: x to [0, W], y to [0, H].

    Args:
        boxes: (..., 4) xyxy.
        size: (H, W) of the image.

    Returns:
        (..., 4) clipped boxes, same dtype.
    """
    _check_last_dim4(boxes, "boxes")
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"size must be (height, width), got {size!r}")
    height, width = size
    xs = boxes[..., 0::2].clamp(min=0, max=width)  # (..., 2)
    ys = boxes[..., 1::2].clamp(min=0, max=height)  # (..., 2)
    return torch.stack((xs, ys), dim=boxes.dim()).reshape(boxes.shape)  # interleave back


def remove_small_boxes(boxes: torch.Tensor, min_size: float) -> torch.Tensor:
    """Indices of the boxes whose width and height are both >= `min_size`.

    Args:
        boxes: (N, 4) xyxy.

    Returns:
        (K,) int64 indices into `boxes`, increasing.
    """
    _check_last_dim4(boxes, "boxes", min_dim=2)
    if boxes.dim() != 2:
        raise ValueError(f"boxes must have shape (N, 4), got {tuple(boxes.shape)}")
    ws = boxes[:, 2] - boxes[:, 0]
    hs = boxes[:, 3] - boxes[:, 1]
    return torch.where((ws >= min_size) & (hs >= min_size))[0]


# ---------------------------------------------------------------------------------------------
# NMS
# ---------------------------------------------------------------------------------------------


def _check_nms_args(boxes: torch.Tensor, scores: torch.Tensor) -> None:
    _check_last_dim4(boxes, "boxes", min_dim=2)
    if boxes.dim() != 2:
        raise ValueError(f"boxes must have shape (N, 4), got {tuple(boxes.shape)}")
    if not isinstance(scores, torch.Tensor) or scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"scores must have shape ({boxes.shape[0]},) to match boxes {tuple(boxes.shape)}, got {shape}")


def _overlaps(
    a: torch.Tensor, b: torch.Tensor, area_a: torch.Tensor, area_b: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """`IoU(a_i, b_j) > iou_threshold` exactly as torchvision's CPU NMS kernel decides it.

    The IoU is `inter / (area_i + area_j - inter)` in the boxes' dtype (the kernel's operation
    order), and the comparison is made in float64 because the kernel compares a `scalar_t`
    IoU with a `double` threshold: in float32 an IoU of exactly 4/5 rounds to 0.800000012 and
    *is* suppressed at threshold 0.8.

    Args:
        a: (P, 4), b: (Q, 4) xyxy; area_a: (P,), area_b: (Q,).

    Returns:
        (P, Q) bool.
    """
    lt = torch.max(a[:, None, :2], b[None, :, :2])  # (P, Q, 2)
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])  # (P, Q, 2)
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]  # (P, Q)
    iou = inter / (area_a[:, None] + area_b[None, :] - inter)
    return iou.to(torch.float64) > iou_threshold


def _greedy_nms(boxes: torch.Tensor, groups: torch.Tensor | None, iou_threshold: float) -> torch.Tensor:
    """Greedy suppression over boxes already sorted by decreasing score.

    A box survives unless an earlier surviving box of the same group overlaps it by more than
    the threshold. Blocks of `_NMS_BLOCK` boxes are resolved with a small sequential loop over
    a (block, block) mask; each block's survivors then suppress all later boxes in one
    vectorised pass.

    Args:
        boxes: (N, 4) float xyxy, score-sorted.
        groups: (N,) category per box (no suppression across categories), or None.

    Returns:
        (K,) int64 positions (into the sorted order) of the kept boxes, increasing.
    """
    n = boxes.shape[0]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # (N,)
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []

    def overlap(i: torch.Tensor | slice, j: slice) -> torch.Tensor:
        mask = _overlaps(boxes[i], boxes[j], area[i], area[j], iou_threshold)
        if groups is not None:
            mask &= groups[i][:, None] == groups[j][None, :]
        return mask

    for start in range(0, n, _NMS_BLOCK):
        stop = min(start + _NMS_BLOCK, n)
        block = overlap(slice(start, stop), slice(start, stop)).cpu().numpy()  # (blk, blk)
        sup = suppressed[start:stop]  # a view: writes land in `suppressed`
        local: list[int] = []
        for i in range(stop - start):
            if sup[i]:
                continue
            local.append(i)
            sup[i + 1 :] |= block[i, i + 1 :]
        keep.extend(start + i for i in local)
        if local and stop < n:
            kept = torch.tensor([start + i for i in local], device=boxes.device)
            for col in range(stop, n, _NMS_COLUMN_CHUNK):
                end = min(col + _NMS_COLUMN_CHUNK, n)
                hit = overlap(kept, slice(col, end)).any(dim=0)  # (chunk,)
                suppressed[col:end] |= hit.cpu().numpy()
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)


def _nms_dtype(boxes: torch.Tensor) -> torch.Tensor:
    # torchvision's CPU kernel runs float32/float64 only; other floats run in float32 here and
    # integer boxes (which torchvision rejects) in float64 so large coordinates stay exact.
    if boxes.dtype in (torch.float32, torch.float64):
        return boxes
    return boxes.to(torch.float32 if boxes.is_floating_point() else torch.float64)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression, as `torchvision.ops.nms` (CPU kernel).

    Boxes are visited by decreasing score; equal scores keep their input order (torchvision
    0.29 sorts stably). A box is dropped when its IoU with an already kept box is strictly
    greater than `iou_threshold`; IoU exactly at the threshold keeps it. Boxes with zero union
    give NaN IoU and never suppress.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,) scores.
        iou_threshold: IoU above which the lower-scored box is dropped.

    Returns:
        (K,) int64 indices of the kept boxes, sorted by decreasing score.
    """
    _check_nms_args(boxes, scores)
    if boxes.shape[0] == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,)
    kept = _greedy_nms(_nms_dtype(boxes)[order], None, float(iou_threshold))
    return order[kept]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each category, as `torchvision.ops.batched_nms`.

    Exactly `nms` run separately per category, merged and sorted by decreasing score (ties in
    input order). torchvision approximates this: up to 1000 boxes on CPU it offsets every
    category by `idx * (max_coordinate + 1)` and runs one NMS, which shifts IoUs by float
    rounding and fails to separate categories when all coordinates are negative (e.g. two
    identical boxes at [-10, -10, -1, -1] of categories 0 and 1 keep only one); above 1000
    boxes it loops over categories but orders equal scores arbitrarily. This version does
    neither.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,) scores.
        idxs: (N,) category of each box (any dtype with equality).
        iou_threshold: as in `nms`.

    Returns:
        (K,) int64 indices of the kept boxes, sorted by decreasing score.
    """
    _check_nms_args(boxes, scores)
    if not isinstance(idxs, torch.Tensor) or idxs.dim() != 1 or idxs.shape[0] != boxes.shape[0]:
        shape = tuple(idxs.shape) if isinstance(idxs, torch.Tensor) else type(idxs).__name__
        raise ValueError(f"idxs must have shape ({boxes.shape[0]},) to match boxes {tuple(boxes.shape)}, got {shape}")
    if boxes.shape[0] == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,)
    kept = _greedy_nms(_nms_dtype(boxes)[order], idxs.to(boxes.device)[order], float(iou_threshold))
    return order[kept]
