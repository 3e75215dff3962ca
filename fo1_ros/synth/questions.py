"""Questions and answers about a synthetic scene, answered from its ground truth.

`QAGenerator` writes questions in the reference prompt formats (the templates live in
`fo1_ros.tasks`, so training and inference cannot drift apart) about a scene and the regions
the model sees (`fo1_ros.synth.regions.RegionSet`), with answers derived from the ground
truth, for every capability the engine exposes:

  detection (one or several categories, attributes, absent ones), referring expressions
  (attributes, spatial relations, superlatives, printed text), brief/detailed captions, OCR,
  VQA (colour, shape, size, text, yes/no), counting, visual-prompt detection, grounded scene
  description, labelling every proposal, and `<think>/<answer>` reasoning.

An object is *named* only through its primary region (the region with the highest IoU >= 0.5);
looser duplicates are negatives, so the model learns to pick the tightest box. The trainer
(`fo1_ros.train`) samples its targets here; the evaluation (`fo1_ros.eval`) asks the same
questions and scores the answers against these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tasks.caption import BRIEF_TEMPLATE, DETAILED_TEMPLATE
from ..tasks.common import region_tag
from ..tasks.count import COUNT_TEMPLATE, format_count_answer
from ..tasks.detect import OD_TEMPLATE, VISUAL_PROMPT_TEMPLATE, format_grounded
from ..tasks.grounding import GROUNDING_TEMPLATE, LABEL_ALL_TEMPLATE
from ..tasks.ocr import NO_TEXT, OCR_TEMPLATE
from ..tasks.reasoning import REASONING_TEMPLATE, format_reasoning_answer
from ..tasks.words import NUMBER_WORDS, plural, with_article
from .config import CATEGORIES, COLOURS
from .regions import RegionSet
from .scene import Scene

NO_WRITING = "Nothing."
TASKS = ("detect", "detect_multi", "rec", "caption_brief", "caption_detailed", "ocr", "vqa", "count",
         "visual_prompt", "grounding", "label_all", "reasoning")


@dataclass
class QA:
    """One question about a frame and the answer the model should give."""

    task: str
    question: str
    answer: str


class QAGenerator:
    """Writes QA pairs for a scene + region set. All randomness comes from the given Generator."""

    def __init__(self, scene: Scene, regions: RegionSet, rng: np.random.Generator, vqa_kinds=None):
        self.scene, self.regions, self.rng = scene, regions, rng
        self.vqa_kinds = list(vqa_kinds) if vqa_kinds else list(range(7))  # which VQA question kinds to ask
        self.objs = scene.objects
        self.named = sorted(regions.region_of)  # objects the model can name
        W = scene.width
        self.cx = np.array([(o.box_2d[0] + o.box_2d[2]) / 2 for o in self.objs]) / max(W, 1)
        self.extent = np.array([float(np.max(o.size)) for o in self.objs])

    # ---- helpers -------------------------------------------------------------------------
    def _regions_where(self, pred) -> list[int]:
        return sorted(self.regions.region_of[i] for i in self.named if pred(self.objs[i]))

    def _tag(self, obj_index: int) -> str:
        return region_tag(self.regions.region_of[obj_index])

    def _pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def _name(self, o, with_size: bool = False) -> str:
        return (f"{o.size_class} " if with_size else "") + f"{o.colour} {o.category}"

    def brief_caption(self, o) -> str:
        text = f' with "{o.text}" on it' if o.text else ""
        return f"a {o.size_class} {o.colour} {o.category}{text}"

    def detailed_caption(self, o) -> str:
        side = ("left", "middle", "right")[min(2, int(3 * (o.box_2d[0] + o.box_2d[2]) / 2 / self.scene.width))]
        text = f' The letters "{o.text}" are printed on it.' if o.text else " It has no writing on it."
        return (f"A {o.size_class} {o.colour} {o.category} on the {side} side of the table, about "
                f"{o.distance_m:.1f} m from the camera.{text}")

    # ---- tasks ---------------------------------------------------------------------------------
    def detect(self) -> QA:
        rng = self.rng
        mode = rng.random()
        present = [self.objs[i] for i in self.named]
        if mode < 0.25 or not present:  # an absent (or possibly absent) category
            cat = self._pick(CATEGORIES)
            query, pred = cat, (lambda o, c=cat: o.category == c)
        elif mode < 0.6:
            o = self._pick(present)
            query, pred = o.category, (lambda x, c=o.category: x.category == c)
        elif mode < 0.85:
            o = self._pick(present)
            query, pred = f"{o.colour} {o.category}", (
                lambda x, c=o.category, k=o.colour: x.category == c and x.colour == k)
        else:
            o = self._pick(present)
            if rng.random() < 0.5:
                query, pred = f"{o.colour} object", (lambda x, k=o.colour: x.colour == k)
            else:
                query, pred = f"{o.size_class} {o.category}", (
                    lambda x, c=o.category, s=o.size_class: x.category == c and x.size_class == s)
        if rng.random() < 0.3 and " " not in query:
            query = plural(query)
        return QA("detect", OD_TEMPLATE.format(query), format_grounded([(query, self._regions_where(pred))]))

    def detect_multi(self) -> QA:
        k = int(self.rng.integers(2, 4))
        cats = list(self.rng.choice(CATEGORIES, k, replace=False))
        groups = [(c, self._regions_where(lambda o, c=c: o.category == c)) for c in cats]
        return QA("detect_multi", OD_TEMPLATE.format(", ".join(cats)), format_grounded(groups))

    def rec(self) -> QA | None:
        """A referring expression that picks exactly one named object."""
        if not self.named:
            return None
        i = self._pick(self.named)
        o = self.objs[i]
        same = [j for j in self.named if self.objs[j].category == o.category and self.objs[j].colour == o.colour]
        options = []
        if len([j for j in self.named if self.objs[j].category == o.category]) == 1:
            options.append(f"the {o.category}")
        if len(same) == 1:
            options.append(f"the {o.colour} {o.category}")
        if len([j for j in same if self.objs[j].size_class == o.size_class]) == 1:
            options.append(f"the {o.size_class} {o.colour} {o.category}")
        if o.text and sum(self.objs[j].text == o.text for j in self.named) == 1:
            options.append(f'the {o.category} with "{o.text}" on it')
        if len(same) > 1:
            xs = [self.cx[j] for j in same]
            if i == same[int(np.argmin(xs))] and sorted(xs)[1] - min(xs) > 0.05:
                options.append(f"the leftmost {o.colour} {o.category}")
            if i == same[int(np.argmax(xs))] and max(xs) - sorted(xs)[-2] > 0.05:
                options.append(f"the rightmost {o.colour} {o.category}")
            ds = [self.objs[j].distance_m for j in same]
            if i == same[int(np.argmin(ds))] and sorted(ds)[1] - min(ds) > 0.1:
                options.append(f"the {o.colour} {o.category} closest to the camera")
        by_colour = [j for j in self.named if self.objs[j].colour == o.colour]
        if len(by_colour) > 1:
            ext = [self.extent[j] for j in by_colour]
            if i == by_colour[int(np.argmax(ext))] and sorted(ext)[-1] > 1.3 * sorted(ext)[-2]:
                options.append(f"the largest {o.colour} object")
            if i == by_colour[int(np.argmin(ext))] and sorted(ext)[1] > 1.3 * sorted(ext)[0]:
                options.append(f"the smallest {o.colour} object")
        # relation to a unique reference object
        refs = [j for j in self.named if j != i and sum(
            self.objs[k].colour == self.objs[j].colour and self.objs[k].category == self.objs[j].category
            for k in self.named) == 1]
        if refs and len(same) > 1:
            j = self._pick(refs)
            r = self.objs[j]
            left = [k for k in same if self.cx[k] < self.cx[j] - 0.03]
            right = [k for k in same if self.cx[k] > self.cx[j] + 0.03]
            if left == [i]:
                options.append(f"the {o.colour} {o.category} left of the {r.colour} {r.category}")
            if right == [i]:
                options.append(f"the {o.colour} {o.category} right of the {r.colour} {r.category}")
        if not options:
            return None
        expr = self._pick(options)
        return QA("rec", OD_TEMPLATE.format(expr), format_grounded([(expr, [self.regions.region_of[i]])]))

    def caption(self, detailed: bool) -> QA | None:
        if not self.named:
            return None
        i = self._pick(self.named)
        o = self.objs[i]
        tpl = DETAILED_TEMPLATE if detailed else BRIEF_TEMPLATE
        ans = self.detailed_caption(o) if detailed else self.brief_caption(o)
        return QA("caption_detailed" if detailed else "caption_brief", tpl.format(self._tag(i)), ans)

    def ocr(self) -> QA | None:
        if not self.named:
            return None
        with_text = [i for i in self.named if self.objs[i].text]
        i = self._pick(with_text) if with_text and self.rng.random() < 0.75 else self._pick(self.named)
        o = self.objs[i]
        return QA("ocr", OCR_TEMPLATE.format(self._tag(i)), o.text if o.text else NO_TEXT)

    def vqa(self) -> QA | None:
        if not self.named:
            return None
        rng = self.rng
        i = self._pick(self.named)
        o = self.objs[i]
        tag = self._tag(i)
        colour_word = "color" if rng.random() < 0.5 else "colour"
        kind = self.vqa_kinds[int(rng.integers(len(self.vqa_kinds)))]
        if kind == 0:
            q, a = f"What {colour_word} is {tag}?", o.colour
        elif kind == 1:
            q, a = f"What shape is {tag}?", o.category
        elif kind == 2:
            q, a = f"What size is {tag}?", o.size_class
        elif kind == 3:
            q, a = f"What is written on {tag}?", o.text or NO_WRITING
        elif kind == 4:
            cat = o.category if rng.random() < 0.5 else self._pick(CATEGORIES)
            q, a = f"Is {tag} {with_article(cat)}?", "Yes" if cat == o.category else "No"
        elif kind == 5:
            col = o.colour if rng.random() < 0.5 else self._pick(list(COLOURS))
            q, a = f"Is {tag} {col}?", "Yes" if col == o.colour else "No"
        else:
            q, a = f"Is there any text on {tag}?", "Yes" if o.text else "No"
        if rng.random() < 0.25:  # the lead-in form VQATask writes for questions without a placeholder
            q = f"About {tag}: " + q.replace(f" {tag}", " it")
        return QA("vqa", q, a)

    def count(self) -> QA:
        rng = self.rng
        present = [self.objs[i] for i in self.named]
        if present and rng.random() < 0.8:
            o = self._pick(present)
            if rng.random() < 0.6:
                noun, pred = plural(o.category), (lambda x, c=o.category: x.category == c)
            else:
                noun, pred = f"{o.colour} {plural(o.category)}", (
                    lambda x, c=o.category, k=o.colour: x.category == c and x.colour == k)
        else:
            cat = self._pick(CATEGORIES)
            noun, pred = plural(cat), (lambda x, c=cat: x.category == c)
        return QA("count", COUNT_TEMPLATE.format(noun), format_count_answer(noun, self._regions_where(pred)))

    def visual_prompt(self) -> QA | None:
        if not self.named:
            return None
        i = self._pick(self.named)
        o = self.objs[i]
        others = [self.regions.region_of[j] for j in self.named if j != i and self.objs[j].category == o.category]
        return QA("visual_prompt", VISUAL_PROMPT_TEMPLATE.format(self._tag(i)),
                  format_grounded([(o.category, sorted(others))]))

    def _groups(self) -> list[tuple[str, list[int], float]]:
        """(colour category, regions, mean x) per group of named objects, left to right."""
        groups: dict[str, list[int]] = {}
        for i in self.named:
            groups.setdefault(f"{self.objs[i].colour} {self.objs[i].category}", []).append(i)
        rows = [(name, sorted(self.regions.region_of[i] for i in idx), float(np.mean(self.cx[idx])))
                for name, idx in groups.items()]
        return sorted(rows, key=lambda r: r[2])

    def grounding(self) -> QA | None:
        groups = self._groups()
        if not groups:
            return None
        groups = groups[:6]
        phrases = []
        for name, regs, _ in groups:
            colour, cat = name.split(" ", 1)
            noun = (with_article(name) if len(regs) == 1
                    else f"{NUMBER_WORDS[min(len(regs), 20)]} {colour} {plural(cat)}")
            phrases.append(f"<ground>{noun}</ground><objects>{''.join(region_tag(r) for r in regs)}</objects>")
        body = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return QA("grounding", GROUNDING_TEMPLATE, f"A table with {body}.")

    def label_all(self) -> QA | None:
        groups = self._groups()
        if not groups:
            return None
        ordered = sorted(groups, key=lambda g: g[1][0])
        return QA("label_all", LABEL_ALL_TEMPLATE, format_grounded([(g[0], g[1]) for g in ordered]))

    def reasoning(self) -> QA | None:
        rng = self.rng
        if len(self.named) < 2:
            return None
        kind = rng.integers(4)
        i, j = (int(v) for v in rng.choice(self.named, 2, replace=False))
        a, b = self.objs[i], self.objs[j]
        ta, tb = self._tag(i), self._tag(j)
        if kind == 0:
            ea, eb = self.extent[i], self.extent[j]
            if max(ea, eb) < 1.25 * min(ea, eb):
                return None
            big = ta if ea > eb else tb
            think = (f"{ta} is {with_article(self._name(a, True))} and {tb} is {with_article(self._name(b, True))}. "
                     f"The larger one is {big}.")
            return QA("reasoning", REASONING_TEMPLATE.format(f"Which is larger, {ta} or {tb}?"),
                      format_reasoning_answer(think, big))
        if kind == 1:
            da, db = a.distance_m, b.distance_m
            if abs(da - db) < 0.15:
                return None
            near = ta if da < db else tb
            think = (f"{ta} is {with_article(self._name(a))} about {da:.1f} m away and "
                     f"{tb} is {with_article(self._name(b))} about {db:.1f} m away. {near} is closer.")
            return QA("reasoning", REASONING_TEMPLATE.format(f"Which is closer to the camera, {ta} or {tb}?"),
                      format_reasoning_answer(think, near))
        if kind == 2:
            same = a.colour == b.colour
            think = f"{ta} is {a.colour} and {tb} is {b.colour}."
            return QA("reasoning", REASONING_TEMPLATE.format(f"Are {ta} and {tb} the same colour?"),
                      format_reasoning_answer(think, "Yes" if same else "No"))
        # kind 3: read the text on a uniquely described object
        cands = [k for k in self.named if self.objs[k].text and sum(
            self.objs[m].colour == self.objs[k].colour and self.objs[m].category == self.objs[k].category
            for m in self.named) == 1]
        if not cands:
            return None
        k = self._pick(cands)
        o = self.objs[k]
        think = f"The {o.colour} {o.category} is {self._tag(k)}. It has \"{o.text}\" printed on it."
        return QA("reasoning", REASONING_TEMPLATE.format(f"What is written on the {o.colour} {o.category}?"),
                  format_reasoning_answer(think, o.text))

    def make(self, task: str) -> QA | None:
        if task == "detect":
            return self.detect()
        if task == "detect_multi":
            return self.detect_multi()
        if task in ("caption_brief", "caption_detailed"):
            return self.caption(task == "caption_detailed")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {TASKS}")
        return getattr(self, task)()

    def sample(self, weights: dict[str, float], k: int, max_tries: int = 40) -> list[QA]:
        """Up to k QAs with tasks drawn by weight, without exact repeats."""
        names = [t for t in weights if weights[t] > 0]
        p = np.array([weights[t] for t in names], dtype=np.float64)
        p /= p.sum()
        out: list[QA] = []
        seen: set[str] = set()
        for _ in range(max_tries):
            if len(out) >= k:
                break
            qa = self.make(names[int(self.rng.choice(len(names), p=p))])
            if qa is not None and qa.question not in seen:
                seen.add(qa.question)
                out.append(qa)
        return out


__all__ = ["NO_WRITING", "QA", "QAGenerator", "TASKS"]
