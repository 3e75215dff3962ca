"""`fo1-ros ask`: each task runs as asked (text and JSON), errors as messages."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from fo1_ros import cli

# (task, flags, a line its text output must have, what its --json result must say)
ASK_TASKS = [
    ("detect", ["--query", "cube", "ball"], r"^(nothing found|(cube|ball): region \d)",
     lambda r: set(r) >= {"labels", "query_index", "region_indices"} and set(r["query_index"]) <= {0, 1}),
    ("count", ["--query", "cubes"], r"^cubes: ", lambda r: [c["label"] for c in r] == ["cubes"]),
    ("caption", ["--regions", "0"], r"^regions \[0\]: ",
     lambda r: [(c["task"], c["region_indices"]) for c in r] == [("caption_brief", [0])]),
    ("ocr", ["--regions", "1"], r"^regions \[1\]: ",
     lambda r: [(c["task"], c["region_indices"]) for c in r] == [("ocr", [1])]),
    ("vqa", ["--question", "What colour is it?", "--regions", "0"], r"^regions \[0\]: ",
     lambda r: (r["task"], r["region_indices"]) == ("vqa", [0])),
    ("reasoning", ["--question", "Which is closer?"], r"^answer: ",
     lambda r: r["question"] == "Which is closer?" and "thinking" in r),
    ("ground", [], None, lambda r: set(r) >= {"caption", "phrases"}),
    ("label", [], r"^(nothing found|.+: region \d)", lambda r: set(r) >= {"labels", "region_indices"}),
]


def test_ask_runs_the_task_asked_for_on_the_given_boxes(tiny_model_dir, scene, tmp_path, capsys):
    """Each --task prints its own kind of result (text and --json) over the boxes given; the
    tiny random model makes the content random, not its form."""
    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), scene.rgb[:, :, ::-1])
    depth = tmp_path / "depth.png"
    cv2.imwrite(str(depth), scene.depth_mm)
    given = [o.box_2d for o in scene.objects]
    base = ["ask", str(image), "--model", str(tiny_model_dir), "--device", "cpu"]
    for b in given:
        base += ["--box", f"{b[0]},{b[1]},{b[2]},{b[3]}"]
    for task, extra, line, check in ASK_TASKS:
        assert cli.main(base + ["--task", task] + extra) == 0, task
        text = capsys.readouterr().out
        assert text.startswith(f"{len(given)} regions;"), (task, text)
        assert line is None or re.search(line, text, re.M), (task, text)
        assert cli.main(base + ["--task", task, "--json"] + extra) == 0, task
        text = capsys.readouterr().out
        data = json.loads(text[:text.rindex("}") + 1])
        assert data["task"] == task and data["boxes"] == np.round(given, 1).tolist(), (task, data)
        assert check(data["result"]), (task, data["result"])
    fx, fy, cx, cy = scene.K[0, 0], scene.K[1, 1], scene.K[0, 2], scene.K[1, 2]
    annotated = tmp_path / "annotated.png"
    assert cli.main(base + ["--task", "detect", "--query", "cube", "--json", "--depth", str(depth),
                            "--K", f"{fx},{fy},{cx},{cy}", "--annotate", str(annotated)]) == 0
    text = capsys.readouterr().out
    data = json.loads(text[:text.rindex("}") + 1])
    assert data["regions"] == len(given) and any(o["has_3d"] for o in data["objects_3d"])
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
