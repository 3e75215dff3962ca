"""Region OCR: read the text printed inside regions.

Prompt (reference §2): "Please provide the ocr results of <regionN> in the image.". The
project's model answers the characters it reads, or `No text.` when a region carries none.
"""

from __future__ import annotations

from dataclasses import dataclass

from .caption import RegionText, region_text
from .common import Answer, Question, RegionContext, check_region_indices, region_tag

OCR_TEMPLATE = "Please provide the ocr results of {} in the image."
NO_TEXT = "No text."


@dataclass
class OCRTask:
    """Read the text in each of `regions` (None = every region)."""

    regions: list[int] | None = None
    name: str = "ocr"

    def targets(self, ctx: RegionContext) -> list[int]:
        return list(range(ctx.n)) if self.regions is None else check_region_indices(self.regions, ctx.n)

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(OCR_TEMPLATE.format(region_tag(i)), 16, "free") for i in self.targets(ctx)]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> list[RegionText]:
        out = []
        for i, a in zip(self.targets(ctx), answers):
            r = region_text("ocr", [i], a, ctx)
            if r.text == NO_TEXT:
                r.text = ""
            out.append(r)
        return out
