"""Region captions (brief / detailed) for proposals or any user rectangles.

Prompts (reference §2): "Provide a brief description for <regionN>." and "Provide a detailed
description for <regionN>.". One question per region; the engine batches them over one
shared image prefix, so captioning many regions costs one encoding of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .common import Answer, Question, RegionContext, check_region_indices, find_regions, region_tag, strip_tags

BRIEF_TEMPLATE = "Provide a brief description for {}."
DETAILED_TEMPLATE = "Provide a detailed description for {}."
DETAILS = {"brief": (BRIEF_TEMPLATE, 40), "detailed": (DETAILED_TEMPLATE, 96)}


@dataclass
class RegionText:
    """Text about one or more regions.

    region_indices: the regions asked about; boxes: (len(region_indices), 4) float xyxy;
    text: the answer with markup removed; referenced: regions the answer itself names;
    raw_text: the model's answer as generated; warnings: parse problems.
    """

    task: str
    region_indices: list[int]
    boxes: np.ndarray
    text: str
    referenced: list[int] = field(default_factory=list)
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)


def region_text(task: str, regions: list[int], answer: Answer, ctx: RegionContext) -> RegionText:
    warnings: list[str] = []
    if answer.truncated:
        warnings.append("answer was cut at the token budget")
    refs = [m.index for m in find_regions(answer, n_regions=ctx.n, warnings=warnings)]
    text = strip_tags(answer.text)
    if not text:
        warnings.append("empty answer")
    return RegionText(task, list(regions), ctx.boxes[regions] if regions else np.zeros((0, 4)), text, refs,
                      answer.text, warnings)


@dataclass
class CaptionTask:
    """Describe each of `regions` (indices into the frame's regions; None = every region)."""

    regions: list[int] | None = None
    detail: str = "brief"
    name: str = "caption"

    def __post_init__(self):
        if self.detail not in DETAILS:
            raise ValueError(f"detail must be one of {sorted(DETAILS)}, got {self.detail!r}")

    def targets(self, ctx: RegionContext) -> list[int]:
        return list(range(ctx.n)) if self.regions is None else check_region_indices(self.regions, ctx.n)

    def questions(self, ctx: RegionContext) -> list[Question]:
        template, budget = DETAILS[self.detail]
        return [Question(template.format(region_tag(i)), budget, "free") for i in self.targets(ctx)]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> list[RegionText]:
        return [region_text(f"caption_{self.detail}", [i], a, ctx) for i, a in zip(self.targets(ctx), answers)]
