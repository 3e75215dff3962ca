"""Counting by detect-then-count (reference §2, `OD_Counting_template`).

The model first names every instance's region, then states the number. The result carries
both; `consistent` is False (with a warning) when they disagree, so a robot can decide which
to trust. The number is read like the reference's CountBench evaluation: strip region tags,
take the first integer (number words one..twenty are read too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .common import (
    REGION_RE,
    Answer,
    Question,
    RegionContext,
    clean_user_text,
    find_regions,
    parse_grounded,
    strip_tags,
)
from .detect import format_grounded

COUNT_TEMPLATE = ("How many {} are there in this image? Count each instance of the target object. Locate them "
                  "with object indexes and then answer the question with the number of objects.")
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_NUMBER_RE = re.compile(r"\b(\d+|" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


def format_count_answer(label: str, indices: list[int]) -> str:
    """Training target: the grounded instances, then the number."""
    grounded = format_grounded([(label, indices)]) if indices else f"<ground>{label}</ground><objects></objects>"
    return f"{grounded}\nThe answer is {len(indices)}."


def read_number(text: str) -> int | None:
    m = _NUMBER_RE.search(strip_tags(REGION_RE.sub("", text)))
    if not m:
        return None
    tok = m.group(1).lower()
    return int(tok) if tok.isdigit() else _WORDS.index(tok)


@dataclass
class CountResult:
    """label; count: the number the model stated (None if it stated none); region_indices (K,)
    and boxes (K, 4) of the instances it named; model_scores (K,); consistent: count == K."""

    label: str
    count: int | None
    region_indices: np.ndarray
    boxes: np.ndarray
    model_scores: np.ndarray
    consistent: bool
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def best_count(self) -> int:
        """The stated number, or the number of named regions when no number was stated."""
        return self.count if self.count is not None else len(self.region_indices)


@dataclass
class CountTask:
    """Count each of `labels` (plural or singular nouns, e.g. "red cubes")."""

    labels: list[str]
    policy: str = "reject"
    name: str = "count"

    def __post_init__(self):
        if isinstance(self.labels, str):
            self.labels = [self.labels]
        if not self.labels:
            raise ValueError("CountTask needs at least one label")
        self.labels = [clean_user_text(label, self.policy) for label in self.labels]
        if any(not label for label in self.labels):
            raise ValueError("count labels must not be empty")

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(COUNT_TEMPLATE.format(label), 24 + ctx.n, "count") for label in self.labels]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> list[CountResult]:
        out = []
        for label, a in zip(self.labels, answers):
            warnings: list[str] = []
            groups = parse_grounded(a, ctx.n, warnings)
            mentions = [m for g in groups for m in g.mentions] if groups else find_regions(a, n_regions=ctx.n,
                                                                                           warnings=warnings)
            seen, uniq = set(), []
            for m in mentions:
                if m.index not in seen:
                    seen.add(m.index)
                    uniq.append(m)
            tail = a.text[a.text.rfind("</objects>") + 10:] if "</objects>" in a.text else a.text
            n = read_number(tail)
            if n is None:
                warnings.append("answer states no number; use the number of named regions")
            consistent = n is not None and n == len(uniq)
            if n is not None and not consistent:
                warnings.append(f"stated count {n} differs from the {len(uniq)} regions named")
            idx = np.array([m.index for m in uniq], dtype=np.int64)
            out.append(CountResult(label, n, idx, ctx.boxes[idx] if len(idx) else np.zeros((0, 4)),
                                   np.array([m.prob for m in uniq]), consistent, a.text, warnings))
        return out
