"""Detection / REC / visual-prompt parsing is total and never invents boxes."""

import numpy as np
import pytest

from fo1_ros.model.prompt import PromptError
from fo1_ros.tasks import Answer, DetectTask, RegionContext, VisualPromptTask
from fo1_ros.tasks.detect import OD_TEMPLATE, format_grounded

CTX = RegionContext(np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 3, 3]], float), np.array([0.9, 0.8, 0.5]))


def test_prompt_is_the_reference_template():
    qs = DetectTask(["red mug", "plate"]).questions(CTX)
    assert [q.text for q in qs] == [OD_TEMPLATE.format("red mug"), OD_TEMPLATE.format("plate")]
    joint = DetectTask(["red mug", "plate"], joint=True).questions(CTX)
    assert joint[0].text == "Please detect red mug, plate in this image. Answer the question with object indexes."


def test_scores_are_proposal_model_and_product():
    a = Answer("<ground>cube</ground><objects><region1></objects>", ["<ground>", "cube", "</ground>", "<objects>",
                                                                       "<region1>", "</objects>"],
               [1.0, 0.9, 1.0, 1.0, 0.5, 1.0])
    d = DetectTask(["cube"]).parse([a], CTX)
    assert d.region_indices.tolist() == [1] and d.labels == ["cube"]
    np.testing.assert_allclose(d.proposal_scores, [0.8])
    np.testing.assert_allclose(d.model_scores, [0.5])
    np.testing.assert_allclose(d.scores, [0.4])
    np.testing.assert_allclose(d.boxes, CTX.boxes[[1]])


def test_detection_scores_take_exactly_the_chosen_region_tokens_probability():
    # every token has its own probability, so a span one token too wide or too narrow on either
    # side of <regionN> (or one measured from the wrong offset) gives another score
    tokens = ["<ground>", "cube", "</ground>", "<objects>", "<region2>", "<region0>", "</objects>",
              "<ground>", "ball", "</ground>", "<objects>", "<region1>", "</objects>"]
    probs = [0.02, 0.03, 0.05, 0.07, 0.11, 0.13, 0.17, 0.19, 0.23, 0.29, 0.31, 0.37, 0.41]
    a = Answer("".join(tokens), tokens, probs)
    d = DetectTask(["cube", "ball"], joint=True).parse([a], CTX)
    assert d.labels == ["cube", "cube", "ball"] and d.region_indices.tolist() == [2, 0, 1]
    np.testing.assert_allclose(d.model_scores, [0.11, 0.13, 0.37], rtol=1e-12)
    np.testing.assert_allclose(d.proposal_scores, [0.5, 0.9, 0.8])
    np.testing.assert_allclose(d.scores, [0.5 * 0.11, 0.9 * 0.13, 0.8 * 0.37], rtol=1e-12)
    np.testing.assert_allclose(d.boxes, CTX.boxes[[2, 0, 1]])


def test_bare_region_answers_and_visual_prompts_score_their_own_tokens():
    bare = Answer("<region1> and <region2>", ["<region1>", " and", " ", "<region2>"], [0.3, 0.05, 0.07, 0.6])
    d = DetectTask(["cube"]).parse([bare], CTX)
    np.testing.assert_allclose(d.model_scores, [0.3, 0.6], rtol=1e-12)
    tokens = ["<ground>", "cube", "</ground>", "<objects>", "<region0>", "<region1>", "</objects>"]
    vp = Answer("".join(tokens), tokens, [0.5, 0.6, 0.7, 0.8, 0.25, 0.4, 0.9])
    d = VisualPromptTask([2]).parse([vp], CTX)
    np.testing.assert_allclose(d.model_scores, [0.25, 0.4], rtol=1e-12)
    np.testing.assert_allclose(d.scores, [0.9 * 0.25, 0.8 * 0.4], rtol=1e-12)


@pytest.mark.parametrize("text, expect, warn", [
    ("<ground>cube</ground><objects><region0><region7></objects>", [0], "only 3 regions"),
    ("<ground>cube</ground><objects><region2><region2></objects>", [2], "repeats"),
    ("<ground>cube</ground><objects><region1><reg", [1], "not closed"),
    ("<region0> and <region1>", [0, 1], "no <ground>"),
    ("garbage ))) <ground>", [], "unparsable"),
    ("", [], None),
    ("None", [], None),
])
def test_malformed_answers_give_typed_results(text, expect, warn):
    d = DetectTask(["cube"]).parse([Answer(text)], CTX)
    assert d.region_indices.tolist() == expect
    assert d.raw_text == [text]
    if warn:
        assert any(warn in w for w in d.warnings), d.warnings


def test_labels_map_back_to_queries():
    text = format_grounded([("balls", [0]), ("Red Cube", [1]), ("dog", [2])])
    d = DetectTask(["red cube", "ball"], joint=True).parse([Answer(text)], CTX)
    assert dict(zip(d.region_indices.tolist(), d.query_index.tolist())) == {0: 1, 1: 0, 2: -1}
    assert d.for_query(0).region_indices.tolist() == [1]


def test_user_queries_with_reserved_tokens_are_rejected_or_escaped():
    with pytest.raises(PromptError):
        DetectTask(["<region3>"])
    assert "‹" in DetectTask(["<|im_start|>x"], policy="escape").queries[0]
    with pytest.raises(ValueError, match="at least one"):
        DetectTask([])


def test_visual_prompt_keeps_reference_and_model_label():
    t = VisualPromptTask([2])
    assert "<region2>" in t.questions(CTX)[0].text
    d = t.parse([Answer("<ground>cube</ground><objects><region0><region1></objects>")], CTX)
    assert d.region_indices.tolist() == [0, 1] and d.labels == ["cube", "cube"] and set(d.query_index) == {0}
    with pytest.raises(ValueError, match="out of range"):
        VisualPromptTask([5]).questions(CTX)
