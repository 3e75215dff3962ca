"""Which code RoIAlign and NMS run: `BACKEND` of fo1_ros/model/roi_align.py and boxes.py.

"auto" runs torchvision.ops' NMS wherever torchvision imports and its RoIAlign on tensors off the
CPU; "torch" never touches torchvision; without torchvision "auto" falls back to plain torch and
"torchvision" raises. The calls into torchvision are counted by wrapping the real functions
(they still run).
"""

import sys

import pytest
import torch

from fo1_ros.model import boxes as box_ops
from fo1_ros.model import roi_align as ra


@pytest.fixture
def tv_calls(tv, monkeypatch):
    """Counts of the calls into `torchvision.ops.nms` / `roi_align` (the real functions run)."""
    calls = {"nms": 0, "roi_align": 0}
    for name in calls:
        real = getattr(tv, name)

        def counted(*args, _name=name, _real=real, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(tv, name, counted)
    return calls


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 8, 20, 24, generator=g) * 10
    xy = torch.rand(30, 2, generator=g) * 80
    boxes = torch.cat([xy, xy + 5 + torch.rand(30, 2, generator=g) * 40], dim=1)
    return x, boxes, torch.rand(30, generator=g), torch.randint(0, 3, (30,), generator=g)


def test_auto_runs_torchvision_nms_and_keeps_cpu_roi_align_in_plain_torch(tv, tv_calls, monkeypatch):
    monkeypatch.setattr(box_ops, "BACKEND", "auto")
    monkeypatch.setattr(ra, "BACKEND", "auto")
    x, boxes, scores, labels = _inputs()
    assert torch.equal(box_ops.nms(boxes, scores, 0.5), box_ops.nms_torch(boxes, scores, 0.5))
    assert torch.equal(box_ops.batched_nms(boxes, scores, labels, 0.5),
                       box_ops.batched_nms_torch(boxes, scores, labels, 0.5))
    assert tv_calls["nms"] == 1 + 3  # one call, then one per category
    # On the CPU the plain-torch RoIAlign is the faster one: bit-identical to it, torchvision untouched.
    assert torch.equal(ra.roi_align(x, [boxes], 7, 0.25), ra.roi_align_torch(x, [boxes], 7, 0.25))
    assert torch.equal(ra.roi_align_mean(x, [boxes], 7, 0.25), ra.roi_align_mean_torch(x, [boxes], 7, 0.25))
    assert tv_calls["roi_align"] == 0


def test_auto_picks_torchvision_roi_align_for_tensors_off_the_cpu(tv, monkeypatch):
    monkeypatch.setattr(ra, "BACKEND", "auto")
    assert ra._kernels_for(torch.empty(1, 1, 2, 2, device="meta")) is tv
    assert ra._kernels_for(torch.empty(1, 1, 2, 2)) is None


def test_torchvision_backend_gives_torchvision_results(tv, tv_calls, monkeypatch):
    monkeypatch.setattr(ra, "BACKEND", "torchvision")
    x, boxes, _, _ = _inputs()
    expected = tv.roi_align(x, [boxes], 7, 0.25)
    assert torch.equal(ra.roi_align(x, [boxes], 7, 0.25), expected)
    assert torch.equal(ra.roi_align_mean(x, [boxes], 7, 0.25), expected.mean(dim=(2, 3)))
    # The plain-torch code differs from torchvision's kernel in float rounding only.
    plain = ra.roi_align_torch(x, [boxes], 7, 0.25)
    assert 0 < (plain - expected).abs().max().item() < 1e-5


def test_torch_backend_never_calls_torchvision(tv, tv_calls, monkeypatch):
    monkeypatch.setattr(box_ops, "BACKEND", "torch")
    monkeypatch.setattr(ra, "BACKEND", "torch")
    x, boxes, scores, labels = _inputs()
    box_ops.nms(boxes, scores, 0.5)
    box_ops.batched_nms(boxes, scores, labels, 0.5)
    ra.roi_align(x, [boxes], 7, 0.25)
    ra.roi_align_mean(x, [boxes], 7, 0.25)
    assert tv_calls == {"nms": 0, "roi_align": 0}


def test_without_torchvision_auto_falls_back_and_torchvision_backend_raises(monkeypatch):
    # `None` in sys.modules makes `import torchvision.ops` raise ImportError, as where it is absent.
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.ops", None)
    box_ops._import_torchvision_ops.cache_clear()
    try:
        assert box_ops.torchvision_ops("auto") is None
        with pytest.raises(ImportError, match="backend 'torchvision'.*does not import"):
            box_ops.torchvision_ops("torchvision")
        monkeypatch.setattr(box_ops, "BACKEND", "auto")
        boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
        assert box_ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    finally:
        box_ops._import_torchvision_ops.cache_clear()  # the next test imports the real one again


def test_backend_names_are_checked():
    with pytest.raises(ValueError, match="'cuda'"):
        box_ops.torchvision_ops("cuda")
    assert box_ops.torchvision_ops("torch") is None
