"""Box ops and NMS with torchvision.ops semantics; NMS runs torchvision's kernels where it imports.

`nms` and `batched_nms` run `torchvision.ops.nms` wherever torchvision imports (its CPU and CUDA
kernels; on CPU 4-12x faster than the plain torch here, `benchmarks/bench_ops_backends.py`), else
`nms_torch` and `batched_nms_torch`, plain torch: no torchvision wheel works beside the CPU build
of torch of the core install. `BACKEND` selects ("auto", "torch", "torchvision"). Both paths keep
the same indices: the plain-torch functions are the reference `test/model/test_boxes.py`
compares with `torchvision.ops`, and the sorting, dtype rules and per-category suppression are
done here for both, so the departures from `torchvision.ops` named in the docstrings hold on
either path. The box ops are plain torch. RoIAlign (`roi_align.py`) picks its backend with
`torchvision_ops` from here.

Dim names used in this module:
    N, M    boxes given to the box ops
    K       boxes kept by NMS

Boxes are `(x1, y1, x2, y2)` ("xyxy") unless a `fmt` argument says otherwise.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Sequence
from types import ModuleType

import numpy as np
import torch

__all__ = [
    "BACKEND",
    "torchvision_ops",
    "box_area",
    "box_iou",
    "box_convert",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "nms",
    "batched_nms",
    "nms_torch",
    "batched_nms_torch",
]

logger = logging.getLogger(__name__)

# Which code `nms` and `batched_nms` run: "auto" (torchvision.ops where it imports, else plain
# torch), "torch" (plain torch: the fallback, and the reference the tests compare with) or
# "torchvision" (ImportError where it does not import). Read at every call.
BACKEND = "auto"
_BACKENDS = ("auto", "torch", "torchvision")

_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

# NMS works on blocks of this many score-sorted boxes so that its pairwise masks stay at
# block x N booleans instead of N x N (100k proposals would otherwise need 10 GB).
_NMS_BLOCK = 1024
_NMS_COLUMN_CHUNK = 16384

# ---------------------------------------------------------------------------------------------
# Backend
# ---------------------------------------------------------------------------------------------


@functools.cache
def _import_torchvision_ops() -> tuple[ModuleType | None, str]:
    """`(torchvision.ops, "")`, or `(None, why not)`; imported at the first call, not with this module.

    Importing torchvision costs about 2 s on these CPUs (it imports torch._dynamo), nothing where
    transformers has imported it already (it does, with the model, wherever torchvision exists).
    """
    try:
        import torchvision.ops
    except Exception as e:  # noqa: BLE001 - ImportError, or a torchvision built for another torch
        # (that one raises RuntimeError "operator torchvision::nms does not exist").
        reason = f"{type(e).__name__}: {e}"
        if importlib.util.find_spec("torchvision") is not None:
            logger.warning("torchvision is installed but does not import (%s); using the plain-torch ops", reason)
        return None, reason
    return torchvision.ops, ""


def torchvision_ops(backend: str) -> ModuleType | None:
    """The `torchvision.ops` module if `backend` selects it, else None (run the plain-torch code).

    Args:
        backend: "auto" (torchvision.ops where it imports), "torch" (never) or "torchvision"
            (always; ImportError naming the cause where it does not import).
    """
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if backend == "torch":
        return None
    ops, reason = _import_torchvision_ops()
    if ops is None and backend == "torchvision":
        raise ImportError(f"backend 'torchvision' asked for, but torchvision.ops does not import: {reason}")
    return ops


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


def _torchvision_greedy(
    tv: ModuleType, boxes: torch.Tensor, groups: torch.Tensor | None, iou_threshold: float
) -> torch.Tensor:
    """`_greedy_nms` with torchvision's NMS kernel: same arguments, same result.

    The boxes are given already sorted, with strictly decreasing stand-in scores, so that the
    kernel visits them in this order (the real scores were sorted stably by the caller).
    Categories run one `nms` each, exactly (torchvision's `batched_nms` offsets coordinates).
    """
    n = boxes.shape[0]
    rank = -torch.arange(n, dtype=boxes.dtype, device=boxes.device)  # (N,) decreasing
    if groups is None:
        return tv.nms(boxes, rank, iou_threshold)  # positions, increasing
    keep = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    for group in torch.unique(groups):
        pos = torch.nonzero(groups == group).flatten()  # (N_g,) increasing
        keep[pos[tv.nms(boxes[pos], rank[pos], iou_threshold)]] = True
    return torch.nonzero(keep).flatten()


def _run_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, iou_threshold: float, backend: str
) -> torch.Tensor:
    """Sort by decreasing score (stable), suppress with the chosen code, map back to input indices."""
    if boxes.shape[0] == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,)
    groups = None if idxs is None else idxs.to(boxes.device)[order]
    tv = torchvision_ops(backend)
    suppress = _greedy_nms if tv is None else functools.partial(_torchvision_greedy, tv)
    kept = suppress(_nms_dtype(boxes)[order], groups, float(iou_threshold))
    return order[kept]


def _check_idxs(boxes: torch.Tensor, idxs: torch.Tensor) -> None:
    if not isinstance(idxs, torch.Tensor) or idxs.dim() != 1 or idxs.shape[0] != boxes.shape[0]:
        shape = tuple(idxs.shape) if isinstance(idxs, torch.Tensor) else type(idxs).__name__
        raise ValueError(f"idxs must have shape ({boxes.shape[0]},) to match boxes {tuple(boxes.shape)}, got {shape}")


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-maximum suppression, as `torchvision.ops.nms` (CPU kernel); runs it where it imports.

    Boxes are visited by decreasing score; equal scores keep their input order (torchvision
    0.29 sorts stably). A box is dropped when its IoU with an already kept box is strictly
    greater than `iou_threshold`; IoU exactly at the threshold keeps it. Boxes with zero union
    give NaN IoU and never suppress. Unlike torchvision, integer and half boxes are accepted
    (run in float64 and float32) and scores need not share the boxes' dtype. `BACKEND` picks
    torchvision's kernel or `nms_torch`; both give the same indices.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,) scores.
        iou_threshold: IoU above which the lower-scored box is dropped.

    Returns:
        (K,) int64 indices of the kept boxes, sorted by decreasing score.
    """
    _check_nms_args(boxes, scores)
    return _run_nms(boxes, scores, None, iou_threshold, BACKEND)


def nms_torch(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """`nms` in plain torch: the fallback without torchvision, and the tests' reference."""
    _check_nms_args(boxes, scores)
    return _run_nms(boxes, scores, None, iou_threshold, "torch")


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each category, as `torchvision.ops.batched_nms`, but exact.

    Exactly `nms` run separately per category, merged and sorted by decreasing score (ties in
    input order). torchvision approximates this: up to 1000 boxes on CPU it offsets every
    category by `idx * (max_coordinate + 1)` and runs one NMS, which shifts IoUs by float
    rounding and fails to separate categories when all coordinates are negative (e.g. two
    identical boxes at [-10, -10, -1, -1] of categories 0 and 1 keep only one); above 1000
    boxes it loops over categories but orders equal scores arbitrarily. This version does
    neither, on either backend: with torchvision it runs `torchvision.ops.nms` per category.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,) scores.
        idxs: (N,) category of each box (any dtype with equality).
        iou_threshold: as in `nms`.

    Returns:
        (K,) int64 indices of the kept boxes, sorted by decreasing score.
    """
    _check_nms_args(boxes, scores)
    _check_idxs(boxes, idxs)
    return _run_nms(boxes, scores, idxs, iou_threshold, BACKEND)


def batched_nms_torch(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """`batched_nms` in plain torch: the fallback without torchvision, and the tests' reference."""
    _check_nms_args(boxes, scores)
    _check_idxs(boxes, idxs)
    return _run_nms(boxes, scores, idxs, iou_threshold, "torch")
