"""Questions and answers from a scene's ground truth (fo1_ros.synth.questions)."""

from __future__ import annotations

import numpy as np

from fo1_ros.synth.questions import TASKS, QAGenerator
from fo1_ros.tasks import Answer, CountTask, DetectTask, RegionContext
from fo1_ros.train.data import build_regions


def test_generated_answers_agree_with_ground_truth(three_scenes):
    for scene in three_scenes:
        rng = np.random.default_rng(0)
        regions = build_regions(scene, rng)
        gen = QAGenerator(scene, regions, rng)
        ctx = RegionContext(regions.boxes, regions.scores)
        for _ in range(10):
            qa = gen.detect()
            query = qa.question.split("Please detect ")[1].split(" in this image")[0]
            dets = DetectTask([query]).parse([Answer(qa.answer)], ctx)
            named = {int(i) for i in dets.region_indices}
            assert all(regions.primary[i] >= 0 for i in named)  # only primary boxes are named
            words = query.split()
            for i in named:
                o = scene.objects[regions.primary[i]]
                assert o.colour in words or o.size_class in words or o.category.rstrip("s") in query
            qa = gen.count()
            noun = qa.question.split("How many ")[1].split(" are there")[0]
            res = CountTask([noun]).parse([Answer(qa.answer)], ctx)[0]
            assert res.consistent and res.count == len(res.region_indices)


def test_generator_is_deterministic_and_covers_every_task(three_scenes):
    scene = three_scenes[0]

    def run(seed):
        rng = np.random.default_rng(seed)
        gen = QAGenerator(scene, build_regions(scene, rng), rng)
        return [(qa.task, qa.question, qa.answer) for qa in gen.sample({t: 1.0 for t in TASKS}, 40, max_tries=200)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert {t for t, _, _ in run(5)} >= set(TASKS) - {"reasoning"}
