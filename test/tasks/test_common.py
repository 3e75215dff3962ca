"""Answer.span_prob and the region parsers it feeds, with a distinct probability on every token.

Each token's probability is a different prime / 100, so the product over any set of tokens
names that set: taking one token too many or too few on either side of a span changes it.
"""

import math

import numpy as np
import pytest

from fo1_ros.tasks.common import Answer, find_regions, parse_grounded

# token texts and their (distinct) probabilities; one token is several characters long
TOKENS = ["<ground>", "red", " cube", "</ground>", "<objects>", "<region1>", "<region4>", "</objects>"]
PROBS = [0.02, 0.03, 0.05, 0.07, 0.11, 0.13, 0.17, 0.19]
TEXT = "".join(TOKENS)
STARTS = np.cumsum([0] + [len(t) for t in TOKENS]).tolist()  # token k covers TEXT[STARTS[k]:STARTS[k + 1]]


def _answer() -> Answer:
    return Answer(TEXT, list(TOKENS), list(PROBS))


def _product(ks) -> float:
    return math.prod(PROBS[k] for k in ks)


@pytest.mark.parametrize("k", range(len(TOKENS)))
def test_span_of_exactly_one_token_is_that_tokens_probability(k):
    # a span on token boundaries touches its neighbours' ends: they must not be multiplied in
    assert _answer().span_prob(STARTS[k], STARTS[k + 1]) == pytest.approx(PROBS[k], rel=1e-12)


@pytest.mark.parametrize("first, last", [(0, 1), (1, 2), (2, 6), (4, 7), (0, 7)])
def test_span_of_consecutive_tokens_is_their_product(first, last):
    assert _answer().span_prob(STARTS[first], STARTS[last + 1]) == pytest.approx(_product(range(first, last + 1)),
                                                                                 rel=1e-12)


def test_span_inside_or_across_token_edges_takes_every_overlapped_token():
    a = _answer()
    red = STARTS[1]
    assert a.span_prob(red + 1, red + 2) == pytest.approx(PROBS[1])  # "e" of "red"
    assert a.span_prob(red + 2, red + 4) == pytest.approx(PROBS[1] * PROBS[2])  # "d" + " " straddles an edge
    assert a.span_prob(red - 1, red + 1) == pytest.approx(PROBS[0] * PROBS[1])  # ">" + "r"
    assert a.span_prob(red, red) == 1.0 and a.span_prob(0, 0) == 1.0  # an empty span overlaps nothing
    assert a.span_prob(len(TEXT), len(TEXT) + 5) == 1.0  # past the end


def test_span_over_one_character_tokens_has_no_slack_on_either_side():
    # with one-character tokens a span one character short on either side loses a whole token
    a = Answer("abcdef", list("abcdef"), PROBS[:6])
    assert a.span_prob(1, 3) == pytest.approx(PROBS[1] * PROBS[2], rel=1e-12)
    assert a.span_prob(2, 3) == pytest.approx(PROBS[2], rel=1e-12)
    assert a.span_prob(0, 6) == pytest.approx(_product(range(6)), rel=1e-12)


def test_span_prob_is_one_without_usable_token_probabilities():
    assert Answer(TEXT).span_prob(0, 5) == 1.0
    assert Answer(TEXT, list(TOKENS), PROBS[:-1]).span_prob(0, 5) == 1.0  # lengths disagree


def test_find_regions_gives_each_region_its_own_tokens_probability():
    a = _answer()
    got = find_regions(a, n_regions=5)
    assert [(m.index, m.start, m.end) for m in got] == [(1, STARTS[5], STARTS[6]), (4, STARTS[6], STARTS[7])]
    assert [m.prob for m in got] == pytest.approx([PROBS[5], PROBS[6]], rel=1e-12)


def test_parse_grounded_maps_mentions_back_to_positions_in_the_whole_answer():
    # the <objects> body is searched as a substring: its offset must be added back before span_prob
    warnings = []
    (g,) = parse_grounded(_answer(), 5, warnings)
    assert g.label == "red cube" and g.closed and not warnings
    assert [(m.index, m.start) for m in g.mentions] == [(1, STARTS[5]), (4, STARTS[6])]
    assert [m.prob for m in g.mentions] == pytest.approx([PROBS[5], PROBS[6]], rel=1e-12)
