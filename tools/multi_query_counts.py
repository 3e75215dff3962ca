"""Counts from one multi-category detection question, as the ROS node makes them.

The node asks one DetectTask for all its queries and counts the regions labelled with each
(count_mode 'detections'). This runs that on held-out scenes (seeds 1 000 600+, beyond the 500 of
`fo1-ros eval --scenes 500`), querying the first three categories present in each scene, and
prints for each model how often every count is within one of the truth and the mean absolute
count error.

    python tools/multi_query_counts.py [--scenes 40] MODEL_DIR [MODEL_DIR ...]
"""

from __future__ import annotations

import argparse

from fo1_ros.engine import Engine, EngineConfig, Frame
from fo1_ros.eval import EVAL_SEED_BASE
from fo1_ros.proposals import make_proposal_source
from fo1_ros.synth import make_scene
from fo1_ros.tasks import DetectTask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model folders ('' = the shipped default)")
    ap.add_argument("--scenes", type=int, default=40)
    args = ap.parse_args()
    scenes = [make_scene(EVAL_SEED_BASE + 600 + k) for k in range(args.scenes)]
    for model in args.models:
        engine = Engine(EngineConfig(model_path=model, device="cpu", dtype="float32"),
                        proposal_source=make_proposal_source("rgbd"))
        within = err = n = 0
        for s in scenes:
            cats = sorted({o.category for o in s.objects})[:3]
            state = engine.encode(Frame(s.rgb, s.depth_m, s.K, stamp_ns=s.stamp_ns))
            det = engine.run(state, [DetectTask(cats)]).results[0]
            best: dict[int, tuple[str, float]] = {}  # region -> its best label, as the node labels regions
            for label, i, score in zip(det.labels, det.region_indices, det.scores):
                if i not in best or score > best[i][1]:
                    best[i] = (label, score)
            got = {c: sum(label == c for label, _ in best.values()) for c in cats}
            truth = {c: sum(o.category == c for o in s.objects) for c in cats}
            within += all(abs(got[c] - truth[c]) <= 1 for c in cats)
            err += sum(abs(got[c] - truth[c]) for c in cats)
            n += len(cats)
        print(f"{model or 'shipped default'}: every count within one on {within}/{args.scenes} scenes, "
              f"mean |count - truth| {err / max(n, 1):.2f} over {n} (scene, query) pairs")


if __name__ == "__main__":
    main()
