"""`fo1-ros eval`'s pipeline on the tiny random model: every metric is produced, and the parts
that do not depend on the model (proposal recall with ground-truth boxes, 3-D lifting) are right."""

from __future__ import annotations

import math

import pytest

from fo1_ros.engine import Engine, EngineConfig
from fo1_ros.eval.run import EvalConfig, evaluate, format_table


@pytest.fixture(scope="module")
def gt_results(tiny_model_dir):
    engine = Engine(EngineConfig(model_path=str(tiny_model_dir), device="cpu"))
    return evaluate(engine, EvalConfig(n_scenes=3, proposals="gt", semantic_similarity=False, max_captions=2),
                    progress=False)


def test_every_metric_is_reported(gt_results):
    for key in ("det_mAP", "det_AP50", "det_mAP_proposal_score", "rec_acc", "caption_attr_acc", "vqa_acc",
                "count_exact", "count_mae", "visual_prompt_f1", "center3d_median_m_unoccluded",
                "seconds_per_scene"):
        assert key in gt_results and isinstance(gt_results[key], float), key
    assert gt_results["scenes"] == 3 and gt_results["n"]["count"] > 0
    for key in ("rec_acc", "vqa_acc", "count_exact", "det_AP50"):
        v = gt_results[key]
        assert math.isnan(v) or 0.0 <= v <= 1.0, (key, v)
    table = format_table({"gt": gt_results})
    assert "3-D centre error" in table and "detection mAP" in table


def test_ground_truth_boxes_cover_every_object_and_lift_within_2cm(gt_results):
    assert gt_results["object_recall@0.5"] == 1.0
    assert gt_results["n"]["objects_3d_unoccluded"] >= 3
    assert gt_results["center3d_median_m_unoccluded"] <= 0.02, gt_results["center3d_median_m_unoccluded"]
