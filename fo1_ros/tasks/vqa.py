"""Region VQA: a free question about one or more regions ("What colour is <region2>?").

The question is user text: reserved tokens are rejected (or escaped). It names regions through
`region_indices`, placed where the question says `{region}` / `{regions}` ("What is written on
{region}?") or else as a lead-in ("About <region2>: what colour is it?").
"""

from __future__ import annotations

from dataclasses import dataclass

from .caption import RegionText, region_text
from .common import (
    Answer,
    Question,
    RegionContext,
    check_region_indices,
    clean_user_text,
    describe_region_list,
    region_tag,
)


@dataclass
class VQATask:
    """Ask `question` about `region_indices` (may be empty for a question about the whole frame)."""

    question: str
    region_indices: list[int]
    policy: str = "reject"
    max_new_tokens: int = 48
    name: str = "vqa"

    def __post_init__(self):
        self.question = clean_user_text(self.question, self.policy, allow_region_refs=True)
        if not self.question:
            raise ValueError("the question is empty")

    def text(self, ctx: RegionContext) -> str:
        regions = check_region_indices(self.region_indices, ctx.n)
        q = self.question
        if regions and ("{region}" in q or "{regions}" in q):
            return q.replace("{regions}", describe_region_list(regions)).replace("{region}", region_tag(regions[0]))
        if regions and not any(region_tag(r) in q for r in regions):
            return f"About {describe_region_list(regions)}: {q}"
        return q

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(self.text(ctx), self.max_new_tokens, "free")]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> RegionText:
        return region_text("vqa", list(self.region_indices), answers[0], ctx)
