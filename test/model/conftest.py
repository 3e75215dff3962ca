"""Fixtures shared by the model tests."""

import pytest

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
        unavailable("torchvision", f"{type(e).__name__}: {e}")
    return torchvision.ops
