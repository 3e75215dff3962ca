"""Questions and answers from a scene's ground truth (fo1_ros.synth.questions).

Every generated answer is read back here with parsers written for the test (regular expressions
over the answer formats, the task parsers for region lists) and each attribute it states —
colour, shape, size, printed text, side, distance, count, which regions — is checked against the
ground truth of the object its region shows. A generator that gets any one attribute wrong fails.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from fo1_ros.synth.config import CATEGORIES, COLOURS, SIZE_CLASSES
from fo1_ros.synth.questions import NO_WRITING, TASKS, QAGenerator
from fo1_ros.tasks import (
    Answer,
    CountTask,
    DetectTask,
    GroundingTask,
    LabelAllTask,
    ReasoningTask,
    RegionContext,
    VisualPromptTask,
)
from fo1_ros.tasks.ocr import NO_TEXT
from fo1_ros.tasks.words import NUMBER_WORDS, plural
from fo1_ros.train.data import build_regions

PER_TASK = 40  # questions drawn per task and scene
REGION = re.compile(r"<region(\d+)>")


class Truth:
    """A scene, its regions and the facts the checks need (all from the ground truth)."""

    def __init__(self, scene, seed: int):
        rng = np.random.default_rng(seed)
        self.scene, self.regions = scene, build_regions(scene, rng)
        self.gen = QAGenerator(scene, self.regions, rng)
        self.ctx = RegionContext(self.regions.boxes, self.regions.scores)
        self.objs = scene.objects
        self.named = sorted(self.regions.region_of)  # objects with a primary region

    def obj(self, region: int):
        i = int(self.regions.primary[region])
        assert i >= 0, f"<region{region}> is not the primary box of any object"
        return self.objs[i]

    def regions_where(self, pred) -> set[int]:
        return {self.regions.region_of[i] for i in self.named if pred(self.objs[i])}

    def cx(self, o) -> float:
        return (o.box_2d[0] + o.box_2d[2]) / 2


def _stated(phrase: str) -> dict:
    """The attributes a phrase states: colour, size, category (from singular or plural), text."""
    text = re.findall(r'"([^"]*)"', phrase)
    words = re.findall(r"[a-z]+", re.sub(r'"[^"]*"', "", phrase).lower())
    out = {"colour": [w for w in words if w in COLOURS], "size_class": [w for w in words if w in SIZE_CLASSES],
           "category": [c for c in CATEGORIES for w in words if w in (c, plural(c))], "text": text}
    return {k: v for k, v in out.items() if v}


def _has(o, attrs: dict) -> bool:
    """Whether object `o` has every stated attribute (each stated once)."""
    assert all(len(v) == 1 for v in attrs.values()), attrs
    return all(getattr(o, k) == v[0] for k, v in attrs.items())


def _draw(truth: Truth, task: str) -> list:
    qas = [truth.gen.make(task) for _ in range(PER_TASK)]
    return [qa for qa in qas if qa is not None]


@pytest.fixture(scope="module")
def truths(three_scenes):
    return [Truth(scene, seed) for scene in three_scenes for seed in (0, 1)]


def _query(question: str) -> str:
    return question.split("Please detect ")[1].split(" in this image")[0]


def test_detection_answers_name_exactly_the_objects_with_every_stated_attribute(truths):
    n = 0
    for t in truths:
        for qa in _draw(t, "detect"):
            query = _query(qa.question)
            attrs = _stated(query)
            assert "category" in attrs or query.endswith(" object"), query
            dets = DetectTask([query]).parse([Answer(qa.answer)], t.ctx)
            assert set(dets.labels) <= {query}
            want = t.regions_where(lambda o, a=attrs: _has(o, a))
            assert set(dets.region_indices.tolist()) == want, (query, qa.answer)
            n += len(dets)
        for qa in _draw(t, "detect_multi"):
            cats = _query(qa.question).split(", ")
            dets = DetectTask(cats, joint=True).parse([Answer(qa.answer)], t.ctx)
            for q, c in enumerate(cats):
                got = set(dets.for_query(q).region_indices.tolist())
                assert got == t.regions_where(lambda o, c=c: o.category == c), (c, qa.answer)
    assert n >= 30  # enough positive answers to mean something


def _rec_candidates(t: Truth, expr: str) -> tuple[list, str]:
    """(named objects matching the subject's attributes, the relation clause or '')."""
    for rel in (" left of ", " right of ", " closest to the camera"):
        if rel in expr:
            subject, rest = expr.split(rel)
            return [t.objs[i] for i in t.named if _has(t.objs[i], _stated(subject))], rel.strip() + " " + rest
    words = expr.split()
    subject = " ".join(w for w in words if w not in ("leftmost", "rightmost", "largest", "smallest"))
    relation = next((w for w in words if w in ("leftmost", "rightmost", "largest", "smallest")), "")
    return [t.objs[i] for i in t.named if _has(t.objs[i], _stated(subject))], relation


def test_referring_expressions_pick_the_one_object_they_describe(truths):
    forms = set()
    for t in truths:
        for qa in _draw(t, "rec"):
            expr = _query(qa.question)
            dets = DetectTask([expr]).parse([Answer(qa.answer)], t.ctx)
            (r,) = dets.region_indices.tolist()
            o = t.obj(r)
            cands, relation = _rec_candidates(t, expr)
            assert o in cands, (expr, o.colour, o.category, o.size_class, o.text)
            forms.add(relation.split()[0] if relation else "attributes")
            if not relation:
                assert len(cands) == 1, expr  # the attributes alone single it out
            elif relation in ("leftmost", "rightmost"):
                xs = [t.cx(c) for c in cands]
                assert t.cx(o) == (min(xs) if relation == "leftmost" else max(xs)), expr
            elif relation.startswith("closest"):
                assert o.distance_m == min(c.distance_m for c in cands), expr
            elif relation in ("largest", "smallest"):
                ext = [float(np.max(c.size)) for c in cands]
                assert float(np.max(o.size)) == (max(ext) if relation == "largest" else min(ext)), expr
            else:  # left of / right of a unique reference object
                side, ref_phrase = relation.split(" of ")
                (ref,) = [t.objs[i] for i in t.named if _has(t.objs[i], _stated(ref_phrase))]
                assert (t.cx(o) < t.cx(ref)) if side == "left" else (t.cx(o) > t.cx(ref)), expr
    assert {"attributes", "leftmost", "largest"} <= forms, forms


BRIEF = re.compile(r'^a (small|medium|large) ([a-z]+) ([a-z]+)(?: with "([^"]*)" on it)?$')
DETAILED = re.compile(r'^A (small|medium|large) ([a-z]+) ([a-z]+) on the (left|middle|right) side of the table, '
                      r'about (\d+\.\d) m from the camera\.(?: The letters "([^"]*)" are printed on it\.| It has no '
                      r'writing on it\.)$')


def test_captions_state_the_size_colour_shape_text_side_and_distance_of_their_region(truths):
    for t in truths:
        for qa in _draw(t, "caption_brief") + _draw(t, "caption_detailed"):
            (r,) = [int(i) for i in REGION.findall(qa.question)]
            o = t.obj(r)
            m = (BRIEF if qa.task == "caption_brief" else DETAILED).match(qa.answer)
            assert m, qa.answer
            assert m.group(1, 2, 3) == (o.size_class, o.colour, o.category), (qa.answer, o)
            text = m.group(4) if qa.task == "caption_brief" else m.group(6)
            assert (text or "") == o.text, qa.answer
            if qa.task == "caption_detailed":
                third = ("left", "middle", "right")[min(2, int(3 * t.cx(o) / t.scene.width))]
                assert m.group(4) == third and abs(float(m.group(5)) - o.distance_m) <= 0.05 + 1e-9, qa.answer


def test_ocr_answers_are_the_printed_text_or_no_text(truths):
    seen = set()
    for t in truths:
        for qa in _draw(t, "ocr"):
            (r,) = [int(i) for i in REGION.findall(qa.question)]
            o = t.obj(r)
            assert qa.answer == (o.text or NO_TEXT)
            seen.add(bool(o.text))
    assert seen == {True, False}


def _vqa_truth(question: str, o) -> str:
    """The answer the ground truth gives to a generated VQA question about object `o`."""
    q = question.split(": ", 1)[-1]
    if re.match(r"What colou?r is", q):
        return o.colour
    if q.startswith("What shape"):
        return o.category
    if q.startswith("What size"):
        return o.size_class
    if q.startswith("What is written"):
        return o.text or NO_WRITING
    if q.startswith("Is there any text"):
        return "Yes" if o.text else "No"
    said = _stated(q)
    assert q.startswith("Is ") and len(said) == 1, q
    ((kind, (value,)),) = said.items()
    return "Yes" if getattr(o, kind) == value else "No"


def test_vqa_answers_match_the_ground_truth_of_the_region_asked_about(truths):
    kinds = set()
    for t in truths:
        for qa in _draw(t, "vqa"):
            (r,) = [int(i) for i in REGION.findall(qa.question)]
            assert qa.answer == _vqa_truth(qa.question, t.obj(r)), qa.question
            kinds.add(re.sub(r"<region\d+>|\bit\b", "", qa.question.split(": ", 1)[-1]).split()[1])
    assert len(kinds) >= 6, kinds  # colour, shape, size, written, yes/no about shape, colour, text


def test_counts_are_the_number_of_named_objects_with_every_stated_attribute(truths):
    nonzero = 0
    for t in truths:
        for qa in _draw(t, "count"):
            noun = qa.question.split("How many ")[1].split(" are there")[0]
            attrs = _stated(noun)
            want = t.regions_where(lambda o, a=attrs: _has(o, a))
            res = CountTask([noun]).parse([Answer(qa.answer)], t.ctx)[0]
            assert res.consistent and res.count == len(want), qa.answer
            assert set(res.region_indices.tolist()) == want, (noun, qa.answer)
            nonzero += res.count > 0
    assert nonzero >= 20


def test_visual_prompts_name_every_other_object_of_the_reference_category(truths):
    for t in truths:
        for qa in _draw(t, "visual_prompt"):
            (r,) = [int(i) for i in REGION.findall(qa.question)]
            o = t.obj(r)
            dets = VisualPromptTask([r]).parse([Answer(qa.answer)], t.ctx)
            want = t.regions_where(lambda x, c=o.category: x.category == c) - {r}
            assert set(dets.region_indices.tolist()) == want
            assert set(dets.labels) <= {o.category}


def _group_truth(t: Truth, phrase: str) -> set[int]:
    """Regions of every named object with the colour and shape a phrase states."""
    a = _stated(phrase)
    return t.regions_where(lambda o: o.colour == a["colour"][0] and o.category == a["category"][0])


def test_grounded_descriptions_and_label_all_group_objects_by_their_true_colour_and_shape(truths):
    for t in truths:
        names = {f"{t.objs[i].colour} {t.objs[i].category}" for i in t.named}
        qa = t.gen.grounding()
        res = GroundingTask().parse([Answer(qa.answer)], t.ctx)
        assert len(res.phrases) == min(6, len(names)) and not res.warnings
        for p in res.phrases:
            assert set(p.region_indices) == _group_truth(t, p.phrase), p.phrase
            number = p.phrase.split()[0]
            assert (number in ("a", "an") and len(p.region_indices) == 1) or \
                NUMBER_WORDS.index(number) == len(p.region_indices), p.phrase
        qa = t.gen.label_all()
        dets = LabelAllTask().parse([Answer(qa.answer)], t.ctx)
        assert set(dets.labels) == names
        for label in names:
            assert {int(r) for r, lab in zip(dets.region_indices, dets.labels) if lab == label} == \
                _group_truth(t, label), label


def test_reasoning_answers_and_their_thinking_agree_with_ground_truth(truths):
    kinds = set()
    for t in truths:
        for qa in _draw(t, "reasoning"):
            res = ReasoningTask(qa.question.split("better. ", 1)[1]).parse([Answer(qa.answer)], t.ctx)
            assert not res.warnings, res.warnings
            think = qa.answer.split("<think>")[1].split("</think>")[0]
            # every "<regionK> is ..." clause of the thinking describes object K truly
            clauses = re.findall(r"<region(\d+)> is ([a-z ]+?)(?: about (\d+\.\d) m away)?(?= and |\.)", think)
            assert clauses or res.question.startswith("What is written"), think
            for k, said, distance in clauses:
                o = t.obj(int(k))
                assert _has(o, _stated(said)), (said, o.colour, o.category, o.size_class)
                assert not distance or abs(float(distance) - o.distance_m) <= 0.05 + 1e-9, (distance, o.distance_m)
            question = res.question
            asked = [t.obj(int(k)) for k in REGION.findall(question)]
            if question.startswith("Which is larger"):
                big = int(np.argmax([float(np.max(o.size)) for o in asked]))
                assert res.answer_regions == [int(REGION.findall(question)[big])]
            elif question.startswith("Which is closer"):
                near = int(np.argmin([o.distance_m for o in asked]))
                assert res.answer_regions == [int(REGION.findall(question)[near])]
            elif question.startswith("Are"):
                assert res.answer == ("Yes" if asked[0].colour == asked[1].colour else "No")
            else:  # "What is written on the <colour> <shape>?": the one such object, its region and its text
                (o,) = [t.objs[i] for i in t.named if _has(t.objs[i], _stated(question.split(" on the ")[1]))]
                m = re.fullmatch(r'The ([a-z ]+) is <region(\d+)>\. It has "([^"]*)" printed on it\.', think)
                assert m and _has(o, _stated(m.group(1))) and t.obj(int(m.group(2))) is o and m.group(3) == o.text
                assert res.answer == o.text
            kinds.add(" ".join(question.split()[:3]) if not question.startswith("Are") else "Are")
    assert len(kinds) == 4, kinds


def test_generator_is_deterministic_and_covers_every_task(three_scenes):
    scene = three_scenes[0]

    def run(seed):
        rng = np.random.default_rng(seed)
        gen = QAGenerator(scene, build_regions(scene, rng), rng)
        return [(qa.task, qa.question, qa.answer) for qa in gen.sample({t: 1.0 for t in TASKS}, 40, max_tries=200)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert {t for t, _, _ in run(5)} == set(TASKS)
