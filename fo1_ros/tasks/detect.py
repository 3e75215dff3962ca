"""Detection, referring expressions and visual-prompt detection by retrieval.

Prompts are the reference's (reference §2):
- `OD_TEMPLATE` ("Please detect {} in this image. Answer the question with object indexes."),
  used for categories and for referring expressions alike;
- `VISUAL_PROMPT_TEMPLATE` ("Using the provided object <regionN> as a reference, identify all
  other objects of the same category in this image. Respond with object indexes.").
Answers name regions: `<ground>label</ground><objects><region3><region5></objects>`, one group
per label found; the project's model answers `None` when nothing matches.

Scores per detection: the proposal score, the model's probability of the region token it
chose, and their product.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from .common import (
    Answer,
    Question,
    RegionContext,
    check_region_indices,
    clean_user_text,
    find_regions,
    parse_grounded,
    region_tag,
)

OD_TEMPLATE = "Please detect {} in this image. Answer the question with object indexes."
VISUAL_PROMPT_TEMPLATE = ("Using the provided object {} as a reference, identify all other objects of the same "
                          "category in this image. Respond with object indexes.")
NO_OBJECTS = "None"


def format_grounded(groups: list[tuple[str, list[int]]]) -> str:
    """Training target: `<ground>l</ground><objects><regionI>...</objects>` per non-empty group."""
    parts = [f"<ground>{label}</ground><objects>{''.join(region_tag(i) for i in idx)}</objects>"
             for label, idx in groups if idx]
    return "".join(parts) if parts else NO_OBJECTS


@dataclass
class Detections:
    """Regions the model selected.

    labels: K strings (the query they answer, or the model's label); query_index: (K,) int, -1
    when the label matches no query; region_indices: (K,) int; boxes: (K, 4) float xyxy;
    proposal_scores, model_scores, scores: (K,) float (scores = proposal x model).
    """

    labels: list[str]
    query_index: np.ndarray
    region_indices: np.ndarray
    boxes: np.ndarray
    proposal_scores: np.ndarray
    model_scores: np.ndarray
    scores: np.ndarray
    raw_text: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, rows: list[tuple[str, int, int, float]], ctx: RegionContext, raw: list[str],
              warnings: list[str]) -> "Detections":
        """rows: (label, query_index, region_index, model_prob)."""
        idx = np.array([r[2] for r in rows], dtype=np.int64)
        model = np.array([r[3] for r in rows], dtype=np.float64)
        prop = ctx.scores[idx] if len(idx) else np.zeros(0)
        return cls([r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int64), idx,
                   ctx.boxes[idx] if len(idx) else np.zeros((0, 4)), prop, model, prop * model, raw, warnings)

    def __len__(self) -> int:
        return len(self.labels)

    def for_query(self, q: int) -> "Detections":
        keep = self.query_index == q
        return Detections([label for label, k in zip(self.labels, keep) if k], self.query_index[keep],
                          self.region_indices[keep], self.boxes[keep], self.proposal_scores[keep],
                          self.model_scores[keep], self.scores[keep], self.raw_text, self.warnings)


def match_query(label: str, queries: list[str]) -> int:
    """Index of the query a model label refers to: exact, case-insensitive, then close match; -1 if none."""
    if label in queries:
        return queries.index(label)
    low = [q.lower().strip() for q in queries]
    if label.lower().strip() in low:
        return low.index(label.lower().strip())
    close = difflib.get_close_matches(label.lower().strip(), low, n=1, cutoff=0.75)
    return low.index(close[0]) if close else -1


def _grounded_rows(answers: list[Answer], ctx: RegionContext, queries: list[str], default_query: list[int],
                   warnings: list[str], label_from_model: bool = False) -> list[tuple[str, int, int, float]]:
    """(label, query_index, region_index, prob) rows from grounded answers, each region once per query.

    default_query[i] is the query answer i was asked about (-1 for a joint question). With
    `label_from_model`, rows keep the model's own label and the asked query index.
    """
    rows: list[tuple[str, int, int, float]] = []
    taken: set[tuple[int, int]] = set()

    def add(label: str, q: int, m) -> None:
        if (q, m.index) not in taken:
            taken.add((q, m.index))
            rows.append((label, q, m.index, m.prob))

    for a, dq in zip(answers, default_query):
        groups = parse_grounded(a, ctx.n, warnings)
        if not groups:
            # bare region tags still name regions (the reference demo falls back the same way)
            mentions = find_regions(a, n_regions=ctx.n, warnings=warnings)
            if mentions:
                warnings.append("answer has region tags but no <ground> group; used them as they are")
            elif a.text.strip() not in ("", NO_OBJECTS):
                warnings.append(f"unparsable detection answer {a.text[:80]!r}")
            for m in mentions:
                add(queries[dq] if dq >= 0 else "", dq, m)
            continue
        for g in groups:
            if label_from_model:
                q, label = dq, g.label or (queries[dq] if dq >= 0 else "")
            else:
                q = match_query(g.label, queries) if g.label else dq
                if q < 0 and dq >= 0 and len(queries) == 1:
                    q = dq  # a single query: whatever the model calls it, it answers that query
                label = queries[q] if q >= 0 else g.label
            for m in g.mentions:
                add(label, q, m)
    return rows


@dataclass
class DetectTask:
    """Detect categories or referring expressions among the proposals.

    queries: category names or phrases ("red mug", "the cup left of the plate").
    joint: one question listing all queries (as the reference's COCO eval) instead of one per query.
    policy: 'reject' or 'escape' reserved tokens in user queries.
    """

    queries: list[str]
    joint: bool = False
    policy: str = "reject"
    name: str = "detect"

    def __post_init__(self):
        if isinstance(self.queries, str):
            self.queries = [self.queries]
        if not self.queries:
            raise ValueError("DetectTask needs at least one query")
        self.queries = [clean_user_text(q, self.policy) for q in self.queries]
        empty = [i for i, q in enumerate(self.queries) if not q]
        if empty:
            raise ValueError(f"queries {empty} are empty")

    def questions(self, ctx: RegionContext) -> list[Question]:
        budget = 8 + ctx.n
        if self.joint:
            text = OD_TEMPLATE.format(", ".join(self.queries))
            return [Question(text, budget + 16 * len(self.queries), "grounded")]
        return [Question(OD_TEMPLATE.format(q), budget + 16, "grounded") for q in self.queries]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> Detections:
        warnings: list[str] = []
        default = [-1] if self.joint else list(range(len(self.queries)))
        rows = _grounded_rows(answers, ctx, self.queries, default, warnings)
        return Detections.build(rows, ctx, [a.text for a in answers], warnings)


@dataclass
class VisualPromptTask:
    """Find all other objects of the same category as the given region(s) ("others like <region3>")."""

    reference_regions: list[int]
    name: str = "visual_prompt"

    def questions(self, ctx: RegionContext) -> list[Question]:
        refs = check_region_indices(self.reference_regions, ctx.n, "reference region")
        if not refs:
            raise ValueError("VisualPromptTask needs at least one reference region")
        return [Question(VISUAL_PROMPT_TEMPLATE.format(region_tag(r)), 24 + ctx.n, "grounded") for r in refs]

    def parse(self, answers: list[Answer], ctx: RegionContext) -> Detections:
        warnings: list[str] = []
        refs = [f"<region{r}>" for r in self.reference_regions]
        rows = _grounded_rows(answers, ctx, refs, list(range(len(refs))), warnings, label_from_model=True)
        return Detections.build(rows, ctx, [a.text for a in answers], warnings)
