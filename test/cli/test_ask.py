"""`fo1-ros ask`: every task on one image, errors as messages."""

from __future__ import annotations

import json

import cv2
import pytest

from fo1_ros import cli


def test_ask_every_task(tiny_model_dir, scene, tmp_path, capsys):

    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), scene.rgb[:, :, ::-1])
    depth = tmp_path / "depth.png"
    cv2.imwrite(str(depth), scene.depth_mm)
    boxes = [f"{b[0]},{b[1]},{b[2]},{b[3]}" for b in (o.box_2d for o in scene.objects)]
    base = ["ask", str(image), "--model", str(tiny_model_dir), "--device", "cpu"]
    for b in boxes:
        base += ["--box", b]
    for task, extra in (("detect", ["--query", "cube", "ball"]), ("count", ["--query", "cubes"]),
                        ("caption", ["--regions", "0"]), ("ocr", ["--regions", "1"]),
                        ("vqa", ["--question", "What colour is it?", "--regions", "0"]),
                        ("reasoning", ["--question", "Which is closer?"]), ("ground", []),
                        ("label", [])):
        assert cli.main(base + ["--task", task] + extra) == 0, task
        assert capsys.readouterr().out.strip(), task
    fx, fy, cx, cy = scene.K[0, 0], scene.K[1, 1], scene.K[0, 2], scene.K[1, 2]
    annotated = tmp_path / "annotated.png"
    assert cli.main(base + ["--task", "detect", "--query", "cube", "--json", "--depth", str(depth),
                            "--K", f"{fx},{fy},{cx},{cy}", "--annotate", str(annotated)]) == 0
    text = capsys.readouterr().out
    data = json.loads(text[:text.rindex("}") + 1])
    assert data["regions"] == len(boxes) and any(o["has_3d"] for o in data["objects_3d"])
    assert annotated.is_file()


@pytest.mark.parametrize("extra, match", [
    (["--task", "detect", "--query", "<region1>"], "reserved"),
    (["--task", "vqa"], "--question"),
    (["--box", "1,2,3"], "x1,y1,x2,y2"),
    (["--box", "0,0,1,1", "--task", "caption", "--regions", "5"], "out of range"),
])
def test_ask_errors_are_messages(tiny_model_dir, scene, tmp_path, extra, match):

    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), scene.rgb)
    with pytest.raises(SystemExit, match=match):
        cli.main(["ask", str(image), "--model", str(tiny_model_dir), "--box", "10,10,50,50"] + extra)
