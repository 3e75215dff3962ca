"""`fo1-ros process`: a bag through the node logic, bad parameters as messages."""

from __future__ import annotations

import numpy as np
import pytest

from fo1_ros import cli
from fo1_ros.bag import FrameData, write_frames_bag


def test_process_a_bag(tiny_model_dir, scene, tmp_path, capsys):

    write_frames_bag(tmp_path / "in", [FrameData(scene.rgb, 10**9 + k, scene.depth_mm, scene.K,
                                                 boxes=np.array([o.box_2d for o in scene.objects]))
                                       for k in range(2)], storage="sqlite3")
    params = tmp_path / "params.yaml"
    params.write_text("fo1_node:\n  ros__parameters:\n    proposal_source: external\n"
                      "    caption_rate_hz: 0.0\n    torch_threads: 1\n")
    code = cli.main(["-v", "process", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                     "--params", str(params), "--model", str(tiny_model_dir), "--queries", "cube",
                     "--storage", "sqlite3", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "frames: 2 processed of 2 images" in text and "frame 1 t=" in text
    assert "queries=['cube']" in text
    assert list((tmp_path / "out" / "fo1_output").glob("*.db3"))


def test_process_reports_bad_parameters(tmp_path):
    with pytest.raises(SystemExit, match="not a parameter"):
        cli.main(["process", str(tmp_path), "--out", str(tmp_path / "o"), "-p", "qeuries=[a]"])
    with pytest.raises(SystemExit, match="image_qos"):
        cli.main(["process", str(tmp_path), "--out", str(tmp_path / "o"), "-p", "image_qos=fast"])
