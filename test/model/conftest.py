"""Fixtures shared by the model tests."""

import pytest

from fo1_ros.model import boxes, roi_align
from test.setup_mode import unavailable


@pytest.fixture
def tv():
    """`torchvision.ops`: the reference the plain-torch RoIAlign and NMS are compared with.

    Skips where torchvision is not importable (a core install: no torchvision wheel works beside
    the CPU build of torch); fails in the test set-up, which installs it.
    """
    try:
        import torchvision.ops
    except ImportError as e:
        error = f"{type(e).__name__}: {e}"
    else:
        return torchvision.ops
    unavailable("torchvision", error)  # outside the except: the report shows this message alone


@pytest.fixture(params=["torch", "torchvision"])
def backend(request, monkeypatch):
    """Run the test once per implementation of RoIAlign and NMS (`BACKEND` of roi_align.py and
    boxes.py): "torch", the plain-torch fallback and reference, and "torchvision", torchvision.ops
    (which needs torchvision: see `tv`)."""
    if request.param == "torchvision":
        request.getfixturevalue("tv")
    monkeypatch.setattr(boxes, "BACKEND", request.param)
    monkeypatch.setattr(roi_align, "BACKEND", request.param)
    return request.param
