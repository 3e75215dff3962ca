"""Tests for fo1_ros.model.ops: RoIAlign, NMS and box ops with torchvision.ops semantics.

Most expected values are worked out by hand on a linear "ramp" map `F[y, x] = W*y + x`, on
which bilinear interpolation is exact, so a RoIAlign bin equals the ramp at the mean sample
position (as long as no sample is clamped or dropped). `TestAgainstTorchvision` runs only
where torchvision is importable and compares every op with `torchvision.ops`.
"""

import itertools

import pytest
import torch

from fo1_ros.model import ops


def _ramp(h: int, w: int, batch: int = 1, channels: int = 1) -> torch.Tensor:
    """(batch, channels, h, w) float32 map with F[b, c, y, x] = (c + 1) * (w*y + x) + 100*b."""
    base = (torch.arange(h)[:, None] * w + torch.arange(w)[None, :]).float()  # (h, w)
    c = torch.arange(channels).float()[:, None, None] + 1.0
    b = torch.arange(batch).float()[:, None, None, None] * 100.0
    return (base * c)[None] + b  # (batch, channels, h, w)


def _random_rois(k: int, batch: int, h: int, w: int, scale: float, seed: int, dtype=torch.float64) -> torch.Tensor:
    """(k, 5) rois mixing ordinary, sub-pixel, partly outside and inverted boxes (image pixels)."""
    g = torch.Generator().manual_seed(seed)
    x1 = (torch.rand(k, generator=g, dtype=dtype) * 1.4 - 0.2) * w / scale
    y1 = (torch.rand(k, generator=g, dtype=dtype) * 1.4 - 0.2) * h / scale
    bw = torch.rand(k, generator=g, dtype=dtype) ** 2 * w / scale
    bh = torch.rand(k, generator=g, dtype=dtype) ** 2 * h / scale
    bw[: k // 10] = torch.rand(k // 10, generator=g, dtype=dtype) * 1.5 / scale  # sub-pixel
    bw[k // 10 : k // 8] *= -0.3  # inverted in x only
    index = torch.randint(0, batch, (k,), generator=g).to(dtype)
    return torch.stack([index, x1, y1, x1 + bw, y1 + bh], dim=1)


# ---------------------------------------------------------------------------------------------
# roi_align: hand-computed cases
# ---------------------------------------------------------------------------------------------


def test_roi_align_fixed_grid_on_ramp():
    x = _ramp(4, 4)
    box = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])
    # Samples at 0.5 and 1.5 per axis: mean position (1, 1) -> 4*1 + 1.
    one = ops.roi_align(x, box, 1, sampling_ratio=2)
    assert one.shape == (1, 1, 1, 1)
    assert one.item() == pytest.approx(5.0)
    # Four unit bins sampled at their centres 0.5 and 1.5.
    four = ops.roi_align(x, box, 2, sampling_ratio=1)
    assert torch.allclose(four[0, 0], torch.tensor([[2.5, 3.5], [6.5, 7.5]]))


def test_roi_align_aligned_shifts_half_pixel():
    x = _ramp(4, 4)
    box = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])
    # aligned: start -0.5, bins [-0.5, 0.5] and [0.5, 1.5], centres 0 and 1 (pixel centres).
    out = ops.roi_align(x, box, 2, sampling_ratio=1, aligned=True)
    assert torch.allclose(out[0, 0], torch.tensor([[0.0, 1.0], [4.0, 5.0]]))


def test_roi_align_adaptive_grid_differs_from_fixed():
    x = _ramp(4, 4)
    box = torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])
    # Adaptive grid ceil(4/1) = 4: samples 0.5, 1.5, 2.5, 3.5, and 3.5 lies past H-1 = 3 so it
    # reads row 3: mean position (0.5+1.5+2.5+3)/4 = 1.875 per axis -> 4*1.875 + 1.875.
    adaptive = ops.roi_align(x, box, 1)
    assert adaptive.item() == pytest.approx(9.375)
    # sampling_ratio 2: samples 1 and 3, mean position 2 -> 10.
    fixed = ops.roi_align(x, box, 1, sampling_ratio=2)
    assert fixed.item() == pytest.approx(10.0)


def test_roi_align_samples_outside_count_but_add_zero():
    x = _ramp(1, 4) + 1.0  # one row [1, 2, 3, 4]
    # x samples -2.5, -1.5 (< -1: dropped), -0.5 (clamped to 0: reads 1), 0.5 (reads 1.5); each
    # of the 4 y samples reads row 0. Sum 4 * 2.5 over count 16.
    left = ops.roi_align(x, torch.tensor([[0.0, -3.0, 0.0, 1.0, 1.0]]), 1, sampling_ratio=4)
    assert left.item() == pytest.approx(0.625)
    # x samples 3.5 (past W-1: reads column 3 = 4) and 4.5 (> W: dropped); count 4.
    right = ops.roi_align(x, torch.tensor([[0.0, 3.0, 0.0, 5.0, 1.0]]), 1, sampling_ratio=2)
    assert right.item() == pytest.approx(2.0)


def test_roi_align_validity_limits_are_inclusive():
    x = _ramp(1, 4) + 1.0
    at_w = ops.roi_align(x, torch.tensor([[0.0, 3.5, 0.0, 4.5, 1.0]]), 1, sampling_ratio=1)
    assert at_w.item() == pytest.approx(4.0)  # x == W is still valid, reads column W-1
    at_minus_one = ops.roi_align(x, torch.tensor([[0.0, -1.5, 0.0, -0.5, 1.0]]), 1, sampling_ratio=1)
    assert at_minus_one.item() == pytest.approx(1.0)  # x == -1 is valid, clamps to column 0
    beyond = ops.roi_align(x, torch.tensor([[0.0, -1.75, 0.0, -0.75, 1.0]]), 1, sampling_ratio=1)
    assert beyond.item() == 0.0  # x == -1.25 is dropped


def test_roi_align_tiny_box_legacy_is_forced_to_one_pixel():
    x = _ramp(4, 4)
    # Not aligned: the 0.2 px box becomes 1 x 1, bins 0.5, grid ceil(1/2) = 1, samples 1.25, 1.75.
    out = ops.roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.2, 1.2]]), 2)
    expected = torch.tensor([[4 * 1.25 + 1.25, 4 * 1.25 + 1.75], [4 * 1.75 + 1.25, 4 * 1.75 + 1.75]])
    assert torch.allclose(out[0, 0], expected)


def test_roi_align_tiny_box_aligned_stays_tiny():
    x = _ramp(4, 4)
    # Aligned: start 0.5, size 0.2, grid ceil(0.2) = 1, one sample at 0.6 per axis.
    tiny = ops.roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.2, 1.2]]), 1, aligned=True)
    assert tiny.item() == pytest.approx(4 * 0.6 + 0.6)
    # Zero-size and inverted boxes have an empty adaptive grid: zeros.
    empty = ops.roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 3.0, 1.0, 2.0, 2.0]]), 2, aligned=True)
    assert torch.equal(empty, torch.zeros(2, 1, 2, 2))


def test_roi_align_routes_batch_index_and_accepts_list():
    x = _ramp(4, 4, batch=3, channels=2)
    rois = torch.tensor([[2.0, 0, 0, 2, 2], [0.0, 0, 0, 2, 2], [1.0, 0, 0, 2, 2], [2.0, 1, 1, 3, 3]])
    out = ops.roi_align(x, rois, 1, sampling_ratio=2)  # (4, 2, 1, 1)
    # Centre (1, 1) reads 5 on channel 0 and 10 on channel 1, plus 100 * image.
    expected = torch.tensor([[205.0, 210.0], [5.0, 10.0], [105.0, 110.0], [200.0 + 10.0, 200.0 + 20.0]])
    assert torch.allclose(out[:, :, 0, 0], expected)
    as_list = [rois[rois[:, 0] == b, 1:] for b in range(3)]
    from_list = ops.roi_align(x, as_list, 1, sampling_ratio=2)
    assert torch.allclose(from_list[:, :, 0, 0], expected[[1, 2, 0, 3]])


def test_roi_align_spatial_scale_maps_image_to_map_pixels():
    x = _ramp(4, 4)
    a = ops.roi_align(x, torch.tensor([[0.0, 0, 0, 4, 4]]), (2, 3), spatial_scale=0.5)
    b = ops.roi_align(x, torch.tensor([[0.0, 0, 0, 2, 2]]), (2, 3))
    assert a.shape == (1, 1, 2, 3)
    assert torch.equal(a, b)


def test_roi_align_empty_boxes():
    x = torch.randn(2, 3, 5, 5)
    assert ops.roi_align(x, torch.zeros(0, 5), (2, 4)).shape == (0, 3, 2, 4)
    assert ops.roi_align(x, [torch.zeros(0, 4), torch.zeros(0, 4)], 7).shape == (0, 3, 7, 7)
    assert ops.roi_align_mean(x, torch.zeros(0, 5), 7).shape == (0, 3)


def test_roi_align_output_dtypes():
    x = torch.randn(1, 4, 9, 9)
    rois = torch.tensor([[0.0, 0.5, 1.0, 7.5, 6.0], [0.0, 2.0, 2.0, 3.0, 8.0]])
    ref = ops.roi_align(x, rois, 3)
    for dtype in (torch.bfloat16, torch.float16):
        low = ops.roi_align(x.to(dtype), rois, 3)
        assert low.dtype == dtype
        # Only the input rounding differs: pooling itself runs in float32.
        assert torch.allclose(low.float(), ops.roi_align(x.to(dtype).float(), rois, 3), atol=1e-2)
        assert ops.roi_align_mean(x.to(dtype), rois, 3).dtype == dtype
    double = ops.roi_align(x.double(), rois, 3)
    assert double.dtype == torch.float64
    assert torch.allclose(double.float(), ref, atol=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ops.roi_align(torch.zeros(3, 4, 4), torch.zeros(1, 5), 2), r"\(B, C, H, W\)"),
        (lambda: ops.roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4), 2), r"\(K, 5\).*\(2, 4\)"),
        (lambda: ops.roi_align(torch.zeros(1, 1, 4, 4), [torch.zeros(2, 5)], 2), r"boxes\[0\].*\(2, 5\)"),
        (lambda: ops.roi_align(torch.zeros(2, 1, 4, 4), torch.tensor([[2.0, 0, 0, 1, 1]]), 2), r"\[0, 1\].*\[2, 2\]"),
        (lambda: ops.roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 0), "output_size"),
        (lambda: ops.roi_align_mean(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), (2, 2, 2)), "output_size"),
    ],
)
def test_roi_align_rejects_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_roi_align_rejects_integer_map():
    with pytest.raises(TypeError, match="floating"):
        ops.roi_align(torch.zeros(1, 1, 4, 4, dtype=torch.int64), torch.zeros(1, 5), 2)


# ---------------------------------------------------------------------------------------------
# roi_align_mean
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 1, 2, 3])
def test_roi_align_mean_equals_mean_of_roi_align(aligned, sampling_ratio):
    x = torch.randn(2, 6, 17, 23, dtype=torch.float64)
    rois = _random_rois(240, 2, 17, 23, 0.25, seed=sampling_ratio + 10 * aligned)
    for output_size, dtype, tol in [(7, torch.float64, 1e-12), ((3, 5), torch.float32, 1e-5)]:
        expected = ops.roi_align(x.to(dtype), rois, output_size, 0.25, sampling_ratio, aligned).mean(dim=(2, 3))
        got = ops.roi_align_mean(x.to(dtype), rois, output_size, 0.25, sampling_ratio, aligned)
        assert got.shape == (240, 6)
        assert (got - expected).abs().max().item() < tol


def test_roi_align_mean_keeps_box_order_across_images():
    x = _ramp(4, 4, batch=3)
    rois = torch.tensor([[2.0, 0, 0, 2, 2], [0.0, 0, 0, 2, 2], [1.0, 0, 0, 2, 2], [0.0, 1, 1, 3, 3]])
    got = ops.roi_align_mean(x, rois, 1, sampling_ratio=2)[:, 0]
    assert torch.allclose(got, torch.tensor([205.0, 5.0, 105.0, 10.0]))


def test_roi_align_mean_all_boxes_outside_gives_zeros_and_zero_grad():
    x = torch.randn(1, 3, 6, 6, requires_grad=True)
    rois = torch.tensor([[0.0, 20, 20, 30, 30], [0.0, -30, -30, -20, -20]])
    out = ops.roi_align_mean(x, rois, 7)
    assert torch.equal(out, torch.zeros(2, 3))
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


# ---------------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------------


def test_roi_align_gradcheck():
    # Small on purpose: gradcheck runs two forwards per input element.
    x = torch.randn(2, 1, 4, 5, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor(
        [[0, 0.5, 0.5, 4.0, 3.0], [1, -1.0, 2.0, 7.0, 9.0], [1, 2.1, 2.2, 2.3, 2.4]], dtype=torch.float64
    )
    assert torch.autograd.gradcheck(lambda t: ops.roi_align(t, rois, (2, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.roi_align_mean(t, rois, 2, aligned=True), (x,))


def test_roi_align_mean_grad_equals_grad_of_mean():
    x = torch.randn(2, 4, 11, 13, requires_grad=True)
    rois = _random_rois(50, 2, 11, 13, 1.0, seed=3, dtype=torch.float32)
    (g_ref,) = torch.autograd.grad(ops.roi_align(x, rois, 7).mean(dim=(2, 3)).square().sum(), x)
    (g_got,) = torch.autograd.grad(ops.roi_align_mean(x, rois, 7).square().sum(), x)
    assert g_ref.abs().sum() > 0
    assert torch.allclose(g_got, g_ref, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# NMS
# ---------------------------------------------------------------------------------------------


def _reference_nms(boxes: torch.Tensor, scores: torch.Tensor, thr: float, groups=None) -> list[int]:
    """Plain greedy NMS, one box pair at a time, in float64 (IoU written out per pair)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    b = boxes.double().tolist()
    kept: list[int] = []
    for i in order:
        ok = True
        for j in kept:
            if groups is not None and groups[i] != groups[j]:
                continue
            iw = max(0.0, min(b[i][2], b[j][2]) - max(b[i][0], b[j][0]))
            ih = max(0.0, min(b[i][3], b[j][3]) - max(b[i][1], b[j][1]))
            inter = iw * ih
            union = (b[i][2] - b[i][0]) * (b[i][3] - b[i][1]) + (b[j][2] - b[j][0]) * (b[j][3] - b[j][1]) - inter
            if union > 0 and inter / union > thr:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept


def test_nms_suppresses_above_threshold_only():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(0, 1) = 81 / 119 = 0.68.
    assert ops.nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert ops.nms(boxes, scores, 0.7).tolist() == [0, 1, 2]
    keep = ops.nms(boxes, torch.tensor([0.1, 0.8, 0.9]), 0.5)
    assert keep.dtype == torch.int64
    assert keep.tolist() == [2, 1]


def test_nms_equal_scores_keep_input_order():
    far = torch.tensor([[0.0, 0, 1, 1], [10, 0, 11, 1], [20, 0, 21, 1], [30, 0, 31, 1]])
    assert ops.nms(far, torch.tensor([0.5, 0.9, 0.5, 0.5]), 0.5).tolist() == [1, 0, 2, 3]
    # 40 identical boxes with one score: the first survives (torchvision sorts stably).
    same = torch.tensor([[0.0, 0, 10, 10]]).repeat(40, 1)
    assert ops.nms(same, torch.ones(40), 0.5).tolist() == [0]


def test_nms_iou_exactly_at_threshold_is_kept():
    boxes = torch.tensor([[0.0, 0, 2, 1], [0, 0, 1, 1]])  # IoU exactly 1/2
    assert ops.nms(boxes, torch.tensor([1.0, 0.5]), 0.5).tolist() == [0, 1]


def test_nms_float32_iou_compared_in_double_like_torchvision():
    # IoU 4/5 rounds to 0.800000012 in float32, which is > 0.8 in double: suppressed, as in
    # torchvision's CPU kernel; in float64 it equals the threshold and is kept.
    boxes = torch.tensor([[0.0, 0, 5, 1], [0, 0, 4, 1]])
    scores = torch.tensor([1.0, 0.5])
    assert ops.nms(boxes, scores, 0.8).tolist() == [0]
    assert ops.nms(boxes.double(), scores.double(), 0.8).tolist() == [0, 1]


def test_nms_degenerate_and_empty():
    points = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1]])  # 0/0 IoU is NaN: never suppresses
    assert ops.nms(points, torch.tensor([0.2, 0.3]), 0.1).tolist() == [1, 0]
    empty = ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.int64 and empty.numel() == 0


def test_nms_blocked_path_matches_reference(monkeypatch):
    # Tiny blocks exercise the block / cross-block / column-chunk passes on a small input.
    monkeypatch.setattr(ops, "_NMS_BLOCK", 7)
    monkeypatch.setattr(ops, "_NMS_COLUMN_CHUNK", 5)
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(150, 2, generator=g) * 60
    boxes = torch.cat([xy, xy + 5 + torch.rand(150, 2, generator=g) * 30], dim=1).double()
    scores = (torch.rand(150, generator=g) * 8).round() / 8  # many ties
    groups = torch.randint(0, 3, (150,), generator=g)
    for thr in (0.3, 0.5, 0.7):
        assert ops.nms(boxes, scores, thr).tolist() == _reference_nms(boxes, scores, thr)
        expected = _reference_nms(boxes, scores, thr, groups.tolist())
        assert ops.batched_nms(boxes, scores, groups, thr).tolist() == expected


def test_batched_nms_suppresses_within_category_only():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]])
    scores = torch.tensor([0.6, 0.9, 0.8, 0.7])
    idxs = torch.tensor([0, 1, 0, 0])
    assert ops.batched_nms(boxes, scores, idxs, 0.5).tolist() == [1, 2, 3]
    # All-negative coordinates: torchvision's offset trick merges these two categories.
    negative = torch.tensor([[-10.0, -10, -1, -1], [-10, -10, -1, -1]])
    kept = ops.batched_nms(negative, torch.tensor([1.0, 0.9]), torch.tensor([0, 1]), 0.5)
    assert kept.tolist() == [0, 1]
    assert ops.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


def test_nms_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(3, 5\)"):
        ops.nms(torch.zeros(3, 5), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"scores.*\(3,\).*\(2,\)"):
        ops.nms(torch.zeros(3, 4), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match=r"idxs.*\(3,\).*\(3, 1\)"):
        ops.batched_nms(torch.zeros(3, 4), torch.zeros(3), torch.zeros(3, 1), 0.5)


# ---------------------------------------------------------------------------------------------
# Box ops
# ---------------------------------------------------------------------------------------------


def test_box_iou_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(7, 4, generator=g) * 20
    a[:, 2:] += a[:, :2]
    b = torch.rand(9, 4, generator=g) * 20
    b[:, 2:] += b[:, :2]
    got = ops.box_iou(a, b)
    assert got.shape == (7, 9)
    for i, j in itertools.product(range(7), range(9)):
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a[i].tolist(), b[j].tolist()
        inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
        union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
        assert got[i, j].item() == pytest.approx(inter / union, abs=1e-6)
    assert ops.box_iou(torch.tensor([[0.0, 0, 2, 2]]), torch.tensor([[1.0, 1, 3, 3]])).item() == pytest.approx(1 / 7)
    # Same IoU from the other formats.
    for fmt in ("xywh", "cxcywh"):
        conv = ops.box_iou(ops.box_convert(a, "xyxy", fmt), ops.box_convert(b, "xyxy", fmt), fmt=fmt)
        assert torch.allclose(conv, got, atol=1e-6)


def test_box_area_and_formats():
    boxes = torch.tensor([[1.0, 2, 4, 6], [0, 0, 0, 5]])
    assert ops.box_area(boxes).tolist() == [12.0, 0.0]
    assert ops.box_area(torch.tensor([[9.0, 9, 3, 4]]), fmt="cxcywh").tolist() == [12.0]
    assert ops.box_area(torch.tensor([[1, 2, 4, 6]], dtype=torch.int16)).dtype == torch.int32


def test_box_convert_hand_values_and_round_trips():
    xyxy = torch.tensor([[1.0, 2.0, 5.0, 8.0]])
    assert ops.box_convert(xyxy, "xyxy", "xywh").tolist() == [[1.0, 2.0, 4.0, 6.0]]
    assert ops.box_convert(xyxy, "xyxy", "cxcywh").tolist() == [[3.0, 5.0, 4.0, 6.0]]
    assert ops.box_convert(torch.tensor([[3.0, 5.0, 4.0, 6.0]]), "cxcywh", "xywh").tolist() == [[1.0, 2.0, 4.0, 6.0]]
    for a, b in itertools.permutations(("xyxy", "xywh", "cxcywh"), 2):
        assert torch.allclose(ops.box_convert(ops.box_convert(xyxy, "xyxy", a), a, b), ops.box_convert(xyxy, "xyxy", b))
    same = ops.box_convert(xyxy, "xywh", "xywh")
    assert torch.equal(same, xyxy) and same.data_ptr() != xyxy.data_ptr()
    with pytest.raises(ValueError, match="'xyxyxyxy'"):
        ops.box_convert(xyxy, "xyxy", "xyxyxyxy")


def test_clip_and_remove_small_boxes():
    boxes = torch.tensor([[-5.0, -1, 50, 20], [3, 4, 5, 6]])
    assert ops.clip_boxes_to_image(boxes, (10, 30)).tolist() == [[0.0, 0, 30, 10], [3, 4, 5, 6]]
    batched = ops.clip_boxes_to_image(boxes[None].repeat(2, 1, 1), (10, 30))
    assert batched.shape == (2, 2, 4)
    sizes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 1, 3], [0, 0, 3, 1.5], [0, 0, 5, 5]])
    keep = ops.remove_small_boxes(sizes, 2.0)
    assert keep.dtype == torch.int64 and keep.tolist() == [0, 3]


def test_box_ops_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"boxes1.*\(3, 3\)"):
        ops.box_iou(torch.zeros(3, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"boxes2.*\(4,\)"):
        ops.box_iou(torch.zeros(3, 4), torch.zeros(4))
    with pytest.raises(ValueError, match="'xyxz'"):
        ops.box_area(torch.zeros(3, 4), fmt="xyxz")
    with pytest.raises(ValueError, match=r"size.*\(10,\)"):
        ops.clip_boxes_to_image(torch.zeros(3, 4), (10,))
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(2, 3, 4\)"):
        ops.remove_small_boxes(torch.zeros(2, 3, 4), 1.0)


# ---------------------------------------------------------------------------------------------
# Equality with torchvision.ops (only where torchvision is installed)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def tv():
    return pytest.importorskip("torchvision.ops")


class TestAgainstTorchvision:
    """Every op against `torchvision.ops` on random inputs; float32 agreement within 1e-5."""

    @pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
    def test_roi_align(self, tv, dtype, tol):
        configs = itertools.product([(1, 3, 9, 13), (2, 4, 16, 11), (3, 2, 1, 7)], [1.0, 0.25], [-1, 2], [False, True])
        for seed, (shape, scale, sampling_ratio, aligned) in enumerate(configs):
            b, c, h, w = shape
            x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
            rois = _random_rois(60, b, h, w, scale, seed, dtype=dtype)
            if aligned and sampling_ratio <= 0:
                # torchvision fails ("cannot create std::vector larger than max_size()") on a
                # box inverted along one axis here: ceil() of the negative size makes a
                # negative sample count. Ours returns zeros (test above); compare upright boxes.
                rois[:, 3] = torch.maximum(rois[:, 3], rois[:, 1])
            for output_size in (7, (2, 3)):
                expected = tv.roi_align(x, rois, output_size, scale, sampling_ratio, aligned)
                got = ops.roi_align(x, rois, output_size, scale, sampling_ratio, aligned)
                assert (got - expected).abs().max().item() <= tol
                mean = ops.roi_align_mean(x, rois, output_size, scale, sampling_ratio, aligned)
                assert (mean - expected.mean(dim=(2, 3))).abs().max().item() <= tol

    def test_roi_align_list_boxes_and_empty(self, tv):
        x = torch.randn(2, 3, 10, 12)
        boxes = [torch.tensor([[1.0, 1, 6, 8], [0, 0, 12, 10]]), torch.tensor([[2.5, 3.5, 4.0, 9.0]])]
        assert (ops.roi_align(x, boxes, 3) - tv.roi_align(x, boxes, 3)).abs().max().item() <= 1e-5
        assert ops.roi_align(x, torch.zeros(0, 5), 3).shape == tv.roi_align(x, torch.zeros(0, 5), 3).shape

    def test_roi_align_grad(self, tv):
        x = torch.randn(2, 3, 12, 10, dtype=torch.float64, requires_grad=True)
        rois = _random_rois(30, 2, 12, 10, 0.5, seed=5)
        weight = torch.randn(30, 3, 7, 7, dtype=torch.float64)
        for aligned in (False, True):
            (g_tv,) = torch.autograd.grad((tv.roi_align(x, rois, 7, 0.5, 2, aligned) * weight).sum(), x)
            (g_ops,) = torch.autograd.grad((ops.roi_align(x, rois, 7, 0.5, 2, aligned) * weight).sum(), x)
            assert (g_ops - g_tv).abs().max().item() <= 1e-12

    def test_nms_and_batched_nms(self, tv):
        g = torch.Generator().manual_seed(7)
        for trial in range(40):
            n = int(torch.randint(1, 300, (), generator=g))
            dtype = torch.float32 if trial % 2 else torch.float64
            xy = torch.rand(n, 2, generator=g, dtype=dtype) * 100
            boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g, dtype=dtype) * 40], dim=1)
            if trial % 3 == 0:
                boxes = boxes.round()  # lattice boxes make IoUs equal to the threshold likely
            scores = torch.rand(n, generator=g, dtype=dtype)
            if trial % 5 == 0:
                scores = (scores * 4).round() / 4  # many equal scores
            thr = 0.5 if trial % 4 == 0 else float(torch.rand((), generator=g))
            assert torch.equal(ops.nms(boxes, scores, thr), tv.nms(boxes, scores, thr))
            idxs = torch.randint(0, 5, (n,), generator=g)
            assert torch.equal(ops.batched_nms(boxes, scores, idxs, thr), tv.batched_nms(boxes, scores, idxs, thr))

    def test_box_ops(self, tv):
        g = torch.Generator().manual_seed(9)
        a = torch.rand(40, 4, generator=g) * 50
        a[:, 2:] += a[:, :2]
        b = torch.rand(30, 4, generator=g) * 50 - 10
        for fmt in ("xyxy", "xywh", "cxcywh"):
            assert torch.equal(ops.box_iou(a, b, fmt), tv.box_iou(a, b, fmt))
            assert torch.equal(ops.box_area(a, fmt), tv.box_area(a, fmt))
        for i, o in itertools.product(("xyxy", "xywh", "cxcywh"), repeat=2):
            for boxes in (a, a.double(), (a * 10).long()):
                expected = tv.box_convert(boxes, i, o)
                got = ops.box_convert(boxes, i, o)
                assert got.dtype == expected.dtype and torch.equal(got, expected)
        assert torch.equal(ops.clip_boxes_to_image(b, (30, 40)), tv.clip_boxes_to_image(b, (30, 40)))
        assert torch.equal(ops.remove_small_boxes(b, 10.0), tv.remove_small_boxes(b, 10.0))
