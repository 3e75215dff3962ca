"""RoIAlign with torchvision.ops semantics (the region encoder's pooling); torchvision's kernels on GPUs.

`roi_align` and `roi_align_mean` (the HFRE's mean-pooled variant) run `torchvision.ops.roi_align`
on tensors off the CPU (CUDA) where torchvision imports, else the plain-torch `roi_align_torch` and
`roi_align_mean_torch`: on the CPU these measured 2-4x faster than torchvision's kernel
(`benchmarks/bench_ops_backends.py`), and no torchvision wheel works beside the core install's
CPU torch. They reproduce its CPU kernel to float rounding (5.7e-6 at most on the shipped model's
maps, values up to 30) and are the tests' reference. `BACKEND` selects ("auto", "torch",
"torchvision"). Checks, dtypes and the departures named in `roi_align_torch` hold on both paths.
Box ops and NMS are in `boxes.py`.

Dim names used in this module:
    B       batch (images)
    C       channels of a feature map
    H, W    feature-map height and width (pixels of the map)
    K       regions of interest (boxes given to `roi_align`)
    oh, ow  RoIAlign output height and width (bins)

Boxes are `(x1, y1, x2, y2)` ("xyxy").
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import torch
import torch.nn.functional as F

from .boxes import torchvision_ops

__all__ = ["BACKEND", "roi_align", "roi_align_mean", "roi_align_torch", "roi_align_mean_torch"]

# "auto" (torchvision off the CPU), "torch" or "torchvision" (else ImportError); read at every call.
BACKEND = "auto"

Boxes = torch.Tensor | Sequence[torch.Tensor]  # (K, 5) rois, or B' tensors (N_i, 4) xyxy
OutputSize = int | Sequence[int]  # oh, or (oh, ow)

# ---------------------------------------------------------------------------------------------
# RoIAlign in plain torch
# ---------------------------------------------------------------------------------------------


def _pair(output_size: OutputSize) -> tuple[int, int]:
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        size = (output_size, output_size)
    elif isinstance(output_size, Sequence) and len(output_size) == 2:
        size = (output_size[0], output_size[1])
    else:
        raise ValueError(f"output_size must be an int or a pair (oh, ow), got {output_size!r}")
    for s in size:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise ValueError(f"output_size entries must be ints >= 1, got {output_size!r}")
    return size


def _check_feature_map(input: torch.Tensor) -> None:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor of shape (B, C, H, W), got {type(input).__name__}")
    if input.dim() != 4:
        raise ValueError(f"input must have shape (B, C, H, W), got {tuple(input.shape)}")
    if not input.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got dtype {input.dtype}")
    if input.shape[2] < 1 or input.shape[3] < 1:
        raise ValueError(f"input must have H, W >= 1, got shape {tuple(input.shape)}")


def _to_rois(boxes: Boxes, input: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Boxes in either accepted layout -> rois (K, 5) `[batch_index, x1, y1, x2, y2]`."""
    if isinstance(boxes, torch.Tensor):
        if boxes.dim() != 2 or boxes.shape[1] != 5:
            raise ValueError(
                f"boxes given as one tensor must have shape (K, 5) [batch_index, x1, y1, x2, y2], "
                f"got {tuple(boxes.shape)}"
            )
        rois = boxes
    elif isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            if not isinstance(b, torch.Tensor) or b.dim() != 2 or b.shape[1] != 4:
                shape = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
                raise ValueError(f"boxes[{i}] must be a tensor of shape (N_i, 4), got {shape}")
            b = b.to(device=input.device, dtype=dtype)
            parts.append(torch.cat([b.new_full((b.shape[0], 1), float(i)), b], dim=1))
        rois = torch.cat(parts, dim=0) if parts else input.new_zeros((0, 5), dtype=dtype)
    else:
        raise TypeError(
            f"boxes must be a Tensor (K, 5) or a list of Tensors (N_i, 4), got {type(boxes).__name__}"
        )
    # Boxes get no gradient, as in torchvision (its backward returns None for rois).
    rois = rois.detach().to(device=input.device, dtype=dtype)
    if rois.shape[0] > 0:
        # torchvision truncates the float index (`int roi_batch_ind = offset_rois[0]`).
        batch_index = rois[:, 0].to(torch.int64)
        lo, hi = int(batch_index.min()), int(batch_index.max())
        if lo < 0 or hi >= input.shape[0]:
            raise ValueError(
                f"box batch indices must lie in [0, {input.shape[0] - 1}] for input of shape "
                f"{tuple(input.shape)}, got indices in [{lo}, {hi}]"
            )
    return rois


def _compute_dtype(input: torch.Tensor) -> torch.dtype:
    # float16/bfloat16 maps are pooled in float32: torchvision's CPU kernel has no bfloat16, and
    # the reference region encoder calls roi_align on `feat.float()` anyway.
    return torch.float64 if input.dtype == torch.float64 else torch.float32


def _roi_layout(
    rois: torch.Tensor, spatial_scale: float, pooled_h: int, pooled_w: int, sampling_ratio: int, aligned: bool
) -> tuple[torch.Tensor, ...]:
    """Per-RoI start, bin size and sampling grid, written as torchvision's CPU kernel computes them.

    The order of float operations follows `roi_align_forward_kernel_impl`
    (torchvision/csrc/ops/cpu/roi_align_kernel.cpp) so that sample positions are bit-identical;
    a sample sitting exactly on a pixel edge or on the -1 / H validity limit must land on the
    same side as in torchvision.

    Returns:
        start_y, start_x, bin_h, bin_w: (K,) float of `rois.dtype`.
        grid_h, grid_w: (K,) int64 samples per bin along each axis; <= 0 means no samples.
    """
    offset = 0.5 if aligned else 0.0  # Detectron2's half-pixel shift
    start_x = rois[:, 1] * spatial_scale - offset
    start_y = rois[:, 2] * spatial_scale - offset
    end_x = rois[:, 3] * spatial_scale - offset
    end_y = rois[:, 4] * spatial_scale - offset
    roi_w = end_x - start_x
    roi_h = end_y - start_y
    if not aligned:
        # Legacy mode forces malformed (and sub-pixel) RoIs to 1 x 1.
        roi_w = roi_w.clamp(min=1.0)
        roi_h = roi_h.clamp(min=1.0)
    bin_h = roi_h / pooled_h
    bin_w = roi_w / pooled_w
    if sampling_ratio > 0:
        grid_h = torch.full_like(start_y, sampling_ratio, dtype=torch.int64)
        grid_w = torch.full_like(start_x, sampling_ratio, dtype=torch.int64)
    else:
        grid_h = _grid_from(roi_h / pooled_h)
        grid_w = _grid_from(roi_w / pooled_w)
    return start_y, start_x, bin_h, bin_w, grid_h, grid_w


def _grid_from(ratio: torch.Tensor) -> torch.Tensor:
    """`int(ceil(ratio))`, with NaN/inf mapped to 0 samples.

    A non-finite ratio comes from NaN/inf box coordinates; torchvision's `(int)ceil(nan)` yields
    INT_MIN on x86, i.e. an empty grid and a zero output, which is what 0 reproduces here.
    """
    grid = torch.ceil(ratio)
    grid = torch.where(torch.isfinite(grid), grid, torch.zeros_like(grid))
    return grid.clamp(min=0).to(torch.int64)


def _axis_taps(
    start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, pooled: int, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear taps of every RoIAlign sample along one axis (y or x).

    RoIAlign's bilinear weights factor per axis: a sample at (y, x) reads
    `hy*hx F[y_lo, x_lo] + hy*lx F[y_lo, x_hi] + ly*hx F[y_hi, x_lo] + ly*lx F[y_hi, x_hi]`,
    i.e. the outer product of the y taps `(y_lo: hy, y_hi: ly)` and the x taps
    `(x_lo: hx, x_hi: lx)`. Its validity test (`y < -1 or y > H or x < -1 or x > W` -> the sample
    adds 0) is an OR of a y-only and an x-only condition, so it factors too, as the product of
    two 0/1 masks. The per-sample rule implemented here is torchvision's
    `pre_calc_for_bilinear_interpolate` (roi_align_common.h) for one coordinate.

    Args:
        start: (K,) float RoI start along the axis, in map pixels.
        bin_size: (K,) float bin size along the axis.
        grid: (K,) int64 samples per bin along the axis (<= 0: none).
        pooled: bins along the axis (oh or ow).
        size: map size along the axis (H or W).

    Returns:
        idx: (K, pooled, 2 * G) int64 pixel indices in [0, size), G = max(grid).
        weight: (K, pooled, 2 * G) float (dtype of `start`), 0 for invalid or padding samples;
            not yet divided by the sample count.
    """
    k = start.shape[0]
    g = max(int(grid.max()), 1) if k > 0 else 1
    dtype, device = start.dtype, start.device
    p = torch.arange(pooled, device=device, dtype=dtype)
    i = torch.arange(g, device=device, dtype=dtype)
    grid_f = grid.clamp(min=1).to(dtype)
    # Same association as the C++ `start + ph * bin + (iy + .5f) * bin / grid`.
    pos = (
        start[:, None, None]
        + p[None, :, None] * bin_size[:, None, None]
        + (i + 0.5)[None, None, :] * bin_size[:, None, None] / grid_f[:, None, None]
    )  # (K, pooled, G)
    in_grid = torch.arange(g, device=device)[None, None, :] < grid[:, None, None]  # (K, 1, G)
    # Written as "in range" so NaN positions count as invalid, as in the current kernel.
    valid = (pos >= -1.0) & (pos <= size) & in_grid  # (K, pooled, G)
    pos = torch.where(valid, pos.clamp(min=0.0), torch.zeros_like(pos))
    low = pos.to(torch.int64)  # truncation == floor, pos >= 0
    edge = low >= size - 1
    low = torch.where(edge, torch.full_like(low, size - 1), low)
    high = torch.where(edge, low, low + 1)
    pos = torch.where(edge, low.to(dtype), pos)
    frac = pos - low.to(dtype)  # ly (or lx)
    zero = torch.zeros_like(frac)
    w_low = torch.where(valid, 1.0 - frac, zero)
    w_high = torch.where(valid, frac, zero)
    idx = torch.stack([low, high], dim=-1).reshape(k, pooled, 2 * g)
    weight = torch.stack([w_low, w_high], dim=-1).reshape(k, pooled, 2 * g)
    return idx, weight


def _axis_band(idx: torch.Tensor, weight: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge one axis's taps per bin into a contiguous band of pixels when that is shorter.

    With the adaptive grid (about one sample per pixel) a bin's 2*G taps hit about G+1 distinct
    pixels, each about twice; summing the duplicates first halves the taps along this axis.
    With a fixed small `sampling_ratio` on large bins the samples are sparse and the band
    would be longer, so the raw taps are kept.

    Args:
        idx, weight: (K, P, T) from `_axis_taps`.

    Returns:
        idx, weight: (K, P, L) with L = min(T, longest band), same meaning.
    """
    k, p, t = idx.shape
    dense = weight.new_zeros((k, p, size)).scatter_add_(2, idx, weight)  # (K, P, size)
    hit = dense > 0  # tap weights are never negative
    any_hit = hit.any(dim=2)
    first = hit.to(torch.int32).argmax(dim=2)  # (K, P)
    last = size - 1 - hit.flip(2).to(torch.int32).argmax(dim=2)  # (K, P)
    length = torch.where(any_hit, last - first + 1, torch.zeros_like(first))
    band = max(int(length.max()), 1) if length.numel() > 0 else 1
    if band >= t:
        return idx, weight
    j = torch.arange(band, device=idx.device)
    band_idx = (first[..., None] + j).clamp(max=size - 1)  # (K, P, L)
    # Positions past the band (or past the map) would re-read the last pixel: weight them 0.
    band_weight = torch.where(
        j < length[..., None], dense.gather(2, band_idx), torch.zeros((), dtype=weight.dtype, device=weight.device)
    )
    return band_idx, band_weight


def _roi_plan(
    input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float, sampling_ratio: int, aligned: bool
) -> tuple[torch.Tensor, tuple[int, int], tuple[torch.Tensor, ...]]:
    """Shared argument checks and per-axis taps of `roi_align_torch` / `roi_align_mean_torch`."""
    _check_feature_map(input)
    oh, ow = _pair(output_size)
    dtype = _compute_dtype(input)
    rois = _to_rois(boxes, input, dtype)  # (K, 5)
    _, _, h, w = input.shape
    start_y, start_x, bin_h, bin_w, grid_h, grid_w = _roi_layout(
        rois, float(spatial_scale), oh, ow, int(sampling_ratio), bool(aligned)
    )
    idx_y, w_y = _axis_taps(start_y, bin_h, grid_h, oh, h)  # (K, oh, 2Gh)
    idx_x, w_x = _axis_taps(start_x, bin_w, grid_w, ow, w)  # (K, ow, 2Gw)
    batch_index = rois[:, 0].to(torch.int64)  # (K,)
    return batch_index, (oh, ow), (idx_y, w_y, grid_h, idx_x, w_x, grid_w)


def roi_align_torch(
    input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float = 1.0, sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """RoIAlign (Mask R-CNN) with average pooling, as `torchvision.ops.roi_align`, in plain torch.

    Every bin averages `grid_h * grid_w` bilinear samples; the grid is `sampling_ratio` per
    axis, or `ceil(roi_size / bins)` when `sampling_ratio <= 0`. Samples outside
    `[-1, H] x [-1, W]` add 0 but still count in the average.

    Args:
        input: (B, C, H, W) floating feature map. float16/bfloat16 are pooled in float32.
        boxes: (K, 5) `[batch_index, x1, y1, x2, y2]`, or a list of B' <= B tensors (N_i, 4)
            xyxy, list item i belonging to image i. Coordinates are in image pixels.
        output_size: bins `oh` (int) or `(oh, ow)`.
        spatial_scale: map pixels per image pixel (0.25 for a stride-4 map).
        sampling_ratio: samples per bin and axis; <= 0 picks the adaptive grid.
        aligned: shift boxes by -0.5 map pixel (Detectron2); also lets tiny RoIs stay tiny.

    Returns:
        (K, C, oh, ow) pooled features, dtype of `input`. Differentiable w.r.t. `input`
        (not the boxes, as in torchvision).

    Unlike torchvision, boxes of another floating dtype than `input` are accepted (cast to the
    compute dtype), out-of-range batch indices raise `ValueError` instead of reading arbitrary
    memory, and with `aligned=True` and the adaptive grid a box inverted along exactly one axis
    gives zeros where torchvision 0.29's CPU kernel fails to allocate a negative sample count.

    Cost: a channels-last copy of `input` plus about K*oh*ow*(bin_h+2)*(bin_w+2) weighted
    (C,)-row gathers; use `roi_align_mean_torch` when only the mean over bins is needed.
    """
    batch_index, (oh, ow), (idx_y, w_y, grid_h, idx_x, w_x, grid_w) = _roi_plan(
        input, boxes, output_size, spatial_scale, sampling_ratio, aligned
    )
    b, c, h, w = input.shape
    k = batch_index.shape[0]
    if k == 0:
        return input.new_zeros((0, c, oh, ow))
    dtype = _compute_dtype(input)
    idx_y, w_y = _axis_band(idx_y, w_y, h)  # (K, oh, Ly)
    idx_x, w_x = _axis_band(idx_x, w_x, w)  # (K, ow, Lx)
    ly, lx = idx_y.shape[2], idx_x.shape[2]
    count = (grid_h * grid_w).clamp(min=1).to(dtype)  # (K,)
    # One bag per output bin holding the outer product of its y and x taps; embedding_bag sums
    # `weight * table[row]` over the bag without materialising (bags, taps, C).
    pixel = (
        batch_index[:, None, None, None, None] * (h * w)
        + idx_y[:, :, None, :, None] * w
        + idx_x[:, None, :, None, :]
    )  # (K, oh, ow, Ly, Lx)
    weight = (
        w_y[:, :, None, :, None] * w_x[:, None, :, None, :] / count[:, None, None, None, None]
    )  # (K, oh, ow, Ly, Lx)
    # Bands are padded to the longest one; dropping the zero-weight taps (about half per axis
    # with mixed box sizes) shrinks the gather several-fold.
    nonzero = weight.reshape(k * oh * ow, ly * lx) != 0  # (bags, taps)
    offsets = torch.cumsum(nonzero.sum(dim=1), dim=0) - nonzero.sum(dim=1)  # (bags,) bag starts
    with torch.autocast(device_type=input.device.type, enabled=False):
        # Channels-last rows: each tap reads C contiguous values. `reshape` alone would return
        # a strided view here (H and W merge), which embedding_bag reads ~10x slower.
        table = input.to(dtype).permute(0, 2, 3, 1).contiguous().reshape(b * h * w, c)  # (B*H*W, C)
        out = F.embedding_bag(
            pixel.reshape(k * oh * ow, ly * lx)[nonzero],
            table,
            offsets,
            mode="sum",
            per_sample_weights=weight.reshape(k * oh * ow, ly * lx)[nonzero],
        )  # (K*oh*ow, C)
    out = out.reshape(k, oh, ow, c).permute(0, 3, 1, 2)  # (K, C, oh, ow)
    return out.to(input.dtype).contiguous()


def roi_align_mean_torch(
    input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float = 1.0, sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """`roi_align_torch(...).mean(dim=(2, 3))` without building the (K, C, oh, ow) bins.

    This is the region encoder's pooling (RoIAlign 7x7, then the mean over the 49 bins). Equal
    to the two-step result up to float rounding, for any arguments `roi_align_torch` accepts.

    Derivation. For RoI k on image b (= b_k) with grids gh, gw, RoIAlign gives

        out[k, c, ph, pw] = 1/(gh*gw) * sum_{iy, ix} valid(y, x) * sum_{taps} a_y * a_x * F[b, c, y_t, x_t]

    where (y, x) is sample (ph, iy, pw, ix) and the taps are the bilinear corners. Bilinear
    weights factor into a y part and an x part (`w1 = hy*hx`, `w2 = hy*lx`, ...), and so does the
    validity mask (`valid = valid_y(y) * valid_x(x)`), while the y sample positions depend only on
    (ph, iy) and the x ones only on (pw, ix). Averaging over the oh*ow bins therefore gives

        mean[k, c] = sum_{y, x} wy[k, y] * wx[k, x] * F[b, c, y, x]
        wy[k, y]   = 1/(oh*gh) * sum_{ph, iy, tap -> y} valid_y * a_y     (H,), likewise wx (W,)

    which is one matrix product per image: (K_b, H*W) outer products times the (C, H*W) map.
    Cost K*C*H*W multiply-adds in a single GEMM and K*H*W extra memory, instead of
    K*C*oh*ow*gh*gw*4 gathered reads; the map is cropped first to the rows/columns any box
    touches.

    Args:
        input: (B, C, H, W) floating feature map. float16/bfloat16 are pooled in float32.
        boxes: (K, 5) `[batch_index, x1, y1, x2, y2]` or a list of (N_i, 4) xyxy tensors.
        output_size, spatial_scale, sampling_ratio, aligned: as `roi_align_torch`.

    Returns:
        (K, C) mean-pooled features, dtype of `input`; differentiable w.r.t. `input`.
    """
    batch_index, (oh, ow), (idx_y, w_y, grid_h, idx_x, w_x, grid_w) = _roi_plan(
        input, boxes, output_size, spatial_scale, sampling_ratio, aligned
    )
    b, c, h, w = input.shape
    k = batch_index.shape[0]
    if k == 0:
        return input.new_zeros((0, c))
    dtype = _compute_dtype(input)
    # wy, wx of the derivation above: every tap of every bin added onto its pixel, then the
    # 1/(oh*gh) and 1/(ow*gw) of the mean over bins and over each bin's samples.
    wy = w_y.new_zeros((k, h)).scatter_add_(1, idx_y.reshape(k, -1), w_y.reshape(k, -1))  # (K, H)
    wx = w_x.new_zeros((k, w)).scatter_add_(1, idx_x.reshape(k, -1), w_x.reshape(k, -1))  # (K, W)
    wy = wy / (oh * grid_h.clamp(min=1)).to(dtype)[:, None]
    wx = wx / (ow * grid_w.clamp(min=1)).to(dtype)[:, None]

    with torch.autocast(device_type=input.device.type, enabled=False):
        fmap = input.to(dtype)
        if b == 1:
            out = _pool_separable(fmap[0], wy, wx)  # (K, C)
        else:
            # Group boxes by image so each image's map is read by one GEMM, then restore order.
            order = torch.argsort(batch_index, stable=True)
            counts = torch.bincount(batch_index, minlength=b).tolist()
            pieces = []
            for image, rows in zip(range(b), torch.split(order, counts)):
                if rows.numel() > 0:
                    pieces.append(_pool_separable(fmap[image], wy[rows], wx[rows]))  # (K_b, C)
            out = torch.cat(pieces, dim=0)[torch.argsort(order)]  # (K, C)
    return out.to(input.dtype)


def _pool_separable(fmap: torch.Tensor, wy: torch.Tensor, wx: torch.Tensor) -> torch.Tensor:
    """`out[k, c] = sum_{y, x} wy[k, y] * wx[k, x] * fmap[c, y, x]` as one GEMM.

    Args:
        fmap: (C, H, W) float map of one image.
        wy: (K, H), wx: (K, W) non-negative weights of the same dtype.

    Returns:
        (K, C).
    """
    # A sparse alternative (embedding_bag over each box's own support) reads far fewer pixels
    # but measured 2-5x slower on CPU at both 480x96x96 and 3840x192x192: this GEMM runs near
    # BLAS peak, the gathers do not.
    c, h, w = fmap.shape
    rows = torch.nonzero(wy.sum(0) > 0).flatten()
    cols = torch.nonzero(wx.sum(0) > 0).flatten()
    if rows.numel() == 0 or cols.numel() == 0:
        # Every box lies outside the map: the all-zero weights on any one pixel give the zero
        # output (and zero gradient) torchvision gives, still attached to the graph.
        y0, y1, x0, x1 = 0, 1, 0, 1
    else:
        y0, y1 = int(rows[0]), int(rows[-1]) + 1
        x0, x1 = int(cols[0]), int(cols[-1]) + 1
    window = fmap[:, y0:y1, x0:x1].reshape(c, -1)  # (C, h*w); copies only when cropped
    kernel = (wy[:, y0:y1, None] * wx[:, None, x0:x1]).reshape(wy.shape[0], -1)  # (K, h*w)
    return kernel @ window.transpose(0, 1)  # (K, C)


# ---------------------------------------------------------------------------------------------
# Dispatch: torchvision.ops where it imports
# ---------------------------------------------------------------------------------------------


def _roi_align_tv(
    tv: ModuleType, input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float,
    sampling_ratio: int, aligned: bool, mean: bool,
) -> torch.Tensor:
    """`torchvision.ops.roi_align` (then the mean over bins if `mean`: (K, C)) with `roi_align_torch`'s
    checks, rois, compute dtype and zero output for non-finite boxes and, with `aligned` and the adaptive
    grid, for inverted ones (torchvision's CPU kernel fails on a box inverted along exactly one axis)."""
    _check_feature_map(input)
    oh, ow = _pair(output_size)
    dtype = _compute_dtype(input)
    rois = _to_rois(boxes, input, dtype)  # (K, 5)
    c = input.shape[1]
    if rois.shape[0] == 0:
        return input.new_zeros((0, c) if mean else (0, c, oh, ow))
    scale, sampling_ratio, aligned = float(spatial_scale), int(sampling_ratio), bool(aligned)
    zero = ~torch.isfinite(rois[:, 1:]).all(dim=1)  # (K,)
    if aligned and sampling_ratio <= 0:
        # The sizes as `_roi_layout` computes them: a negative one gives an empty grid.
        roi_w = (rois[:, 3] * scale - 0.5) - (rois[:, 1] * scale - 0.5)
        roi_h = (rois[:, 4] * scale - 0.5) - (rois[:, 2] * scale - 0.5)
        zero |= (roi_w < 0) | (roi_h < 0)
    if zero.any():
        rois = torch.where(zero[:, None], torch.cat([rois[:, :1], torch.zeros_like(rois[:, 1:])], dim=1), rois)
    with torch.autocast(device_type=input.device.type, enabled=False):
        out = tv.roi_align(input.to(dtype), rois, (oh, ow), scale, sampling_ratio, aligned)  # (K, C, oh, ow)
        out = torch.where(zero[:, None, None, None], torch.zeros((), dtype=dtype, device=out.device), out)
        if mean:
            out = out.mean(dim=(2, 3))  # (K, C)
    return out.to(input.dtype)


def _kernels_for(input: torch.Tensor) -> ModuleType | None:
    """`torchvision.ops` where `BACKEND` selects it for `input` ("auto": off the CPU), else None."""
    if BACKEND == "auto" and isinstance(input, torch.Tensor) and input.device.type == "cpu":
        return None  # no torchvision import either
    return torchvision_ops(BACKEND)


def roi_align(
    input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float = 1.0, sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """RoIAlign: `torchvision.ops.roi_align` where `BACKEND` selects it, else `roi_align_torch`.

    Arguments, result and departures from torchvision: as `roi_align_torch`, on both paths.
    """
    tv = _kernels_for(input)
    if tv is None:
        return roi_align_torch(input, boxes, output_size, spatial_scale, sampling_ratio, aligned)
    return _roi_align_tv(tv, input, boxes, output_size, spatial_scale, sampling_ratio, aligned, mean=False)


def roi_align_mean(
    input: torch.Tensor, boxes: Boxes, output_size: OutputSize, spatial_scale: float = 1.0, sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """`roi_align(...).mean(dim=(2, 3))`, the region encoder's pooling: (K, C), dtype of `input`.

    `roi_align_mean_torch`, or where `BACKEND` selects torchvision, `torchvision.ops.roi_align`
    and the mean. Arguments as `roi_align_torch`.
    """
    tv = _kernels_for(input)
    if tv is None:
        return roi_align_mean_torch(input, boxes, output_size, spatial_scale, sampling_ratio, aligned)
    return _roi_align_tv(tv, input, boxes, output_size, spatial_scale, sampling_ratio, aligned, mean=True)
