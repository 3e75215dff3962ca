"""Does the model answer about the region it is asked about? (region binding, issue 4)

On held-out scenes, up to 6 well-visible objects become the regions (ground-truth boxes), and
the colour, shape and size of every region are asked one question at a time, all against the
same frame. A model that does not tie `<regionK>` to the K-th object token answers every
region alike: its accuracy falls towards the share of the most common answer. Also prints the
brief captions of the first scene's regions next to the truth.

    python tools/region_binding_check.py --scenes 20 [--model DIR]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import fo1_ros.tasks as T
from fo1_ros.engine import Engine, EngineConfig, Frame
from fo1_ros.eval import EVAL_SEED_BASE
from fo1_ros.synth import make_scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="model folder ('' = the shipped default)")
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--max-regions", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    engine = Engine(EngineConfig(model_path=args.model, device="cpu"))
    hits: dict[str, list[bool]] = {"colour": [], "shape": [], "size": []}
    distinct, first = [], None
    for k in range(args.scenes):
        scene = make_scene(EVAL_SEED_BASE + k)
        objs = [o for o in scene.objects if o.visible_fraction > 0.5][:args.max_regions]
        if len(objs) < 2:
            continue
        state = engine.encode(Frame(scene.rgb), boxes=np.array([o.box_2d for o in objs]))
        n = len(objs)
        tasks = ([T.VQATask("What colour is {region}?", [i]) for i in range(n)]
                 + [T.VQATask("What shape is {region}?", [i]) for i in range(n)]
                 + [T.VQATask("What size is {region}?", [i]) for i in range(n)] + [T.CaptionTask()])
        res = engine.run(state, tasks).results
        for i, o in enumerate(objs):
            hits["colour"].append(res[i].text.strip().lower() == o.colour)
            hits["shape"].append(res[n + i].text.strip().lower() == o.category)
            hits["size"].append(res[2 * n + i].text.strip().lower() == o.size_class)
        captions = [c.text for c in res[-1]]
        distinct.append(len(set(captions)) / n)
        if first is None:
            first = list(zip(captions, [f"{o.size_class} {o.colour} {o.category}" for o in objs]))
    print(f"{len(distinct)} scenes, {len(hits['colour'])} regions (2-{args.max_regions} per frame, ground-truth boxes)")
    for name, v in hits.items():
        print(f"  {name:7s} accuracy {np.mean(v):.3f}")
    print(f"  distinct captions per frame / regions: {np.mean(distinct):.3f}")
    for cap, truth in first or []:
        print(f"  caption {cap!r:40s} truth: {truth}")


if __name__ == "__main__":
    main()
