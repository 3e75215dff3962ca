"""The evaluation behind `fo1-ros eval` (fo1_ros.cli.eval): measure a model on held-out
synthetic scenes, every capability, with the default proposals and with ground-truth boxes as
proposals (to separate the two error sources).

Held-out scenes use seeds EVAL_SEED_BASE + i (training uses seeds below 1 000 000, so the two
never overlap). Per scene the frame is encoded once and every question shares that prefix.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..config import Config
from ..engine import Engine, Frame
from ..synth import CATEGORIES, SceneConfig, make_scene
from ..synth.questions import QAGenerator
from ..synth.regions import link_regions
from ..tasks import CaptionTask, CountTask, DetectTask, OCRTask, ReasoningTask, VisualPromptTask, VQATask
from ..tasks.common import REGION_RE, strip_tags
from ..tasks.words import plural
from . import EVAL_SEED_BASE, PROPOSAL_MODES  # defined in the package: reading them loads no engine
from .metrics import SemanticSimilarity, bucket_3d, caption_attributes, coco_map, normalise_answer

logger = logging.getLogger(__name__)


@dataclass
class EvalConfig(Config):
    """One evaluation: how many held-out scenes, which proposals, how many questions of each kind."""

    n_scenes: int = 500
    proposals: str = "default"  # 'default' (the model's proposer) or 'gt' (ground-truth boxes)
    seed_base: int = EVAL_SEED_BASE
    scene: SceneConfig = field(default_factory=SceneConfig)
    max_captions: int = 4  # per scene
    rec_per_scene: int = 2
    vqa_per_scene: int = 2
    reasoning_per_scene: int = 1
    semantic_similarity: bool = True

    def __post_init__(self):
        self.nested_from_dicts()
        if self.proposals not in PROPOSAL_MODES:
            raise ValueError(f"EvalConfig.proposals must be one of {PROPOSAL_MODES}, got {self.proposals!r}")
        if self.n_scenes < 1:
            raise ValueError(f"EvalConfig.n_scenes must be >= 1, got {self.n_scenes}")


def _boxes_iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Evaluator:
    """Runs the question battery on scenes and accumulates raw outcomes."""

    def __init__(self, engine: Engine, cfg: EvalConfig):
        self.engine, self.cfg = engine, cfg
        self.gt, self.dets_prop, self.dets_comb = [], [], []
        self.rec, self.ocr, self.vqa, self.count_exact, self.count_err = [], [], [], [], []
        self.cap_attr, self.cap_pred, self.cap_ref, self.vp_f1, self.reason = [], [], [], [], []
        self.region_recall = []
        self.err3d_unoccluded, self.err3d_occluded = [], []
        self.timing = []

    def scene(self, k: int) -> None:
        cfg = self.cfg
        seed = cfg.seed_base + k
        scene = make_scene(seed, cfg.scene)
        rng = np.random.default_rng(seed)
        frame = Frame(scene.rgb, scene.depth_m, scene.K, stamp_ns=scene.stamp_ns)
        gt_boxes = np.array([o.box_2d for o in scene.objects], dtype=np.float64)
        t0 = time.perf_counter()
        if cfg.proposals == "gt":
            state = self.engine.encode(frame, boxes=gt_boxes)
        else:
            state = self.engine.encode(frame)
        boxes = state.proposals.boxes
        regions = link_regions(boxes, state.proposals.scores, scene)
        self.region_recall.append(len(regions.region_of) / max(1, len(scene.objects)))
        gen = QAGenerator(scene, regions, rng)

        tasks, kinds = [], []
        # detection: every category, one question each (absent ones included)
        tasks.append(DetectTask(list(CATEGORIES)))
        kinds.append(("detect", None))
        # counting: categories present + one absent
        present = sorted({o.category for o in scene.objects})
        absent = [c for c in CATEGORIES if c not in present]
        count_cats = present + absent[:1]
        tasks.append(CountTask([plural(c) for c in count_cats]))
        kinds.append(("count", count_cats))
        # REC
        recs = [qa for qa in (gen.rec() for _ in range(4 * cfg.rec_per_scene)) if qa][:cfg.rec_per_scene]
        seen = set()
        recs = [q for q in recs if not (q.question in seen or seen.add(q.question))]
        for qa in recs:
            expr = qa.question.split("Please detect ")[1].split(" in this image")[0]
            target_region = int(REGION_RE.findall(qa.answer)[0])
            tasks.append(DetectTask([expr]))
            kinds.append(("rec", gt_boxes[regions.primary[target_region]]))
        # captions + OCR on named objects
        named = sorted(regions.region_of)
        cap_objs = [named[i] for i in rng.permutation(len(named))[:cfg.max_captions]]
        if cap_objs:
            tasks.append(CaptionTask([regions.region_of[o] for o in cap_objs]))
            kinds.append(("caption", cap_objs))
        text_objs = [o for o in named if scene.objects[o].text]
        if text_objs:
            tasks.append(OCRTask([regions.region_of[o] for o in text_objs]))
            kinds.append(("ocr", text_objs))
        for _ in range(cfg.vqa_per_scene):
            qa = gen.vqa()
            if qa is None:
                continue
            idx = [int(i) for i in REGION_RE.findall(qa.question)]
            q = REGION_RE.sub("{region}", qa.question)
            tasks.append(VQATask(q, idx[:1]))
            kinds.append(("vqa", qa.answer))
        if named:
            o = named[int(rng.integers(len(named)))]
            others = {regions.region_of[j] for j in named if j != o and
                      scene.objects[j].category == scene.objects[o].category}
            tasks.append(VisualPromptTask([regions.region_of[o]]))
            kinds.append(("visual_prompt", others))
        for _ in range(cfg.reasoning_per_scene):
            qa = gen.reasoning()
            if qa is None:
                continue
            question = qa.question.split("answer the question better. ")[-1]
            tasks.append(ReasoningTask(question))
            kinds.append(("reasoning", qa.answer.split("<answer>")[1].split("</answer>")[0]))

        result = self.engine.run(state, tasks)
        self.timing.append(time.perf_counter() - t0)
        self._score(k, scene, state, regions, kinds, result.results)

    def _score(self, k, scene, state, regions, kinds, results) -> None:
        self._score_3d(scene, state, regions)
        for o in scene.objects:
            self.gt.append({"image_id": k, "category": o.category, "bbox": list(map(float, o.box_2d))})
        for (kind, info), res in zip(kinds, results):
            if kind == "detect":
                for label, box, ps, cs in zip(res.labels, res.boxes, res.proposal_scores, res.scores):
                    if label in CATEGORIES:
                        self.dets_prop.append({"image_id": k, "category": label, "bbox": list(box), "score": ps})
                        self.dets_comb.append({"image_id": k, "category": label, "bbox": list(box), "score": cs})
            elif kind == "count":
                for cat, r in zip(info, res):
                    true = sum(o.category == cat for o in scene.objects)
                    self.count_exact.append(r.best_count == true)
                    self.count_err.append(abs(r.best_count - true))
            elif kind == "rec":
                ok = len(res) > 0 and _boxes_iou(res.boxes[int(np.argmax(res.scores))], info) >= 0.5
                self.rec.append(ok)
            elif kind == "caption":
                for obj_i, r in zip(info, res):
                    o = scene.objects[obj_i]
                    attrs = caption_attributes(r.text)
                    self.cap_attr.append(attrs["colour"] == o.colour and attrs["category"] == o.category
                                         and attrs["size_class"] == o.size_class)
                    text = f' with "{o.text}" on it' if o.text else ""
                    self.cap_pred.append(r.text)
                    self.cap_ref.append(f"a {o.size_class} {o.colour} {o.category}{text}")
            elif kind == "ocr":
                for obj_i, r in zip(info, res):
                    self.ocr.append(normalise_answer(r.text).upper() == scene.objects[obj_i].text.upper())
            elif kind == "vqa":
                self.vqa.append(normalise_answer(res.text) == normalise_answer(info))
            elif kind == "visual_prompt":
                pred = {int(i) for i in res.region_indices}
                tp = len(pred & info)
                denom = len(pred) + len(info)
                self.vp_f1.append(1.0 if denom == 0 else 2 * tp / denom)
            elif kind == "reasoning":
                want = REGION_RE.findall(info)
                if want:
                    ok = ([int(w) for w in want] == res.answer_regions[:len(want)]
                          and len(res.answer_regions) == len(want))
                else:
                    ok = normalise_answer(strip_tags(res.answer)) == normalise_answer(info)
                self.reason.append(ok)

    def _score_3d(self, scene, state, regions) -> None:
        """3-D centre error of each object's region as the engine lifted it (camera optical frame):
        unoccluded (>= 95 % visible) within 1.5 m, and occluded (< 80 % visible) objects."""
        if state.objects_3d is None:
            return
        for obj_i, r in regions.region_of.items():
            o, lifted = scene.objects[obj_i], state.objects_3d[r]
            if not lifted.has_3d:
                continue
            err = float(np.linalg.norm(lifted.center - o.center_cam))
            bucket = bucket_3d(o.visible_fraction, o.distance_m)
            if bucket == "unoccluded":
                self.err3d_unoccluded.append(err)
            elif bucket == "occluded":
                self.err3d_occluded.append(err)

    def summary(self) -> dict:
        def mean(x):
            return float(np.mean(x)) if len(x) else float("nan")

        def median(x):
            return float(np.median(x)) if len(x) else float("nan")

        out = {"scenes": self.cfg.n_scenes, "proposals": self.cfg.proposals,
               "object_recall@0.5": mean(self.region_recall)}
        comb = coco_map(self.gt, self.dets_comb, list(CATEGORIES))
        prop = coco_map(self.gt, self.dets_prop, list(CATEGORIES))
        out.update({"det_mAP": comb["mAP"], "det_AP50": comb["AP50"],
                    "det_mAP_proposal_score": prop["mAP"], "det_AP50_proposal_score": prop["AP50"],
                    "rec_acc": mean(self.rec), "caption_attr_acc": mean(self.cap_attr),
                    "ocr_exact": mean(self.ocr), "vqa_acc": mean(self.vqa), "count_exact": mean(self.count_exact),
                    "count_mae": mean(self.count_err), "visual_prompt_f1": mean(self.vp_f1),
                    "reasoning_acc": mean(self.reason), "seconds_per_scene": mean(self.timing),
                    "center3d_median_m_unoccluded": median(self.err3d_unoccluded),
                    "center3d_median_m_occluded": median(self.err3d_occluded),
                    "n": {"objects_3d_unoccluded": len(self.err3d_unoccluded),
                          "objects_3d_occluded": len(self.err3d_occluded), "rec": len(self.rec),
                          "captions": len(self.cap_attr), "ocr": len(self.ocr),
                          "vqa": len(self.vqa), "count": len(self.count_exact), "reasoning": len(self.reason)}})
        if self.cfg.semantic_similarity and self.cap_pred:
            out["caption_SS"] = float(SemanticSimilarity()(self.cap_pred, self.cap_ref).mean())
        return out


def evaluate(engine: Engine, cfg: EvalConfig, progress: bool = True) -> dict:
    ev = Evaluator(engine, cfg)
    t0 = time.time()
    for k in range(cfg.n_scenes):
        ev.scene(k)
        if progress and ((k + 1) % 10 == 0 or k + 1 == cfg.n_scenes):
            rate = (k + 1) / (time.time() - t0)
            sys.stderr.write(f"\r[{cfg.proposals} proposals] scene {k + 1}/{cfg.n_scenes} "
                             f"({rate:.2f} scenes/s, ETA {(cfg.n_scenes - k - 1) / rate:.0f} s)   ")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    return ev.summary()


ROWS = [("object_recall@0.5", "proposal recall of objects (IoU 0.5)"), ("det_mAP", "detection mAP@[.5:.95]"),
        ("det_AP50", "detection AP50"), ("det_mAP_proposal_score", "  mAP, proposal score only"),
        ("rec_acc", "REC accuracy (IoU 0.5)"), ("caption_attr_acc", "caption attributes (colour+shape+size)"),
        ("caption_SS", "caption semantic similarity"), ("ocr_exact", "OCR exact match"), ("vqa_acc", "VQA accuracy"),
        ("count_exact", "counting exact"), ("count_mae", "counting MAE"), ("visual_prompt_f1", "visual prompt F1"),
        ("reasoning_acc", "reasoning answer accuracy"),
        ("center3d_median_m_unoccluded", "3-D centre error, median m (unocc., <=1.5 m)"),
        ("center3d_median_m_occluded", "3-D centre error, median m (occluded)"),
        ("seconds_per_scene", "seconds per scene")]


def format_table(results: dict[str, dict]) -> str:
    modes = list(results)
    lines = [f"{'metric':42s}" + "".join(f"{m:>14s}" for m in modes)]
    for key, name in ROWS:
        vals = [results[m].get(key) for m in modes]
        lines.append(f"{name:42s}" + "".join(f"{v:14.3f}" if isinstance(v, float) else f"{'-':>14s}" for v in vals))
    return "\n".join(lines)

