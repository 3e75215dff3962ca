"""test/setup_mode.py: where a missing optional piece fails instead of skipping, and the scripts that
promise it (scripts/setup.sh --test writes the marker, .ci/run exports FO1_CI=1)."""

import sys
from pathlib import Path

import pytest

from test.setup_mode import TEST_SETUP_MARKER, in_ci, in_test_setup, unavailable

ROOT = Path(__file__).resolve().parents[1]


def test_unavailable_fails_where_required_and_skips_elsewhere():
    with pytest.raises(pytest.fail.Exception, match="torchvision must be available in .*: no module"):
        unavailable("torchvision", "no module", required=True)
    with pytest.raises(pytest.skip.Exception, match="torchvision unavailable: no module"):
        unavailable("torchvision", "no module", required=False)


def test_test_setup_is_the_marked_venv_or_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("FO1_CI", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert not in_test_setup() and not in_ci()
    with pytest.raises(pytest.skip.Exception):
        unavailable("the reference vectors", "none found")
    (tmp_path / TEST_SETUP_MARKER).write_text("written by scripts/setup.sh --test\n")
    assert in_test_setup() and not in_ci()
    with pytest.raises(pytest.fail.Exception, match=TEST_SETUP_MARKER):
        unavailable("the reference vectors", "none found")
    (tmp_path / TEST_SETUP_MARKER).unlink()
    monkeypatch.setenv("FO1_CI", "1")
    assert in_test_setup() and in_ci()


def test_setup_script_writes_the_marker_and_ci_exports_fo1_ci():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f'TEST_MARKER="$VENV/{TEST_SETUP_MARKER}"' in setup and '>"$TEST_MARKER"' in setup
    assert "export FO1_CI=1" in (ROOT / ".ci" / "run").read_text()
