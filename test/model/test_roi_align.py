"""Tests for fo1_ros.model.roi_align: RoIAlign with torchvision.ops semantics.

Most expected values are worked out by hand on a linear "ramp" map `F[y, x] = W*y + x`, on
which bilinear interpolation is exact, so a RoIAlign bin equals the ramp at the mean sample
position (as long as no sample is clamped or dropped). A ramp hides how many samples a bin
takes, so the adaptive grid on wide and tall boxes is checked on F = x^2 by hand and against
`_slow_roi_align`, a loop-per-sample reference written from torchvision's definition. Every
test runs on both backends (the `backend` fixture in conftest.py): the plain-torch fallback and
`torchvision.ops`. `TestAgainstTorchvision` compares with `torchvision.ops.roi_align` (the `tv`
fixture: skipped without torchvision, failed in the test set-up, which installs it).
"""

import itertools
import math

import pytest
import torch

from fo1_ros.model.roi_align import roi_align, roi_align_mean

pytestmark = pytest.mark.usefixtures("backend")


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
    one = roi_align(x, box, 1, sampling_ratio=2)
    assert one.shape == (1, 1, 1, 1)
    assert one.item() == pytest.approx(5.0)
    # Four unit bins sampled at their centres 0.5 and 1.5.
    four = roi_align(x, box, 2, sampling_ratio=1)
    assert torch.allclose(four[0, 0], torch.tensor([[2.5, 3.5], [6.5, 7.5]]))


def test_roi_align_aligned_shifts_half_pixel():
    x = _ramp(4, 4)
    box = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])
    # aligned: start -0.5, bins [-0.5, 0.5] and [0.5, 1.5], centres 0 and 1 (pixel centres).
    out = roi_align(x, box, 2, sampling_ratio=1, aligned=True)
    assert torch.allclose(out[0, 0], torch.tensor([[0.0, 1.0], [4.0, 5.0]]))


def test_roi_align_adaptive_grid_differs_from_fixed():
    x = _ramp(4, 4)
    box = torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])
    # Adaptive grid ceil(4/1) = 4: samples 0.5, 1.5, 2.5, 3.5, and 3.5 lies past H-1 = 3 so it
    # reads row 3: mean position (0.5+1.5+2.5+3)/4 = 1.875 per axis -> 4*1.875 + 1.875.
    adaptive = roi_align(x, box, 1)
    assert adaptive.item() == pytest.approx(9.375)
    # sampling_ratio 2: samples 1 and 3, mean position 2 -> 10.
    fixed = roi_align(x, box, 1, sampling_ratio=2)
    assert fixed.item() == pytest.approx(10.0)


def test_roi_align_samples_outside_count_but_add_zero():
    x = _ramp(1, 4) + 1.0  # one row [1, 2, 3, 4]
    # x samples -2.5, -1.5 (< -1: dropped), -0.5 (clamped to 0: reads 1), 0.5 (reads 1.5); each
    # of the 4 y samples reads row 0. Sum 4 * 2.5 over count 16.
    left = roi_align(x, torch.tensor([[0.0, -3.0, 0.0, 1.0, 1.0]]), 1, sampling_ratio=4)
    assert left.item() == pytest.approx(0.625)
    # x samples 3.5 (past W-1: reads column 3 = 4) and 4.5 (> W: dropped); count 4.
    right = roi_align(x, torch.tensor([[0.0, 3.0, 0.0, 5.0, 1.0]]), 1, sampling_ratio=2)
    assert right.item() == pytest.approx(2.0)


def test_roi_align_validity_limits_are_inclusive():
    x = _ramp(1, 4) + 1.0
    at_w = roi_align(x, torch.tensor([[0.0, 3.5, 0.0, 4.5, 1.0]]), 1, sampling_ratio=1)
    assert at_w.item() == pytest.approx(4.0)  # x == W is still valid, reads column W-1
    at_minus_one = roi_align(x, torch.tensor([[0.0, -1.5, 0.0, -0.5, 1.0]]), 1, sampling_ratio=1)
    assert at_minus_one.item() == pytest.approx(1.0)  # x == -1 is valid, clamps to column 0
    beyond = roi_align(x, torch.tensor([[0.0, -1.75, 0.0, -0.75, 1.0]]), 1, sampling_ratio=1)
    assert beyond.item() == 0.0  # x == -1.25 is dropped


def test_roi_align_tiny_box_legacy_is_forced_to_one_pixel():
    x = _ramp(4, 4)
    # Not aligned: the 0.2 px box becomes 1 x 1, bins 0.5, grid ceil(1/2) = 1, samples 1.25, 1.75.
    out = roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.2, 1.2]]), 2)
    expected = torch.tensor([[4 * 1.25 + 1.25, 4 * 1.25 + 1.75], [4 * 1.75 + 1.25, 4 * 1.75 + 1.75]])
    assert torch.allclose(out[0, 0], expected)


def test_roi_align_tiny_box_aligned_stays_tiny():
    x = _ramp(4, 4)
    # Aligned: start 0.5, size 0.2, grid ceil(0.2) = 1, one sample at 0.6 per axis.
    tiny = roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.2, 1.2]]), 1, aligned=True)
    assert tiny.item() == pytest.approx(4 * 0.6 + 0.6)
    # Zero-size and inverted boxes have an empty adaptive grid: zeros.
    empty = roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 3.0, 1.0, 2.0, 2.0]]), 2, aligned=True)
    assert torch.equal(empty, torch.zeros(2, 1, 2, 2))


@pytest.mark.parametrize(
    "box, aligned, sampling_ratio",
    [
        ([4.0, 1.0, 1.0, 3.0], True, -1),  # inverted by 1.5 bins in x: a negative adaptive grid
        ([1.0, 4.0, 3.0, 1.0], True, 0),  # the same in y
        ([4.0, 4.0, 1.0, 1.0], True, -1),  # inverted along both axes
        ([float("nan"), 1.0, 3.0, 3.0], True, -1),
        ([float("nan"), 1.0, 3.0, 3.0], False, -1),
        ([1.0, float("nan"), 3.0, 3.0], False, 2),
        ([1.0, 1.0, float("inf"), 3.0], False, 2),  # torchvision 0.29's CPU kernel crashes the process here
        ([float("-inf"), 1.0, 3.0, 3.0], True, 2),
    ],
)
def test_roi_align_degenerate_boxes_give_zeros_beside_a_normal_box(box, aligned, sampling_ratio):
    x = _ramp(6, 6, channels=2) + 1.0  # every pixel > 0: a zero output is no accident
    rois = torch.tensor([[0.0, *box], [0.0, 1.0, 1.0, 4.0, 4.0]])
    out = roi_align(x, rois, 2, sampling_ratio=sampling_ratio, aligned=aligned)
    assert torch.equal(out[0], torch.zeros(2, 2, 2))
    assert (out[1] > 0).all()
    assert torch.equal(roi_align_mean(x, rois, 2, sampling_ratio=sampling_ratio, aligned=aligned)[0], torch.zeros(2))


def test_roi_align_routes_batch_index_and_accepts_list():
    x = _ramp(4, 4, batch=3, channels=2)
    rois = torch.tensor([[2.0, 0, 0, 2, 2], [0.0, 0, 0, 2, 2], [1.0, 0, 0, 2, 2], [2.0, 1, 1, 3, 3]])
    out = roi_align(x, rois, 1, sampling_ratio=2)  # (4, 2, 1, 1)
    # Centre (1, 1) reads 5 on channel 0 and 10 on channel 1, plus 100 * image.
    expected = torch.tensor([[205.0, 210.0], [5.0, 10.0], [105.0, 110.0], [200.0 + 10.0, 200.0 + 20.0]])
    assert torch.allclose(out[:, :, 0, 0], expected)
    as_list = [rois[rois[:, 0] == b, 1:] for b in range(3)]
    from_list = roi_align(x, as_list, 1, sampling_ratio=2)
    assert torch.allclose(from_list[:, :, 0, 0], expected[[1, 2, 0, 3]])


def test_roi_align_spatial_scale_maps_image_to_map_pixels():
    x = _ramp(4, 4)
    a = roi_align(x, torch.tensor([[0.0, 0, 0, 4, 4]]), (2, 3), spatial_scale=0.5)
    b = roi_align(x, torch.tensor([[0.0, 0, 0, 2, 2]]), (2, 3))
    assert a.shape == (1, 1, 2, 3)
    assert torch.equal(a, b)


def test_roi_align_empty_boxes():
    x = torch.randn(2, 3, 5, 5)
    assert roi_align(x, torch.zeros(0, 5), (2, 4)).shape == (0, 3, 2, 4)
    assert roi_align(x, [torch.zeros(0, 4), torch.zeros(0, 4)], 7).shape == (0, 3, 7, 7)
    assert roi_align_mean(x, torch.zeros(0, 5), 7).shape == (0, 3)


def test_roi_align_output_dtypes():
    x = torch.randn(1, 4, 9, 9)
    rois = torch.tensor([[0.0, 0.5, 1.0, 7.5, 6.0], [0.0, 2.0, 2.0, 3.0, 8.0]])
    ref = roi_align(x, rois, 3)
    for dtype in (torch.bfloat16, torch.float16):
        low = roi_align(x.to(dtype), rois, 3)
        assert low.dtype == dtype
        # Only the input rounding differs: pooling itself runs in float32.
        assert torch.allclose(low.float(), roi_align(x.to(dtype).float(), rois, 3), atol=1e-2)
        assert roi_align_mean(x.to(dtype), rois, 3).dtype == dtype
    double = roi_align(x.double(), rois, 3)
    assert double.dtype == torch.float64
    assert torch.allclose(double.float(), ref, atol=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: roi_align(torch.zeros(3, 4, 4), torch.zeros(1, 5), 2), r"\(B, C, H, W\)"),
        (lambda: roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4), 2), r"\(K, 5\).*\(2, 4\)"),
        (lambda: roi_align(torch.zeros(1, 1, 4, 4), [torch.zeros(2, 5)], 2), r"boxes\[0\].*\(2, 5\)"),
        (lambda: roi_align(torch.zeros(2, 1, 4, 4), torch.tensor([[2.0, 0, 0, 1, 1]]), 2), r"\[0, 1\].*\[2, 2\]"),
        (lambda: roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 0), "output_size"),
        (lambda: roi_align_mean(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), (2, 2, 2)), "output_size"),
    ],
)
def test_roi_align_rejects_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_roi_align_rejects_integer_map():
    with pytest.raises(TypeError, match="floating"):
        roi_align(torch.zeros(1, 1, 4, 4, dtype=torch.int64), torch.zeros(1, 5), 2)


# ---------------------------------------------------------------------------------------------
# roi_align_mean
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 1, 2, 3])
def test_roi_align_mean_equals_mean_of_roi_align(aligned, sampling_ratio):
    x = torch.randn(2, 6, 17, 23, dtype=torch.float64)
    rois = _random_rois(240, 2, 17, 23, 0.25, seed=sampling_ratio + 10 * aligned)
    for output_size, dtype, tol in [(7, torch.float64, 1e-12), ((3, 5), torch.float32, 1e-5)]:
        expected = roi_align(x.to(dtype), rois, output_size, 0.25, sampling_ratio, aligned).mean(dim=(2, 3))
        got = roi_align_mean(x.to(dtype), rois, output_size, 0.25, sampling_ratio, aligned)
        assert got.shape == (240, 6)
        assert (got - expected).abs().max().item() < tol


def test_roi_align_mean_keeps_box_order_across_images():
    x = _ramp(4, 4, batch=3)
    rois = torch.tensor([[2.0, 0, 0, 2, 2], [0.0, 0, 0, 2, 2], [1.0, 0, 0, 2, 2], [0.0, 1, 1, 3, 3]])
    got = roi_align_mean(x, rois, 1, sampling_ratio=2)[:, 0]
    assert torch.allclose(got, torch.tensor([205.0, 5.0, 105.0, 10.0]))


def test_roi_align_mean_all_boxes_outside_gives_zeros_and_zero_grad():
    x = torch.randn(1, 3, 6, 6, requires_grad=True)
    rois = torch.tensor([[0.0, 20, 20, 30, 30], [0.0, -30, -30, -20, -20]])
    out = roi_align_mean(x, rois, 7)
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
    assert torch.autograd.gradcheck(lambda t: roi_align(t, rois, (2, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: roi_align_mean(t, rois, 2, aligned=True), (x,))


def test_roi_align_mean_grad_equals_grad_of_mean():
    x = torch.randn(2, 4, 11, 13, requires_grad=True)
    rois = _random_rois(50, 2, 11, 13, 1.0, seed=3, dtype=torch.float32)
    (g_ref,) = torch.autograd.grad(roi_align(x, rois, 7).mean(dim=(2, 3)).square().sum(), x)
    (g_got,) = torch.autograd.grad(roi_align_mean(x, rois, 7).square().sum(), x)
    assert g_ref.abs().sum() > 0
    assert torch.allclose(g_got, g_ref, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Equality with torchvision.ops (skipped without torchvision, failed in the test set-up)
# ---------------------------------------------------------------------------------------------


class TestAgainstTorchvision:
    """RoIAlign against `torchvision.ops` on random unit-variance inputs: float32 within 1e-6 (twice
    the 4.8e-7, one float32 ulp at 4-8, measured in benchmarks/results/cpu_ops_backends.log).

    On the "torch" backend this checks the plain-torch fallback; on "torchvision" the dispatch
    (argument handling, zeroed degenerate boxes, the mean) around torchvision's kernel."""

    @pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
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
                got = roi_align(x, rois, output_size, scale, sampling_ratio, aligned)
                assert (got - expected).abs().max().item() <= tol
                mean = roi_align_mean(x, rois, output_size, scale, sampling_ratio, aligned)
                assert (mean - expected.mean(dim=(2, 3))).abs().max().item() <= tol

    def test_roi_align_list_boxes_and_empty(self, tv):
        x = torch.randn(2, 3, 10, 12)
        boxes = [torch.tensor([[1.0, 1, 6, 8], [0, 0, 12, 10]]), torch.tensor([[2.5, 3.5, 4.0, 9.0]])]
        assert (roi_align(x, boxes, 3) - tv.roi_align(x, boxes, 3)).abs().max().item() <= 1e-6
        assert roi_align(x, torch.zeros(0, 5), 3).shape == tv.roi_align(x, torch.zeros(0, 5), 3).shape

    def test_roi_align_grad(self, tv):
        x = torch.randn(2, 3, 12, 10, dtype=torch.float64, requires_grad=True)
        rois = _random_rois(30, 2, 12, 10, 0.5, seed=5)
        weight = torch.randn(30, 3, 7, 7, dtype=torch.float64)
        for aligned in (False, True):
            (g_tv,) = torch.autograd.grad((tv.roi_align(x, rois, 7, 0.5, 2, aligned) * weight).sum(), x)
            (g_ops,) = torch.autograd.grad((roi_align(x, rois, 7, 0.5, 2, aligned) * weight).sum(), x)
            assert (g_ops - g_tv).abs().max().item() <= 1e-12


# ---------------------------------------------------------------------------------------------
# Non-square boxes: the adaptive grid per axis, against a slow reference written from the definition
# ---------------------------------------------------------------------------------------------


def _bilinear(f: list[list[float]], y: float, x: float) -> float:
    """One sample of the (H, W) map `f` (nested lists) as torchvision's `bilinear_interpolate`
    (roi_align_kernel.cpp) takes it."""
    h, w = len(f), len(f[0])
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_lo, x_lo = int(y), int(x)
    if y_lo >= h - 1:
        y_lo = y_hi = h - 1
        y = float(y_lo)
    else:
        y_hi = y_lo + 1
    if x_lo >= w - 1:
        x_lo = x_hi = w - 1
        x = float(x_lo)
    else:
        x_hi = x_lo + 1
    ly, lx = y - y_lo, x - x_lo
    hy, hx = 1.0 - ly, 1.0 - lx
    return hy * hx * f[y_lo][x_lo] + hy * lx * f[y_lo][x_hi] + ly * hx * f[y_hi][x_lo] + ly * lx * f[y_hi][x_hi]


def _slow_roi_align(fmap, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoIAlign by explicit loops over boxes, bins and sample points. fmap (B, 1, H, W) float64 -> (K, oh, ow)."""
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    offset = 0.5 if aligned else 0.0
    out = torch.zeros(len(rois), oh, ow, dtype=torch.float64)
    maps = fmap[:, 0].tolist()  # (B, H, W) as lists
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        start_x, start_y = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - start_x, y2 * spatial_scale - offset - start_y
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / oh, roi_w / ow
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / oh)  # rows of samples per bin
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / ow)  # columns of samples per bin
        for ph in range(oh):
            for pw in range(ow):
                total = 0.0
                for iy in range(grid_h):
                    y = start_y + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = start_x + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += _bilinear(maps[int(b)], y, x)
                out[k, ph, pw] = total / max(grid_h * grid_w, 1)
    return out


def test_roi_align_adaptive_grid_of_a_wide_and_a_tall_box_by_hand():
    # F = x^2 (constant down a column). Wide box 8 x 2 px, one bin: the adaptive grid is 8 columns
    # x 2 rows of samples, at x = 0.5 .. 7.5, where bilinear F is (k^2 + (k+1)^2) / 2: mean
    # (sum_{0..7} k^2 + sum_{1..8} k^2) / 16 = (140 + 204) / 16 = 21.5. With the grids swapped
    # (2 columns at x = 2, 6) it would be (4 + 36) / 2 = 20.
    xs = torch.arange(10, dtype=torch.float64)
    wide_map = (xs**2).expand(3, 10)[None, None]  # (1, 1, 3, 10)
    wide = roi_align(wide_map, torch.tensor([[0.0, 0, 0, 8, 2]], dtype=torch.float64), 1)
    assert wide.item() == pytest.approx(21.5, abs=1e-12)
    # The same box standing up on F = y^2: 8 rows x 2 columns of samples, same answer.
    tall_map = wide_map.transpose(2, 3).contiguous()  # (1, 1, 10, 3)
    tall = roi_align(tall_map, torch.tensor([[0.0, 0, 0, 2, 8]], dtype=torch.float64), 1)
    assert tall.item() == pytest.approx(21.5, abs=1e-12)
    assert roi_align_mean(tall_map, torch.tensor([[0.0, 0, 0, 2, 8]], dtype=torch.float64), 1).item() == (
        pytest.approx(21.5, abs=1e-12))


# wide and tall boxes whose sides are not whole multiples of the bins, so ceil and floor differ
NON_SQUARE = [[0, 0.3, 1.1, 21.7, 3.4], [0, 2.2, 0.4, 5.1, 16.9], [1, 1.5, 6.0, 19.6, 7.3],
              [1, 10.2, 0.0, 11.0, 14.6], [0, -1.5, 2.5, 23.5, 5.5], [1, 4.0, -2.0, 6.5, 19.0]]


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("output_size", [7, (2, 5), (5, 2)])
def test_roi_align_on_wide_and_tall_boxes_matches_the_slow_reference(output_size, aligned):
    # the region encoder's mode: adaptive grid (sampling_ratio -1), spatial scale of a strided map
    x = torch.randn(2, 1, 18, 24, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    rois = torch.tensor(NON_SQUARE, dtype=torch.float64)
    for scale in (1.0, 0.5):
        expected = _slow_roi_align(x, rois, output_size, scale, -1, aligned)  # (K, oh, ow)
        got = roi_align(x, rois, output_size, scale, -1, aligned)[:, 0]
        assert (got - expected).abs().max().item() < 1e-12
        mean = roi_align_mean(x, rois, output_size, scale, -1, aligned)[:, 0]
        assert (mean - expected.mean(dim=(1, 2))).abs().max().item() < 1e-12


def test_roi_align_fixed_grid_on_non_square_boxes_matches_the_slow_reference():
    x = torch.randn(2, 1, 18, 24, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    rois = torch.tensor(NON_SQUARE, dtype=torch.float64)
    for ratio in (1, 3):
        expected = _slow_roi_align(x, rois, (3, 4), 1.0, ratio, False)
        assert (roi_align(x, rois, (3, 4), 1.0, ratio)[:, 0] - expected).abs().max().item() < 1e-12
