"""A proposal source wrapping a `transformers` detector loaded from a local folder.

Closed-set detectors (`AutoModelForObjectDetection`: DETR, Conditional/Deformable/DAB-DETR,
RT-DETR(v2), D-FINE, YOLOS, Table Transformer...) and zero-shot detectors
(`AutoModelForZeroShotObjectDetection`: OWL-ViT, OWLv2, Grounding DINO, given text `queries`)
become class-agnostic proposal sources: one box per decoder query, scored by its best class.

- **Local only.** Everything loads with `local_files_only=True` from `folder` (a
  `save_pretrained` directory); nothing is ever downloaded. A missing folder, `config.json` or
  weights file raises `FileNotFoundError` naming the folder and what is missing.
- **Preprocessing.** The model's own processor (`AutoImageProcessor`, or `AutoProcessor` for
  zero-shot models, which also tokenises the queries). With transformers 5 and no torchvision
  (this project's setup) `AutoImageProcessor` falls back to the PIL backend, which works
  (checked in `test/proposals/test_hf_detector.py`). Where no processor loads (no
  `preprocessor_config.json`, or a processor that needs torchvision), closed-set models use a
  documented minimal preprocessing instead (`_minimal_inputs`): bilinear resize so the short
  side is `short_side` and the long side at most `long_side`, scale to [0, 1], normalise with
  `image_mean` / `image_std` (ImageNet by default), and an all-ones `pixel_mask`. Zero-shot
  models need their processor (the tokenizer) and raise `ValueError` without one.
- **Decoding** (class-agnostic, from `outputs.logits` (1, Q, C) and `outputs.pred_boxes`
  (1, Q, 4) normalised cx, cy, w, h): when C == num_labels + 1 (DETR, YOLOS: the last class is
  "no object") the score is the best softmax probability among real classes, otherwise the
  best sigmoid (focal-loss detectors, OWL, Grounding DINO, whose unused text positions are
  -inf). Boxes are relative to the image, except OWLv2, whose processor pads to a square:
  relative to the padded side. The best class's name is kept in `Proposals.labels`
  (`id2label`, or the query text for zero-shot models).
- The raw boxes go through the shared `postprocess` (score >= 0.3, NMS IoU 0.8, top 100 by
  default).

Dims: `H, W` image pixels, `Q` decoder queries, `C` classes (or text tokens).
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..config import Config
from .base import ProposalConfig, Proposals, postprocess

logger = logging.getLogger(__name__)

__all__ = ["HFDetectorConfig", "HFDetector"]

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class HFDetectorConfig(Config):
    """Parameters of `HFDetector`."""

    # --- Model ---
    folder: str = ""  # a save_pretrained directory: config.json + weights (+ processor files)
    queries: tuple[str, ...] = ()  # text queries, required by zero-shot detectors
    device: str = "cpu"  # 'cpu', 'cuda', 'cuda:1', ...
    dtype: str = "float32"  # 'float32', 'float16', 'bfloat16' (half precision needs CUDA)

    # --- Preprocessing ---
    use_processor: bool = True  # False: always the minimal preprocessing (closed-set only)
    short_side: int = 800  # minimal preprocessing: short side after resizing...
    long_side: int = 1333  # ...long side at most this (the DETR-family default)
    image_mean: tuple[float, float, float] = _IMAGENET_MEAN
    image_std: tuple[float, float, float] = _IMAGENET_STD

    # --- Output ---
    postprocess: ProposalConfig = field(default_factory=ProposalConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.folder, (str, os.PathLike)) or not str(self.folder):
            raise ValueError(f"HFDetectorConfig.folder must be a local model directory, got {self.folder!r}")
        self.folder = os.fspath(self.folder)
        if isinstance(self.queries, str):
            self.queries = (self.queries,)
        self.queries = tuple(self.queries)
        if not all(isinstance(q, str) and q.strip() for q in self.queries):
            raise ValueError(f"HFDetectorConfig.queries must be non-empty strings, got {self.queries!r}")
        if self.dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"HFDetectorConfig.dtype must be float32, float16 or bfloat16, got {self.dtype!r}")
        for name in ("short_side", "long_side"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 8:
                raise ValueError(f"HFDetectorConfig.{name} must be an int >= 8, got {v!r}")
        if self.long_side < self.short_side:
            raise ValueError(f"HFDetectorConfig.long_side ({self.long_side}) must be >= short_side "
                             f"({self.short_side})")
        self.image_mean = tuple(float(v) for v in self.image_mean)
        self.image_std = tuple(float(v) for v in self.image_std)
        if len(self.image_mean) != 3 or len(self.image_std) != 3 or min(self.image_std) <= 0:
            raise ValueError(f"HFDetectorConfig.image_mean/std must be 3 numbers (std > 0), got "
                             f"{self.image_mean!r} / {self.image_std!r}")
        self.nested_from_dicts()


def _check_folder(folder: str) -> None:
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"detector folder {folder!r} does not exist (models load from local folders only)")
    missing = []
    if not os.path.isfile(os.path.join(folder, "config.json")):
        missing.append("config.json")
    if not any(os.path.isfile(os.path.join(folder, f)) for f in _WEIGHT_FILES):
        missing.append(" or ".join(_WEIGHT_FILES))
    if missing:
        raise FileNotFoundError(f"detector folder {folder!r} lacks {', '.join(missing)}; "
                                "save the model there with save_pretrained (nothing is downloaded)")


class HFDetector:
    """`ProposalSource` 'hf': a transformers detector from a local folder (module docstring).

    Args:
        folder: the model directory (or pass `config`).
        queries: text queries for zero-shot detectors.
        device, config: see `HFDetectorConfig`; keyword overrides win over `config`.
    """

    name = "hf"

    def __init__(self, folder: str | os.PathLike | None = None, queries: tuple[str, ...] | list[str] | None = None,
                 device: str | None = None, config: HFDetectorConfig | dict | None = None, **overrides: Any):
        if isinstance(config, dict):
            config = HFDetectorConfig.from_dict(config)
        base = {name: getattr(config, name) for name in config.field_names()} if config is not None else {}
        for k, v in (("folder", folder), ("queries", queries), ("device", device)):
            if v is not None:
                base[k] = v
        base.update(overrides)
        self.config = HFDetectorConfig.from_dict(base)
        cfg = self.config
        _check_folder(cfg.folder)
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {cfg.device!r} requested but CUDA is not available")
        self.dtype = getattr(torch, cfg.dtype)
        if self.dtype != torch.float32 and self.device.type != "cuda":
            raise ValueError(f"dtype {cfg.dtype!r} needs a CUDA device, got {cfg.device!r}")

        # transformers is imported here, not at module import (it takes seconds)
        from transformers import (
            AutoConfig,
            AutoImageProcessor,
            AutoModelForObjectDetection,
            AutoModelForZeroShotObjectDetection,
            AutoProcessor,
        )
        from transformers.models.auto.modeling_auto import MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION_MAPPING_NAMES

        try:
            mcfg = AutoConfig.from_pretrained(cfg.folder, local_files_only=True)
        except OSError as e:
            raise FileNotFoundError(f"cannot read the model config in {cfg.folder!r}: {e}") from e
        except ValueError as e:  # e.g. a model type this transformers does not know
            raise ValueError(f"unusable model config in {cfg.folder!r}: {e}") from e
        self.model_type = mcfg.model_type
        self.zero_shot = self.model_type in MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION_MAPPING_NAMES
        if self.zero_shot and not cfg.queries:
            raise ValueError(f"{self.model_type!r} in {cfg.folder!r} is a zero-shot detector: give text queries")
        auto = AutoModelForZeroShotObjectDetection if self.zero_shot else AutoModelForObjectDetection
        try:
            self.model = auto.from_pretrained(cfg.folder, local_files_only=True, dtype=self.dtype)
        except OSError as e:
            raise FileNotFoundError(f"cannot load a {auto.__name__} from {cfg.folder!r}: {e}") from e
        except ValueError as e:  # not a detector (no AutoModelFor...ObjectDetection mapping)
            raise ValueError(f"{cfg.folder!r} holds no {auto.__name__} ({self.model_type!r}): {e}") from e
        self.model.to(self.device).eval()

        self.processor = None
        if cfg.use_processor:
            loader = AutoProcessor if self.zero_shot else AutoImageProcessor
            try:
                self.processor = loader.from_pretrained(cfg.folder, local_files_only=True)
            except (OSError, ValueError, ImportError, TypeError) as e:
                # ImportError: a torchvision-only processor; OSError: no processor files
                logger.warning("no processor loads from %s (%s: %s); using the minimal preprocessing",
                               cfg.folder, type(e).__name__, e)
        if self.zero_shot and self.processor is None:
            raise ValueError(f"zero-shot detector {self.model_type!r} needs its processor (tokenizer) in "
                             f"{cfg.folder!r}; none loads")
        self.preprocessing = "processor" if self.processor is not None else "minimal"
        self._accepted = self._accepted_inputs()
        id2label = getattr(mcfg, "id2label", None) or {}
        self.id2label = {int(k): str(v) for k, v in id2label.items()}
        self.num_labels = int(getattr(mcfg, "num_labels", len(self.id2label)) or 0)
        logger.info("HF detector %s (%s, %s preprocessing) from %s on %s", type(self.model).__name__,
                    "zero-shot" if self.zero_shot else "closed-set", self.preprocessing, cfg.folder, self.device)

    # ---- preprocessing -----------------------------------------------------------------------
    def _minimal_inputs(self, rgb: np.ndarray) -> dict[str, torch.Tensor]:
        """pixel_values (1, 3, h, w) float and pixel_mask (1, h, w) int64 from rgb (H, W, 3) uint8."""
        cfg = self.config
        H, W = rgb.shape[:2]
        s = cfg.short_side / min(H, W)
        if max(H, W) * s > cfg.long_side:
            s = cfg.long_side / max(H, W)
        h, w = max(1, round(H * s)), max(1, round(W * s))
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0  # (1, 3, H, W)
        x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
                                            antialias=True)  # (1, 3, h, w)
        mean = torch.tensor(cfg.image_mean).view(1, 3, 1, 1)
        std = torch.tensor(cfg.image_std).view(1, 3, 1, 1)
        return {"pixel_values": (x - mean) / std, "pixel_mask": torch.ones(1, h, w, dtype=torch.long)}

    def _inputs(self, rgb: np.ndarray) -> dict[str, Any]:
        if self.processor is None:
            inputs = self._minimal_inputs(rgb)
        elif self.zero_shot:
            text: Any = [list(self.config.queries)]
            if "grounding" in self.model_type:  # Grounding DINO reads one string of '.'-ended phrases
                text = " ".join(q.strip().rstrip(".") + "." for q in self.config.queries)
            inputs = dict(self.processor(text=text, images=rgb, return_tensors="pt"))
        else:
            inputs = dict(self.processor(images=rgb, return_tensors="pt"))
        accepted = self._accepted
        out = {}
        for k, v in inputs.items():
            if accepted is not None and k not in accepted:
                continue
            if isinstance(v, torch.Tensor):
                v = v.to(self.device, dtype=self.dtype) if v.is_floating_point() else v.to(self.device)
            out[k] = v
        return out

    def _accepted_inputs(self) -> set[str] | None:
        """Argument names of the model's forward (None: it takes **kwargs): processor outputs it
        does not take (e.g. a pixel_mask) are dropped."""
        params = inspect.signature(self.model.forward).parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return None
        return set(params)

    # ---- decoding ----------------------------------------------------------------------------
    def _query_names(self, input_ids: torch.Tensor | None) -> list[str]:
        """Name of each text position C for zero-shot models: OWL (one query per column) or
        Grounding DINO (tokens between '.' separators belong to one phrase)."""
        queries = list(self.config.queries)
        if "grounding" not in self.model_type or input_ids is None:
            return queries
        tok = getattr(self.processor, "tokenizer", None)
        ids = input_ids[0].tolist()
        dot = tok.convert_tokens_to_ids(".") if tok is not None else None
        names, k = [], 0
        for t in ids:
            names.append(queries[k] if k < len(queries) and t != dot else "")
            if t == dot:
                k += 1
        return names

    def _decode(self, outputs: Any, image_hw: tuple[int, int],
                input_ids: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Raw boxes (Q, 4) float64 xyxy image pixels, scores (Q,) in [0, 1], labels (Q,)."""
        logits = getattr(outputs, "logits", None)
        boxes = getattr(outputs, "pred_boxes", None)
        if logits is None or boxes is None:
            raise ValueError(f"{type(self.model).__name__} outputs have no logits/pred_boxes; "
                             "this detector family is not supported")
        logits = logits[0].float()  # (Q, C)
        boxes = boxes[0].float()  # (Q, 4) cx, cy, w, h in [0, 1]
        if not self.zero_shot and logits.shape[-1] == self.num_labels + 1:
            prob = logits.softmax(-1)[:, :-1]  # (Q, C - 1) without the "no object" class
        else:
            prob = logits.sigmoid()  # (Q, C)
        scores, best = prob.max(-1)  # (Q,), (Q,)
        H, W = image_hw
        sx, sy = (max(H, W), max(H, W)) if self.model_type == "owlv2" else (W, H)  # OWLv2 pads to a square
        cx, cy, w, h = boxes.unbind(-1)
        xyxy = torch.stack([(cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy], -1)
        if self.zero_shot:
            names = self._query_names(input_ids)
            labels = [names[i] if i < len(names) else "" for i in best.tolist()]
        else:
            labels = [self.id2label.get(i, str(i)) for i in best.tolist()]
        return (xyxy.cpu().double().numpy(), scores.nan_to_num(0.0).clamp(0, 1).cpu().double().numpy(), labels)

    # ---- the source --------------------------------------------------------------------------
    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray, depth_m: np.ndarray | None = None, K: np.ndarray | None = None) -> Proposals:
        """Proposals for one frame (depth and K are not used).

        Args:
            rgb: (H, W, 3) uint8.
        Returns:
            `Proposals`: boxes (N, 4) float64 xyxy in `rgb` pixels, scores (N,) in [0, 1] sorted
            descending, labels (N,) best class / query names; after `postprocess`.
        """
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
            raise ValueError(f"rgb must be an (H, W, 3) array, got {getattr(rgb, 'shape', type(rgb).__name__)}")
        if rgb.dtype != np.uint8:
            raise ValueError(f"rgb must be uint8, got dtype {rgb.dtype}")
        inputs = self._inputs(rgb)
        outputs = self.model(**inputs)
        boxes, scores, labels = self._decode(outputs, rgb.shape[:2], inputs.get("input_ids"))
        return postprocess(boxes, scores, rgb.shape[:2], self.config.postprocess, self.name, labels=labels)
