"""`fo1-ros demo` end to end: the tiny model for the plumbing, the shipped model for the content."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fo1_ros import cli

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "fo1_ros" / "assets" / "default_model" / "config.json"


def test_demo_with_ground_truth_boxes_and_the_tiny_model(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "demo"
    code = cli.main(["demo", "--model", str(tiny_model_dir), "--frames", "3", "--width", "160",
                     "--height", "120", "--proposals", "gt", "--out", str(out), "--no-progress",
                     "-p", "torch_threads=1", "--caption-rate", "5"])
    text = capsys.readouterr().out
    assert code == 0
    for needle in ("wrote 3 synthetic RGB-D frames", "frame  0", "frame  2", "counts [", "truth [",
                   "spatial:", "caption", "output bag:"):
        assert needle in text, (needle, text[-3000:])
    assert (out / "input_bag" / "metadata.yaml").is_file()
    assert (out / "fo1_output" / "metadata.yaml").is_file()
    assert (out / "report.md").is_file() and (out / "contact_sheet.png").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["frames_processed"] == 3
    # running the README command again replaces the earlier demo's folder ...
    (out / "stale.txt").write_text("from the first run")
    assert cli.main(["demo", "--model", str(tiny_model_dir), "--frames", "1", "--width", "160", "--height", "120",
                     "--proposals", "gt", "--out", str(out), "--no-progress", "-p", "torch_threads=1"]) == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "report.json").read_text())["frames_processed"] == 1
    # ... but a folder the demo did not write is never removed without --force
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("user data")
    with pytest.raises(SystemExit, match="not empty"):
        cli.main(["demo", "--model", str(tiny_model_dir), "--out", str(other)])
    assert (other / "keep.txt").exists()


def test_demo_with_the_shipped_model(tmp_path, capsys):
    """The README's first command, shortened to 6 frames: it must run in well under a minute
    per few frames on this CPU and find objects of the right categories."""
    if not SHIPPED_MODEL.is_file():
        pytest.skip(f"the shipped model is not there yet ({SHIPPED_MODEL} missing)")
    start = time.monotonic()
    assert cli.main(["demo", "--out", str(tmp_path / "demo"), "--frames", "6", "--no-progress"]) == 0
    elapsed = time.monotonic() - start
    text = capsys.readouterr().out
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert report["frames_processed"] == 6
    assert elapsed < 120, f"6 demo frames took {elapsed:.0f} s"
    assert sum(report["detections"].values()) > 0, text[-3000:]
    assert "spatial:" in text and "caption" in text
