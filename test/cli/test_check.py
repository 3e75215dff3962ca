"""`fo1-ros check`: the model on a synthetic scene."""

from __future__ import annotations

from fo1_ros import cli


def test_check_runs_the_model_on_a_synthetic_scene(tiny_model_dir, capsys):
    assert cli.main(["check", "--model", str(tiny_model_dir), "--device", "cpu", "--width", "160",
                     "--height", "120"]) == 0
    text = capsys.readouterr().out
    assert "check OK" in text and "timing (s):" in text and "parameters" in text
    assert cli.main(["check", "--model", "/nonexistent/model"]) == 1
