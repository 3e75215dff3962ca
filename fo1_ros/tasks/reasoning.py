"""Object-level reasoning in the `<think>…</think><answer>…</answer>` format (reference §2).

The prompt is the reference's `Viusal_Region_Reasoning_template` followed by the user's
question; the answer's cited regions (in the thinking and in the answer) come back as boxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .common import REGION_RE, Answer, Question, RegionContext, clean_user_text, find_regions, strip_tags

REASONING_TEMPLATE = (
    "First thinks about the reasoning process in the mind and then provides the user with the answer. The "
    "reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
    "i.e., <think> reasoning process here </think><answer> answer here </answer>. Please give a detailed reasoning "
    "process process and provide image regions that can help you answer the question better. {}")
_THINK_RE = re.compile(r"<think>(.*?)(</think>|$)", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>(.*?)(</answer>|$)", re.DOTALL)


def format_reasoning_answer(thinking: str, answer: str) -> str:
    return f"<think>{thinking}</think><answer>{answer}</answer>"


@dataclass
class ReasoningResult:
    """thinking / answer text (markup removed); answer_regions: regions named in the answer;
    cited_regions: every region named anywhere, in order; boxes: (len(cited_regions), 4)."""

    question: str
    thinking: str
    answer: str
    answer_regions: list[int]
    cited_regions: list[int]
    boxes: np.ndarray
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReasoningTask:
    question: str
    policy: str = "reject"
    max_new_tokens: int = 160
    name: str = "reasoning"

    def __post_init__(self):
        self.question = clean_user_text(self.question, self.policy, allow_region_refs=True)
        if not self.question:
            raise ValueError("the question is empty")

    def questions(self, ctx: RegionContext) -> list[Question]:
        return [Question(REASONING_TEMPLATE.format(self.question), self.max_new_tokens, "reasoning")]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> ReasoningResult:
        a = answers[0]
        warnings: list[str] = []
        think = _THINK_RE.search(a.text)
        ans = _ANSWER_RE.search(a.text)
        if not think:
            warnings.append("no <think> section")
        elif think.group(2) != "</think>":
            warnings.append("<think> section not closed")
        if not ans:
            warnings.append("no <answer> section; the whole text is used as the answer")
        elif ans.group(2) != "</answer>":
            warnings.append("<answer> section not closed (answer cut short?)")
        cited = [m.index for m in find_regions(a, n_regions=ctx.n)]  # repeats are natural here
        bad = sorted({int(i) for i in REGION_RE.findall(a.text) if int(i) >= ctx.n})
        if bad:
            warnings.append(f"answer names regions {bad} but only {ctx.n} regions exist; ignored")
        answer_regions = ([m.index for m in find_regions(a, ans.group(1), ans.start(1), ctx.n)] if ans else cited)
        answer_text = strip_tags(ans.group(1)) if ans else strip_tags(a.text)
        return ReasoningResult(self.question, strip_tags(think.group(1)) if think else "", answer_text,
                               answer_regions, cited, ctx.boxes[cited] if cited else np.zeros((0, 4)), a.text,
                               warnings)
