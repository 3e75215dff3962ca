"""Grounded scene description and labelling every proposal.

- `GroundingTask` (reference `Grounding_template`): "Briefly describe this image and detect all
  mentioned objects. Answer with grounded object indexes." — a sentence whose noun phrases are
  wrapped as `<ground>phrase</ground><objects>…</objects>`.
- `LabelAllTask` (reference `OD_All_template`): "Please identify every object in the image and
  provide their labels along with their indexes." — one grounded group per label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .common import Answer, Question, RegionContext, parse_grounded, strip_tags
from .detect import Detections, _grounded_rows

GROUNDING_TEMPLATE = ("Briefly describe this image and detect all mentioned objects. Answer with grounded "
                      "object indexes.")
LABEL_ALL_TEMPLATE = "Please identify every object in the image and provide their labels along with their indexes."


@dataclass
class GroundedPhrase:
    phrase: str
    region_indices: list[int]
    boxes: np.ndarray
    model_scores: list[float]


@dataclass
class GroundingResult:
    """caption: the description with markup removed; phrases: each grounded noun phrase."""

    caption: str
    phrases: list[GroundedPhrase]
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class GroundingTask:
    name: str = "grounding"

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(GROUNDING_TEMPLATE, 64 + 2 * ctx.n, "free")]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> GroundingResult:
        a = answers[0]
        warnings: list[str] = []
        phrases = []
        for g in parse_grounded(a, ctx.n, warnings):
            idx = [m.index for m in g.mentions]
            phrases.append(GroundedPhrase(g.label, idx, ctx.boxes[idx] if idx else np.zeros((0, 4)),
                                          [m.prob for m in g.mentions]))
        # the caption keeps the phrases and drops their region lists
        caption = strip_tags(re.sub(r"<objects>.*?(</objects>|$)", "", a.text, flags=re.DOTALL))
        return GroundingResult(caption, phrases, a.text, warnings)


@dataclass
class LabelAllTask:
    """Label every proposal the model recognises (labels come from the model)."""

    name: str = "label_all"

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(LABEL_ALL_TEMPLATE, 16 + 12 * ctx.n, "grounded")]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> Detections:
        warnings: list[str] = []
        rows = _grounded_rows(answers, ctx, [""], [-1], warnings, label_from_model=True)
        return Detections.build(rows, ctx, [a.text for a in answers], warnings)
