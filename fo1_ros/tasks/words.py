"""English word forms for phrasing questions and answers: plurals, articles, number words.

The training targets (`fo1_ros.synth.questions`) and the evaluation's questions
(`fo1_ros.eval.run`) must name things the same way, so these live here, below both.
"""

from __future__ import annotations

# irregular plurals of the synthetic categories (and "object"); anything else takes an "s"
PLURALS = {"cube": "cubes", "box": "boxes", "ball": "balls", "can": "cans", "cone": "cones", "pyramid": "pyramids",
           "cup": "cups", "object": "objects"}
# NUMBER_WORDS[n] names n in answers ("no" for 0: "no red cubes")
NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


def plural(noun: str) -> str:
    """'box' -> 'boxes', 'cube' -> 'cubes' (PLURALS, else the noun + 's')."""
    return PLURALS.get(noun, noun + "s")


def with_article(word: str) -> str:
    """'a red cube', 'an orange ball': the indefinite article by the first letter."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


__all__ = ["NUMBER_WORDS", "PLURALS", "plural", "with_article"]
