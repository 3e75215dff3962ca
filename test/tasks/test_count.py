"""Counting: regions and number both reported, disagreement flagged, reference-style number reading."""

import numpy as np

from fo1_ros.tasks import Answer, CountTask, RegionContext
from fo1_ros.tasks.count import format_count_answer, read_number

CTX = RegionContext(np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 3, 3]], float), np.ones(3))


def test_round_trip_of_the_training_format():
    text = format_count_answer("balls", [0, 2])
    r = CountTask(["balls"]).parse([Answer(text)], CTX)[0]
    assert r.count == 2 and r.region_indices.tolist() == [0, 2] and r.consistent and not r.warnings
    zero = CountTask(["cups"]).parse([Answer(format_count_answer("cups", []))], CTX)[0]
    assert zero.count == 0 and zero.consistent


def test_disagreement_and_missing_number_are_reported():
    r = CountTask(["balls"]).parse([Answer("<ground>balls</ground><objects><region0></objects> There are 4.")], CTX)[0]
    assert r.count == 4 and not r.consistent and "differs" in r.warnings[0]
    r = CountTask(["balls"]).parse([Answer("<ground>balls</ground><objects><region0><region1></objects>")], CTX)[0]
    assert r.count is None and r.best_count == 2


def test_number_reading_ignores_region_indices_and_reads_words():
    assert read_number("<region12><region3> three") == 3
    assert read_number("<region5> 12 items") == 12
    assert read_number("no number here") is None


def test_count_scores_are_the_named_region_tokens_probabilities():
    tokens = ["<ground>", "balls", "</ground>", "<objects>", "<region2>", "<region0>", "</objects>", "\nThe answer is",
              " 2", "."]
    a = Answer("".join(tokens), tokens, [0.02, 0.03, 0.05, 0.07, 0.11, 0.13, 0.17, 0.19, 0.23, 0.29])
    r = CountTask(["balls"]).parse([a], CTX)[0]
    assert r.count == 2 and r.region_indices.tolist() == [2, 0] and r.consistent
    np.testing.assert_allclose(r.model_scores, [0.11, 0.13], rtol=1e-12)
    np.testing.assert_allclose(r.boxes, CTX.boxes[[2, 0]])
