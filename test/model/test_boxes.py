"""Tests for fo1_ros.model.boxes: NMS and box ops with torchvision.ops semantics.

The NMS tests run on both backends (the `backend` fixture in conftest.py): the plain-torch
fallback and `torchvision.ops`. `TestAgainstTorchvision` compares every op with its
`torchvision.ops` namesake (the `tv` fixture: skipped without torchvision, failed in the test
set-up, which installs it).
"""

import itertools

import pytest
import torch

from fo1_ros.model import boxes as box_ops

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


def test_nms_suppresses_above_threshold_only(backend):
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(0, 1) = 81 / 119 = 0.68.
    assert box_ops.nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert box_ops.nms(boxes, scores, 0.7).tolist() == [0, 1, 2]
    keep = box_ops.nms(boxes, torch.tensor([0.1, 0.8, 0.9]), 0.5)
    assert keep.dtype == torch.int64
    assert keep.tolist() == [2, 1]


def test_nms_equal_scores_keep_input_order(backend):
    far = torch.tensor([[0.0, 0, 1, 1], [10, 0, 11, 1], [20, 0, 21, 1], [30, 0, 31, 1]])
    assert box_ops.nms(far, torch.tensor([0.5, 0.9, 0.5, 0.5]), 0.5).tolist() == [1, 0, 2, 3]
    # 40 identical boxes with one score: the first survives (torchvision sorts stably).
    same = torch.tensor([[0.0, 0, 10, 10]]).repeat(40, 1)
    assert box_ops.nms(same, torch.ones(40), 0.5).tolist() == [0]


def test_nms_iou_exactly_at_threshold_is_kept(backend):
    boxes = torch.tensor([[0.0, 0, 2, 1], [0, 0, 1, 1]])  # IoU exactly 1/2
    assert box_ops.nms(boxes, torch.tensor([1.0, 0.5]), 0.5).tolist() == [0, 1]


def test_nms_float32_iou_compared_in_double_like_torchvision(backend):
    # IoU 4/5 rounds to 0.800000012 in float32, which is > 0.8 in double: suppressed, as in
    # torchvision's CPU kernel; in float64 it equals the threshold and is kept.
    boxes = torch.tensor([[0.0, 0, 5, 1], [0, 0, 4, 1]])
    scores = torch.tensor([1.0, 0.5])
    assert box_ops.nms(boxes, scores, 0.8).tolist() == [0]
    assert box_ops.nms(boxes.double(), scores.double(), 0.8).tolist() == [0, 1]


def test_nms_degenerate_and_empty(backend):
    points = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1]])  # 0/0 IoU is NaN: never suppresses
    assert box_ops.nms(points, torch.tensor([0.2, 0.3]), 0.1).tolist() == [1, 0]
    empty = box_ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.int64 and empty.numel() == 0


def test_nms_torch_blocked_path_matches_reference(monkeypatch):
    # Tiny blocks exercise the block / cross-block / column-chunk passes of the plain-torch NMS.
    monkeypatch.setattr(box_ops, "_NMS_BLOCK", 7)
    monkeypatch.setattr(box_ops, "_NMS_COLUMN_CHUNK", 5)
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(150, 2, generator=g) * 60
    boxes = torch.cat([xy, xy + 5 + torch.rand(150, 2, generator=g) * 30], dim=1).double()
    scores = (torch.rand(150, generator=g) * 8).round() / 8  # many ties
    groups = torch.randint(0, 3, (150,), generator=g)
    for thr in (0.3, 0.5, 0.7):
        assert box_ops.nms_torch(boxes, scores, thr).tolist() == _reference_nms(boxes, scores, thr)
        expected = _reference_nms(boxes, scores, thr, groups.tolist())
        assert box_ops.batched_nms_torch(boxes, scores, groups, thr).tolist() == expected


def test_batched_nms_suppresses_within_category_only(backend):
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]])
    scores = torch.tensor([0.6, 0.9, 0.8, 0.7])
    idxs = torch.tensor([0, 1, 0, 0])
    assert box_ops.batched_nms(boxes, scores, idxs, 0.5).tolist() == [1, 2, 3]
    # All-negative coordinates: torchvision's offset trick merges these two categories.
    negative = torch.tensor([[-10.0, -10, -1, -1], [-10, -10, -1, -1]])
    kept = box_ops.batched_nms(negative, torch.tensor([1.0, 0.9]), torch.tensor([0, 1]), 0.5)
    assert kept.tolist() == [0, 1]
    assert box_ops.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


def test_nms_rejects_bad_shapes(backend):
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(3, 5\)"):
        box_ops.nms(torch.zeros(3, 5), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"scores.*\(3,\).*\(2,\)"):
        box_ops.nms(torch.zeros(3, 4), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match=r"idxs.*\(3,\).*\(3, 1\)"):
        box_ops.batched_nms(torch.zeros(3, 4), torch.zeros(3), torch.zeros(3, 1), 0.5)


# ---------------------------------------------------------------------------------------------
# Box ops
# ---------------------------------------------------------------------------------------------


def test_box_iou_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(7, 4, generator=g) * 20
    a[:, 2:] += a[:, :2]
    b = torch.rand(9, 4, generator=g) * 20
    b[:, 2:] += b[:, :2]
    got = box_ops.box_iou(a, b)
    assert got.shape == (7, 9)
    for i, j in itertools.product(range(7), range(9)):
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a[i].tolist(), b[j].tolist()
        inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
        union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
        assert got[i, j].item() == pytest.approx(inter / union, abs=1e-6)
    one = box_ops.box_iou(torch.tensor([[0.0, 0, 2, 2]]), torch.tensor([[1.0, 1, 3, 3]])).item()
    assert one == pytest.approx(1 / 7)
    # Same IoU from the other formats.
    for fmt in ("xywh", "cxcywh"):
        conv = box_ops.box_iou(box_ops.box_convert(a, "xyxy", fmt), box_ops.box_convert(b, "xyxy", fmt), fmt=fmt)
        assert torch.allclose(conv, got, atol=1e-6)


def test_box_area_and_formats():
    boxes = torch.tensor([[1.0, 2, 4, 6], [0, 0, 0, 5]])
    assert box_ops.box_area(boxes).tolist() == [12.0, 0.0]
    assert box_ops.box_area(torch.tensor([[9.0, 9, 3, 4]]), fmt="cxcywh").tolist() == [12.0]
    assert box_ops.box_area(torch.tensor([[1, 2, 4, 6]], dtype=torch.int16)).dtype == torch.int32


def test_box_convert_hand_values_and_round_trips():
    xyxy = torch.tensor([[1.0, 2.0, 5.0, 8.0]])
    assert box_ops.box_convert(xyxy, "xyxy", "xywh").tolist() == [[1.0, 2.0, 4.0, 6.0]]
    assert box_ops.box_convert(xyxy, "xyxy", "cxcywh").tolist() == [[3.0, 5.0, 4.0, 6.0]]
    from_cxcywh = box_ops.box_convert(torch.tensor([[3.0, 5.0, 4.0, 6.0]]), "cxcywh", "xywh")
    assert from_cxcywh.tolist() == [[1.0, 2.0, 4.0, 6.0]]
    for a, b in itertools.permutations(("xyxy", "xywh", "cxcywh"), 2):
        via_a = box_ops.box_convert(box_ops.box_convert(xyxy, "xyxy", a), a, b)
        assert torch.allclose(via_a, box_ops.box_convert(xyxy, "xyxy", b))
    same = box_ops.box_convert(xyxy, "xywh", "xywh")
    assert torch.equal(same, xyxy) and same.data_ptr() != xyxy.data_ptr()
    with pytest.raises(ValueError, match="'xyxyxyxy'"):
        box_ops.box_convert(xyxy, "xyxy", "xyxyxyxy")


def test_clip_and_remove_small_boxes():
    boxes = torch.tensor([[-5.0, -1, 50, 20], [3, 4, 5, 6]])
    assert box_ops.clip_boxes_to_image(boxes, (10, 30)).tolist() == [[0.0, 0, 30, 10], [3, 4, 5, 6]]
    batched = box_ops.clip_boxes_to_image(boxes[None].repeat(2, 1, 1), (10, 30))
    assert batched.shape == (2, 2, 4)
    sizes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 1, 3], [0, 0, 3, 1.5], [0, 0, 5, 5]])
    keep = box_ops.remove_small_boxes(sizes, 2.0)
    assert keep.dtype == torch.int64 and keep.tolist() == [0, 3]


def test_box_ops_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"boxes1.*\(3, 3\)"):
        box_ops.box_iou(torch.zeros(3, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"boxes2.*\(4,\)"):
        box_ops.box_iou(torch.zeros(3, 4), torch.zeros(4))
    with pytest.raises(ValueError, match="'xyxz'"):
        box_ops.box_area(torch.zeros(3, 4), fmt="xyxz")
    with pytest.raises(ValueError, match=r"size.*\(10,\)"):
        box_ops.clip_boxes_to_image(torch.zeros(3, 4), (10,))
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(2, 3, 4\)"):
        box_ops.remove_small_boxes(torch.zeros(2, 3, 4), 1.0)


# ---------------------------------------------------------------------------------------------
# Equality with torchvision.ops (skipped without torchvision, failed in the test set-up)
# ---------------------------------------------------------------------------------------------


class TestAgainstTorchvision:
    """NMS and the box ops against `torchvision.ops` on random inputs: the same indices, the same values."""

    def test_nms_and_batched_nms(self, tv, backend):
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
            assert torch.equal(box_ops.nms(boxes, scores, thr), tv.nms(boxes, scores, thr))
            idxs = torch.randint(0, 5, (n,), generator=g)
            assert torch.equal(box_ops.batched_nms(boxes, scores, idxs, thr), tv.batched_nms(boxes, scores, idxs, thr))

    def test_box_ops(self, tv):
        g = torch.Generator().manual_seed(9)
        a = torch.rand(40, 4, generator=g) * 50
        a[:, 2:] += a[:, :2]
        b = torch.rand(30, 4, generator=g) * 50 - 10
        for fmt in ("xyxy", "xywh", "cxcywh"):
            assert torch.equal(box_ops.box_iou(a, b, fmt), tv.box_iou(a, b, fmt))
            assert torch.equal(box_ops.box_area(a, fmt), tv.box_area(a, fmt))
        for i, o in itertools.product(("xyxy", "xywh", "cxcywh"), repeat=2):
            for boxes in (a, a.double(), (a * 10).long()):
                expected = tv.box_convert(boxes, i, o)
                got = box_ops.box_convert(boxes, i, o)
                assert got.dtype == expected.dtype and torch.equal(got, expected)
        assert torch.equal(box_ops.clip_boxes_to_image(b, (30, 40)), tv.clip_boxes_to_image(b, (30, 40)))
        assert torch.equal(box_ops.remove_small_boxes(b, 10.0), tv.remove_small_boxes(b, 10.0))
