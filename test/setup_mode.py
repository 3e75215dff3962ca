"""What the running set-up promises, so that a missing piece fails where it must be there.

Three kinds of run:
- a core install (`scripts/setup.sh`, or any venv without the marker below): optional pieces
  that are missing (torchvision, the reference vectors, the ROS 2 wheels) skip their tests;
- the test set-up (`scripts/setup.sh --test`, which `scripts/test.sh` and `.ci/run` use): it
  installs torchvision and ships the vectors in `test/fixtures/`, and leaves the file
  `TEST_SETUP_MARKER` in the venv; there a missing torchvision or vector set fails;
- CI (`FO1_CI=1`, exported by `.ci/run`): the test set-up, and the ROS 2 wheels must install too;
  a pip error there fails the ROS tests, with pip's message, instead of skipping them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import pytest

TEST_SETUP_MARKER = "fo1_ros-test-setup"  # written into the venv by scripts/setup.sh --test


def in_ci() -> bool:
    """True under `.ci/run` (`FO1_CI=1`)."""
    return os.environ.get("FO1_CI") == "1"


def in_test_setup() -> bool:
    """True in a venv built by `scripts/setup.sh --test`, and in CI."""
    return in_ci() or (Path(sys.prefix) / TEST_SETUP_MARKER).is_file()


def unavailable(what: str, reason: str, *, required: bool | None = None) -> NoReturn:
    """Skip the test for want of `what`, or fail it where the set-up promises `what`.

    Args:
        what: the missing piece ("torchvision", "the reference vectors").
        reason: why it is missing, shown either way (for a pip error: pip's message).
        required: whether the set-up promises it; default `in_test_setup()`.
    """
    if in_test_setup() if required is None else required:
        where = "CI (FO1_CI=1)" if in_ci() else f"the test set-up ({Path(sys.prefix) / TEST_SETUP_MARKER})"
        pytest.fail(f"{what} must be available in {where}: {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable: {reason}")
