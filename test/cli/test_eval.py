"""`fo1-ros eval`: flags into one EvalConfig per proposal mode, the engine built once, the table
printed and the numbers written as JSON."""

from __future__ import annotations

import json
from types import SimpleNamespace

import fo1_ros.engine
import fo1_ros.eval.run
from fo1_ros import cli


def test_eval_flags_make_one_config_per_mode_and_write_the_numbers(monkeypatch, tmp_path, capsys):
    engines, runs = [], []

    def fake_engine(config, proposal_source):
        engines.append((config, proposal_source))
        return SimpleNamespace(device="cpu", dtype="float32")

    def fake_evaluate(engine, cfg):
        runs.append(cfg)
        return {"det_mAP": 0.25, "scenes": cfg.n_scenes, "proposals": cfg.proposals}

    monkeypatch.setattr(fo1_ros.engine, "Engine", fake_engine)
    monkeypatch.setattr(fo1_ros.eval.run, "evaluate", fake_evaluate)
    out = tmp_path / "results.json"
    assert cli.main(["eval", "--model", "m", "--scenes", "7", "--no-ss", "--device", "cpu", "--dtype", "float32",
                     "--out", str(out)]) == 0
    (config, source), = engines
    assert (config.model_path, config.device, config.dtype) == ("m", "cpu", "float32") and source is not None
    assert [(c.proposals, c.n_scenes, c.semantic_similarity) for c in runs] == [("default", 7, False),
                                                                                ("gt", 7, False)]
    assert json.loads(out.read_text())["gt"] == {"det_mAP": 0.25, "scenes": 7, "proposals": "gt"}
    text = capsys.readouterr().out
    assert "detection mAP" in text and f"written {out}" in text
    runs.clear()
    assert cli.main(["eval", "--proposals", "gt", "--scenes", "2", "--out", str(out)]) == 0
    assert [c.proposals for c in runs] == ["gt"] and runs[0].semantic_similarity
