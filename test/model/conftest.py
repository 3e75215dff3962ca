"""Fixtures shared by the model tests."""

import pytest


@pytest.fixture
def tv():
    """`torchvision.ops`, or a skip where torchvision is not importable (it is not beside the CPU torch here)."""
    return pytest.importorskip("torchvision.ops")
