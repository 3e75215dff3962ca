"""`fo1-ros demo` end to end: the tiny model for the plumbing, the shipped model for the content."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from fo1_ros import cli
from fo1_ros.bag import read_topic
from fo1_ros.node.outputs import bbox_to_xyxy
from fo1_ros.synth import SceneConfig, make_sequence

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


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def test_demo_with_the_shipped_model_finds_the_queried_categories(tmp_path, capsys):
    """The README's first command, shortened to 6 frames: it runs in well under a minute per few
    frames on this CPU, its queries are the scene's three most common categories, the labelled
    detections (read back from the output bag) lie on objects of their category, and each
    queried category is found in at least half the frames. Measured: 15 of 16 labelled regions right
    (precision 0.94); cone and cube found in 6 of 6 frames, cup in 4."""
    if not SHIPPED_MODEL.is_file():
        pytest.skip(f"the shipped model is not there yet ({SHIPPED_MODEL} missing)")
    start = time.monotonic()
    assert cli.main(["demo", "--out", str(tmp_path / "demo"), "--frames", "6", "--no-progress"]) == 0
    elapsed = time.monotonic() - start
    text = capsys.readouterr().out
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert report["frames_processed"] == 6
    assert elapsed < 120, f"6 demo frames took {elapsed:.0f} s"
    assert "spatial:" in text and "caption" in text
    # the demo's world (fo1_ros/cli/demo.py: seed 7, 640x480, 4-8 objects, 10 Hz)
    scenes = {s.stamp_ns: s for s in make_sequence(7, 6, SceneConfig(width=640, height=480, n_objects=(4, 8)),
                                                    rate_hz=10.0)}
    first = min(scenes.values(), key=lambda s: s.stamp_ns)
    common = [c for c, _ in Counter(o.category for o in first.objects).most_common(3)]
    assert report["queries"] == common
    right = labelled = 0
    found = Counter()
    detections = read_topic(tmp_path / "demo" / "fo1_output", "/fo1/detections")
    assert len(detections) == 6
    for _, msg in detections:
        scene = scenes[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec]
        hits = set()
        for r in msg.regions:
            if not r.label:
                continue
            labelled += 1
            box = bbox_to_xyxy(r.bbox)
            on = max(scene.objects, key=lambda o: _iou(box, o.box_2d))
            if _iou(box, on.box_2d) >= 0.5 and on.category == r.label:
                right += 1
                hits.add(r.label)
        found.update(hits)
    assert labelled >= 6 and right / labelled >= 0.8, (right, labelled, text[-3000:])
    assert all(found[q] >= 3 for q in common), (found, text[-3000:])
