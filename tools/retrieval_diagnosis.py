"""Where retrieval and reasoning fail (issue 4): per-question detection and per-kind reasoning.

On held-out scenes with the ground-truth boxes as regions (in the scene's object order, not by
score):
- detection: one question per category present; regions named vs the right ones (precision,
  recall, regions named per question) and how often each region index is named — a model that
  guesses by position names low indices;
- reasoning: accuracy per question kind (larger / closer: two-way choices between the two cited
  regions; same colour: yes/no; text on a described object) with the evaluation's scoring, and
  how often the think part cites exactly the question's two regions first.

    python tools/retrieval_diagnosis.py --scenes 25 [--model DIR]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from fo1_ros.engine import Engine, EngineConfig, Frame
from fo1_ros.eval import EVAL_SEED_BASE
from fo1_ros.eval.metrics import normalise_answer
from fo1_ros.synth import make_scene
from fo1_ros.synth.questions import QAGenerator
from fo1_ros.synth.regions import link_regions
from fo1_ros.tasks import DetectTask, ReasoningTask
from fo1_ros.tasks.common import REGION_RE, strip_tags


def _kind(question: str) -> str:
    for word, kind in (("larger", "larger"), ("closer", "closer"), ("colour", "same colour")):
        if word in question:
            return kind
    return "text"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="model folder ('' = the shipped default)")
    ap.add_argument("--scenes", type=int, default=25)
    args = ap.parse_args()
    engine = Engine(EngineConfig(model_path=args.model, device="cpu", dtype="float32"))
    tp = fp = fn = n_q = 0
    named_idx: Counter = Counter()
    reason: dict[str, list[bool]] = {}
    copies: list[bool] = []
    for k in range(args.scenes):
        scene = make_scene(EVAL_SEED_BASE + k)
        gt = np.array([o.box_2d for o in scene.objects], dtype=np.float64)
        state = engine.encode(Frame(scene.rgb, scene.depth_m, scene.K, stamp_ns=scene.stamp_ns), boxes=gt)
        present = sorted({o.category for o in scene.objects})
        gen = QAGenerator(scene, link_regions(state.proposals.boxes, state.proposals.scores, scene),
                          np.random.default_rng(k))
        qas = [qa for qa in (gen.reasoning() for _ in range(6)) if qa]
        questions = [qa.question.split("answer the question better. ")[-1] for qa in qas]
        res = engine.run(state, [DetectTask([c]) for c in present] + [ReasoningTask(q) for q in questions]).results
        for c, r in zip(present, res[:len(present)]):
            true = {i for i, o in enumerate(scene.objects) if o.category == c}
            got = {int(np.argmin(np.abs(gt - np.asarray(b)).sum(1))) for b in r.boxes}  # region = GT box index
            named_idx.update(got)
            tp, fp, fn, n_q = tp + len(got & true), fp + len(got - true), fn + len(true - got), n_q + 1
        for qa, q, r in zip(qas, questions, res[len(present):]):
            want = qa.answer.split("<answer>")[1].split("</answer>")[0]
            tags = [int(t) for t in REGION_RE.findall(want)]
            if tags:
                ok = tags == r.answer_regions
            else:
                ok = normalise_answer(strip_tags(r.answer)) == normalise_answer(want)
            reason.setdefault(_kind(q), []).append(bool(ok))
            if _kind(q) != "text":
                copies.append(r.cited_regions[:2] == [int(t) for t in REGION_RE.findall(q)])
    print(f"{args.scenes} held-out scenes, ground-truth boxes, model {args.model or 'shipped default'}")
    print(f"detection: {n_q} questions, {(tp + fp) / max(n_q, 1):.2f} regions named per question where "
          f"{(tp + fn) / max(n_q, 1):.2f} are right; precision {tp / max(tp + fp, 1):.3f}, "
          f"recall {tp / max(tp + fn, 1):.3f}")
    total = sum(named_idx.values())
    low = sum(v for i, v in named_idx.items() if i < 5)
    n_objects = [len(make_scene(EVAL_SEED_BASE + k).objects) for k in range(args.scenes)]
    print(f"  share of named regions with index < 5: {low / max(total, 1):.2f} "
          f"(share of all regions with index < 5: {np.mean([min(5, n) / n for n in n_objects]):.2f})")
    for kind, oks in sorted(reason.items()):
        print(f"reasoning {kind:12s} {np.mean(oks):.2f} ({len(oks)} questions)")
    print(f"reasoning: the think part cites the question's two regions first in {np.mean(copies):.2f} of "
          f"{len(copies)} two-region questions")


if __name__ == "__main__":
    main()
