"""fo1_ros/eval/proposal_recall.py: recall of a proposal source and its command line."""

from __future__ import annotations

import numpy as np

from fo1_ros.eval.proposal_recall import evaluate, main
from fo1_ros.proposals import Proposals
from fo1_ros.synth import make_scene


# ------------------------------------------------------------------------------ evaluation
def test_evaluate_reports_recall_of_a_perfect_and_an_empty_source():
    scenes = [make_scene(123), make_scene(124)]  # bit-identical to what evaluate renders
    truth = {s.rgb.tobytes(): np.array([o.box_2d for o in s.visible_objects(0.3)]).reshape(-1, 4) for s in scenes}

    def oracle(rgb, depth_m=None, K=None):  # reads ground truth on purpose: checks the metric itself
        gt = truth[rgb.tobytes()]
        return Proposals(gt, np.ones(len(gt)))

    rep = evaluate(oracle, n=2, start=123)
    assert rep.n_scenes == 2 and rep.seeds == (123, 124)
    assert rep.n_objects == sum(len(g) for g in truth.values()) > 0
    assert rep.recall["all@0.75"] == 1.0 and rep.recall["top20@0.5"] == 1.0
    empty = evaluate(lambda rgb, depth_m=None, K=None: Proposals(np.zeros((0, 4)), np.zeros(0)), n=1, start=123)
    assert empty.recall["all@0.5"] == 0.0 and empty.mean_proposals == 0


def test_evaluate_command_prints_the_numbers(capsys):
    assert main(["--n", "1", "--start", "900000"]) == 0
    out = capsys.readouterr().out
    for key in ("recall@0.5", "recall@0.75", "top-20", "top-50", "proposals per frame", "time per frame"):
        assert key in out


def test_evaluate_command_rejects_unknown_sources(caplog):
    assert main(["--n", "1", "--source", "upn"]) == 2
    assert "known" in caplog.text
