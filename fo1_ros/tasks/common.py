"""Pieces every task shares: questions, answers with per-token probabilities, total region parsing.

A task turns a request into one or more `Question`s (text for the model plus a token budget)
and turns the model's `Answer`s back into a typed result. Parsing is total: malformed text,
missing or unbalanced tags, out-of-range or repeated region indices and truncated answers
give a result with the raw text and warnings — never an exception and never a box the model
did not name.

Dims: `N` proposals (regions the model saw), `K` selected regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..model.prompt import PromptError, check_user_text, escape_user_text

REGION_RE = re.compile(r"<region(\d+)>")
GROUND_RE = re.compile(r"<ground>(.*?)</ground>\s*<objects>(.*?)(</objects>|$)", re.DOTALL)
TAG_RE = re.compile(r"</?(?:ground|objects|think|answer)>|<\|[^<>|]*\|>")


def region_tag(i: int) -> str:
    return f"<region{i}>"


def clean_user_text(text: str, policy: str = "reject", allow_region_refs: bool = False) -> str:
    """Make user text safe for a prompt: 'reject' raises PromptError, 'escape' neutralises.

    `allow_region_refs` keeps exact `<regionN>` references (questions about regions).
    """
    if policy == "escape":
        return escape_user_text(text, allow_region_refs=allow_region_refs).strip()
    if policy != "reject":
        raise ValueError(f"policy must be 'reject' or 'escape', got {policy!r}")
    return check_user_text(text, allow_region_refs=allow_region_refs).strip()


@dataclass
class Question:
    """One model query: `text` goes after the image and object tokens; `kind` says how to decode.

    kind: 'grounded' (answers made of <ground>/<objects>/<regionN>), 'free' (plain text),
    'count' (grounded regions then a number), 'reasoning' (<think>/<answer>).
    """

    text: str
    max_new_tokens: int
    kind: str = "free"


@dataclass
class Answer:
    """A decoded answer: full text, and each generated token's text and probability."""

    text: str
    token_texts: list[str] = field(default_factory=list)
    token_probs: list[float] = field(default_factory=list)
    truncated: bool = False  # the token budget ran out before the stop token

    def span_prob(self, start: int, end: int) -> float:
        """Product of the probabilities of the tokens overlapping text[start:end] (1.0 if unknown)."""
        if not self.token_texts or len(self.token_texts) != len(self.token_probs):
            return 1.0
        p, pos = 1.0, 0
        for t, q in zip(self.token_texts, self.token_probs):
            nxt = pos + len(t)
            if nxt > start and pos < end:
                p *= float(q)
            pos = nxt
            if pos >= end:
                break
        return p


@dataclass
class RegionContext:
    """The proposals the model saw: boxes (N, 4) float xyxy pixels, scores (N,) float in [0, 1]."""

    boxes: np.ndarray
    scores: np.ndarray

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if self.scores.shape[0] != self.boxes.shape[0]:
            raise ValueError(f"{self.boxes.shape[0]} boxes but {self.scores.shape[0]} scores")

    @property
    def n(self) -> int:
        return self.boxes.shape[0]


@dataclass
class Mention:
    """A `<regionN>` the model wrote: index, its probability, character span in the answer."""

    index: int
    prob: float
    start: int
    end: int


def find_regions(answer: Answer, text: str | None = None, offset: int = 0, n_regions: int | None = None,
                 warnings: list[str] | None = None) -> list[Mention]:
    """All valid, first-occurrence region mentions in `text` (default: the whole answer).

    Out-of-range indices and repeats are dropped with a warning (never turned into boxes).
    """
    text = answer.text if text is None else text
    out: list[Mention] = []
    seen: set[int] = set()
    for m in REGION_RE.finditer(text):
        i = int(m.group(1))
        if n_regions is not None and i >= n_regions:
            if warnings is not None:
                warnings.append(f"answer names <region{i}> but only {n_regions} regions exist; ignored")
            continue
        if i in seen:
            if warnings is not None:
                warnings.append(f"answer repeats <region{i}>; counted once")
            continue
        seen.add(i)
        s, e = offset + m.start(), offset + m.end()
        out.append(Mention(i, answer.span_prob(s, e), s, e))
    return out


@dataclass
class GroundedGroup:
    """One `<ground>label</ground><objects>...</objects>` group."""

    label: str
    mentions: list[Mention]
    closed: bool  # False when the answer was cut before `</objects>`


def parse_grounded(answer: Answer, n_regions: int, warnings: list[str]) -> list[GroundedGroup]:
    """Every grounded group of an answer, tolerant of truncation and junk between groups."""
    groups: list[GroundedGroup] = []
    for m in GROUND_RE.finditer(answer.text):
        label = strip_tags(m.group(1)).strip()
        closed = m.group(3) == "</objects>"
        if not closed:
            warnings.append(f"group {label!r} is not closed with </objects> (answer cut short?)")
        mentions = find_regions(answer, m.group(2), m.start(2), n_regions, warnings)
        groups.append(GroundedGroup(label, mentions, closed))
    opened = answer.text.count("<ground>")
    if opened > len(groups):
        warnings.append(f"{opened - len(groups)} <ground> tag(s) without a following <objects> list ignored")
    return groups


def strip_tags(text: str) -> str:
    """Remove FO1 markup for people: `<regionN>` becomes "region N", other tags go; spaces collapse."""
    text = REGION_RE.sub(lambda m: f"region {m.group(1)}", TAG_RE.sub("", text))
    return re.sub(r"\s{2,}", " ", text).strip()


def describe_region_list(indices: list[int]) -> str:
    """'<region1>' / '<region1> and <region4>' / '<region1>, <region2> and <region4>'."""
    tags = [region_tag(i) for i in indices]
    return tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " and " + tags[-1]


def check_region_indices(indices, n_regions: int, what: str = "region") -> list[int]:
    """Validate caller-given region indices (user input): ints in [0, n_regions), no repeats."""
    out = []
    for i in indices:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"{what} index must be an integer, got {i!r}")
        if not 0 <= int(i) < n_regions:
            raise ValueError(f"{what} index {int(i)} is out of range: this frame has {n_regions} regions")
        if int(i) in out:
            raise ValueError(f"{what} index {int(i)} is given twice")
        out.append(int(i))
    return out


__all__ = ["Answer", "GroundedGroup", "Mention", "PromptError", "Question", "RegionContext", "check_region_indices",
           "clean_user_text", "describe_region_list", "find_regions", "parse_grounded", "region_tag", "strip_tags"]
