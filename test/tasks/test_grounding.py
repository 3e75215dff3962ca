"""Grounded descriptions and label-all: known answers parsed into phrases, regions, boxes and scores."""

import numpy as np
import pytest

from fo1_ros.tasks import Answer, GroundingTask, LabelAllTask, RegionContext
from fo1_ros.tasks.detect import format_grounded
from fo1_ros.tasks.grounding import GROUNDING_TEMPLATE, LABEL_ALL_TEMPLATE

CTX = RegionContext(np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 3, 3], [30, 0, 40, 8], [2, 9, 12, 19]], float),
                    np.array([0.9, 0.8, 0.5, 0.7, 0.6]))

# a grounded description as the model writes it, one token per piece, each with its own probability
DESCRIPTION = [("A table with ", 0.9), ("<ground>", 0.8), ("a red cube", 0.7), ("</ground>", 0.6), ("<objects>", 0.5),
               ("<region3>", 0.11), ("</objects>", 0.4), (", ", 0.9), ("<ground>", 0.8), ("two blue balls", 0.7),
               ("</ground>", 0.6), ("<objects>", 0.5), ("<region0>", 0.13), ("<region4>", 0.17), ("</objects>", 0.4),
               (" and ", 0.9), ("<ground>", 0.8), ("a cup", 0.7), ("</ground>", 0.6), ("<objects>", 0.5),
               ("<region2>", 0.19), ("</objects>", 0.4), (".", 0.9)]


def _answer(pieces) -> Answer:
    return Answer("".join(t for t, _ in pieces), [t for t, _ in pieces], [p for _, p in pieces])


def test_prompts_are_the_reference_templates():
    assert [q.text for q in GroundingTask().questions(CTX)] == [GROUNDING_TEMPLATE]
    assert [q.text for q in LabelAllTask().questions(CTX)] == [LABEL_ALL_TEMPLATE]


def test_grounding_parses_every_phrase_with_its_regions_boxes_and_token_probabilities():
    res = GroundingTask().parse([_answer(DESCRIPTION)], CTX)
    assert res.caption == "A table with a red cube, two blue balls and a cup."
    assert [(p.phrase, p.region_indices) for p in res.phrases] == [
        ("a red cube", [3]), ("two blue balls", [0, 4]), ("a cup", [2])]
    for p in res.phrases:
        np.testing.assert_allclose(p.boxes, CTX.boxes[p.region_indices])
    assert [p.model_scores for p in res.phrases] == [pytest.approx([0.11]), pytest.approx([0.13, 0.17]),
                                                     pytest.approx([0.19])]
    assert res.raw_text == "".join(t for t, _ in DESCRIPTION) and res.warnings == []


@pytest.mark.parametrize("text, phrases, caption, warn", [
    # cut inside the second region list: the first phrase whole, the second with what it got
    ("A <ground>red cube</ground><objects><region1></objects> and <ground>two balls</ground><objects><region0><reg",
     [("red cube", [1]), ("two balls", [0])], "A red cube and two balls", "not closed"),
    # an index past the frame's regions and a repeat are dropped, never turned into boxes
    ("<ground>cubes</ground><objects><region1><region9><region1><region4></objects>", [("cubes", [1, 4])],
     "cubes", "only 5 regions"),
    ("<ground>cubes</ground><objects><region2><region2></objects>", [("cubes", [2])], "cubes", "repeats"),
    # a phrase whose region list never comes
    ("A <ground>red cube</ground> on a table.", [], "A red cube on a table.", "without a following <objects>"),
    ("A plain sentence.", [], "A plain sentence.", None),
    ("", [], "", None),
])
def test_grounding_parse_is_total_on_malformed_answers(text, phrases, caption, warn):
    res = GroundingTask().parse([Answer(text)], CTX)
    assert [(p.phrase, p.region_indices) for p in res.phrases] == phrases
    assert res.caption == caption and res.raw_text == text
    for p in res.phrases:
        np.testing.assert_allclose(p.boxes, CTX.boxes[p.region_indices].reshape(-1, 4))
    if warn:
        assert any(warn in w for w in res.warnings), res.warnings
    else:
        assert res.warnings == []


def test_label_all_round_trips_the_training_format():
    groups = [("red cube", [3]), ("blue ball", [0, 4]), ("cup", [2])]
    d = LabelAllTask().parse([Answer(format_grounded(groups))], CTX)
    assert list(zip(d.labels, d.region_indices.tolist())) == [("red cube", 3), ("blue ball", 0), ("blue ball", 4),
                                                              ("cup", 2)]
    np.testing.assert_allclose(d.boxes, CTX.boxes[[3, 0, 4, 2]])
    np.testing.assert_allclose(d.proposal_scores, CTX.scores[[3, 0, 4, 2]])
    assert d.query_index.tolist() == [-1] * 4 and d.warnings == []


def test_label_all_scores_each_region_by_its_own_token():
    pieces = [("<ground>", 0.9), ("red cube", 0.8), ("</ground>", 0.7), ("<objects>", 0.6), ("<region3>", 0.11),
              ("</objects>", 0.5), ("<ground>", 0.9), ("ball", 0.8), ("</ground>", 0.7), ("<objects>", 0.6),
              ("<region0>", 0.13), ("<region1>", 0.17), ("</objects>", 0.5)]
    d = LabelAllTask().parse([_answer(pieces)], CTX)
    assert d.labels == ["red cube", "ball", "ball"] and d.region_indices.tolist() == [3, 0, 1]
    np.testing.assert_allclose(d.model_scores, [0.11, 0.13, 0.17], rtol=1e-12)
    np.testing.assert_allclose(d.scores, [0.7 * 0.11, 0.9 * 0.13, 0.8 * 0.17], rtol=1e-12)


@pytest.mark.parametrize("text, rows, warn", [
    # a region named under two labels keeps the first one
    ("<ground>cube</ground><objects><region1></objects><ground>box</ground><objects><region1><region2></objects>",
     [("cube", 1), ("box", 2)], None),
    ("<ground>cube</ground><objects><region1><region7></objects>", [("cube", 1)], "only 5 regions"),
    ("<ground>cube</ground><objects><region1></objects><ground>ball</ground><objects><region0><regi",
     [("cube", 1), ("ball", 0)], "not closed"),
    ("<region2><region0>", [("", 2), ("", 0)], "no <ground>"),
    ("None", [], None),
    ("I see things.", [], "unparsable"),
])
def test_label_all_parse_is_total_on_malformed_answers(text, rows, warn):
    d = LabelAllTask().parse([Answer(text)], CTX)
    assert list(zip(d.labels, d.region_indices.tolist())) == rows
    np.testing.assert_allclose(d.boxes, CTX.boxes[[r for _, r in rows]].reshape(-1, 4))
    if warn:
        assert any(warn in w for w in d.warnings), d.warnings
    else:
        assert d.warnings == []
