"""English word forms shared by the training targets and the evaluation's questions."""

from __future__ import annotations

from fo1_ros.synth import CATEGORIES
from fo1_ros.tasks.words import NUMBER_WORDS, plural, with_article


def test_plurals_of_every_category():
    assert plural("box") == "boxes" and plural("cube") == "cubes" and plural("object") == "objects"
    assert all(plural(c).endswith("s") and plural(c).startswith(c[:-1]) for c in CATEGORIES)


def test_articles_and_number_words():
    assert with_article("orange cube") == "an orange cube" and with_article("red ball") == "a red ball"
    assert NUMBER_WORDS[0] == "no" and NUMBER_WORDS[3] == "three" and len(NUMBER_WORDS) == 21
