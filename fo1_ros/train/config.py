"""Training configuration: `TrainConfig` (everything `fo1-ros train` uses; defaults produce the
shipped model), `StageConfig` (one language stage: length, learning rate, task mix, auxiliary
losses) and the stages' task weights.

The numbers in the comments are the measurements that chose the defaults (held-out synthetic
scenes; `fo1-ros eval`); docs/training.md tells the whole recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..config import Config
from ..model.config import FO1Config
from ..synth import SceneConfig
from ..synth.questions import TASKS
from .data import RegionSampling
from .vision_pretrain import VisionPretrainConfig

# seeds of the frames stage 0 reports held-out accuracy on: above any training seed (0..n_frames-1)
# and below the evaluation seeds (fo1_ros.eval.EVAL_SEED_BASE = 1 000 000)
VALIDATION_SEED_BASE = 900_000

STAGE1_WEIGHTS = {"caption_brief": 3.0, "vqa": 4.0, "ocr": 1.0, "caption_detailed": 0.5}
STAGE2_WEIGHTS = {"detect": 3.0, "detect_multi": 1.0, "rec": 2.5, "caption_brief": 1.0, "caption_detailed": 0.5,
                  "ocr": 1.5, "vqa": 1.5, "count": 2.0, "visual_prompt": 1.0, "grounding": 0.5, "label_all": 0.5,
                  "reasoning": 1.0}


@dataclass
class StageConfig(Config):
    """One training stage: how long, how fast, what mix of tasks."""

    steps: int
    lr: float
    task_weights: dict[str, float]
    warmup: int = 100
    # (fraction of the stage, max objects): until that fraction, frames show only that many
    # objects as regions (jittered GT boxes); afterwards full proposal lists.
    curriculum: list = field(default_factory=list)
    min_lr_fraction: float = 0.1
    vision_lr_scale: float = 1.0  # LR multiplier for the image encoders and the region encoder (0 = frozen)
    # set layer 0 / head 0 of the language model to attend to the previous token when the stage
    # starts (seed_previous_token_head): the induction circuit that binds <regionK> to its object token
    seed_previous_token_head: bool = False
    # keep that head's query/key fixed through the stage (re-applied after every step): left
    # trainable, it drifted off the previous token within a few hundred steps (measured: attention
    # from object tokens to their <regionK> fell from ~0.96 to ~0.01 on 3 of 4 tokens); its
    # value/output projections still train
    freeze_previous_token_head: bool = False
    # weight of the binding loss: at every <regionK> after the prefix, throwaway linear heads
    # (vision_pretrain.RegionHeads) on the last hidden state must name object K's colour, shape,
    # size and text. It supervises the induction circuit where it forms, not ~11 template tokens
    # later (the bare task of tools/binding_probe.py --gap 10, "seeded + aux" column: without
    # it no binding in 900 steps, with it in ~400). 0 = off. The heads are discarded with the run.
    binding_loss: float = 0.0
    # weight of the attention loss (attention_targets): layer 1 / head 2 at a cited <regionK>
    # must attend to object token K (the induction step), and layer 2 / head 2 at every position
    # from a question's only cited <regionK> to the end of the answer must attend to that
    # <regionK> (carrying it to where the answer is written). The circuit is supervised
    # directly; the weights and the architecture stay FO1's. Needs a model built with
    # HEAD_PROBS_ATTENTION (or eager). 0 = off.
    attention_loss: float = 0.0
    # weight of the pointer loss (attention_targets): layer 3 / head 2, where an answer is about to
    # name a <regionK>, must attend to the object tokens still to be named in that group — the
    # retrieval step of detection, REC and counting. Needs HEAD_PROBS_ATTENTION
    # (or eager). 0 = off.
    pointer_loss: float = 0.0

    def __post_init__(self):
        self.curriculum = [tuple(c) for c in self.curriculum]
        if self.steps < 0 or self.lr <= 0:
            raise ValueError(f"StageConfig needs steps >= 0 and lr > 0, got steps={self.steps} lr={self.lr}")
        unknown = sorted(set(self.task_weights) - set(TASKS))
        if unknown:
            raise ValueError(f"StageConfig.task_weights has unknown tasks {unknown}; known: {TASKS}")


@dataclass
class TrainConfig(Config):
    """Everything `fo1-ros train` uses; defaults produce the shipped model."""

    # Model
    model: FO1Config = field(default_factory=FO1Config)
    vocab_size: int = 1024
    # Data
    # training scenes (seeds first_seed..first_seed+n_frames-1). On 4000 the encoders memorised the
    # frames (probe shape 0.668 on them vs 0.582 held out); on 12 000 0.653 vs 0.621, and the model trained on those
    # encoders gained REC 0.368 -> 0.501, caption 0.504 -> 0.572, reasoning 0.420 -> 0.538
    # (500 held-out scenes; detection mAP 0.217 -> 0.211). The pool: ~12 min, ~11 GB on disk.
    n_frames: int = 12000
    # seed of the first training scene: a continuation (--continue-from) can train on scenes the
    # model has not seen (e.g. first_seed 12000 after a run on 0..11999)
    first_seed: int = 0
    scene: SceneConfig = field(default_factory=SceneConfig)
    use_proposer: bool = True  # train on the default proposer's boxes as well as jittered GT boxes
    qa_per_frame: int = 12
    regions: RegionSampling = field(default_factory=RegionSampling)
    # Optimisation
    batch_size: int = 8
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    # Stage 1 keeps the pretrained encoders frozen (as FO1's alignment stage does). The fresh
    # language model must learn the induction circuit that ties the question's <regionK> to the
    # K-th object token (a pretrained Qwen brings one). Grown by next-token loss alone it does not
    # form in the steps a CPU affords (tools/binding_probe.py; the shipped v3 model named the
    # same object for every region), so the circuit is built and supervised directly:
    #   - layer 0 / head 0 is set to attend to the previous token and kept so
    #     (seed/freeze_previous_token_head): each object token sees its <regionK>;
    #   - the attention loss teaches layer 1 / head 2 to look from a cited <regionK> at object
    #     token K and layer 2 / head 2 to carry that to the answer (learned in ~100 steps);
    #   - the binding loss asks the hidden state at a cited <regionK> for object K's attributes.
    # Measured on 20 held-out scenes with up to 6 ground-truth boxes (colour / shape / size of
    # each region asked separately): v3 recipe 0.30 / 0.22 / 0.45, this one after 500 stage-1
    # steps 0.97 / 0.49 / 0.75. Two, then up to four objects per frame, then full proposal lists.
    # Stage 0 length: the shipped encoders had 2000 steps, then 2000 more (`--refine-vision`, lr 1e-3,
    # on 12 000 frames); on 4000 frames the second 2000 steps took linear probes of the region
    # features on held-out scenes (tools/vision_probe.py) from colour 0.888 -> 0.931, shape
    # 0.519 -> 0.582, and detection mAP of the model trained on them 0.074 -> 0.217 (500 scenes).
    stage0: VisionPretrainConfig = field(default_factory=lambda: VisionPretrainConfig(steps=4000))
    stage1: StageConfig = field(default_factory=lambda: StageConfig(
        800, 1e-3, dict(STAGE1_WEIGHTS), warmup=50, curriculum=[(0.15, 2), (0.5, 4)], min_lr_fraction=0.3,
        vision_lr_scale=0.0, seed_previous_token_head=True, freeze_previous_token_head=True,
        binding_loss=0.5, attention_loss=0.5))
    # Stage 2: every task on full proposal lists; encoders still frozen (CPU time). The pointer
    # loss supervises retrieval (which object tokens an answer names). Measured half-way through
    # stage 2 (500 of 1000 steps, same stage 1, H200; `fo1-ros eval --scenes 100 --proposals
    # default`): detection mAP 0.019 -> 0.040, REC 0.197 -> 0.249, VQA 0.685 -> 0.730, counting
    # 0.366 -> 0.373, caption attributes 0.449 -> 0.416 (without -> with, weight 1.0).
    # Length: the shipped model had 1200 steps, then 400 more from that checkpoint (lr 3e-4, warm
    # restart), which took REC 0.432 -> 0.501, detection mAP 0.180 -> 0.211 (500 scenes, 12 000
    # frames: each frame is seen ~3x less often than on 4000); one 1600-step run is the default.
    # Stage 2 stays undertrained at that length: continuing it on unseen scenes (--continue-from,
    # first_seed) for 461 + 606 + 622 + 752 steps of 16 frames took detection mAP 0.211 -> 0.415 and
    # REC 0.501 -> 0.805 (the shipped model; docs/results.md); the last two, at lr 3e-4 and 2e-4,
    # gained more than one at 4e-4.
    stage2: StageConfig = field(default_factory=lambda: StageConfig(
        1600, 6e-4, dict(STAGE2_WEIGHTS), warmup=100, vision_lr_scale=0.0, freeze_previous_token_head=True,
        binding_loss=0.2, attention_loss=0.2, pointer_loss=1.0))
    # Bookkeeping
    seed: int = 0
    threads: int = 0  # 0 = torch default
    device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    pool_workers: int = 2  # processes rendering the frame pool
    data_workers: int = 0  # processes making batches ahead of the model (0 = inline; worth it on a GPU)
    checkpoint_every: int = 500
    log_every: int = 25

    def __post_init__(self):
        self.nested_from_dicts()
        if self.batch_size < 1 or self.qa_per_frame < 1 or self.n_frames < 1:
            raise ValueError("batch_size, qa_per_frame and n_frames must be >= 1")
        if self.first_seed < 0 or self.first_seed + self.n_frames > VALIDATION_SEED_BASE:
            raise ValueError(f"training seeds {self.first_seed}..{self.first_seed + self.n_frames - 1} (first_seed, "
                             f"n_frames) must lie in 0..{VALIDATION_SEED_BASE - 1}, below the held-out seeds")
        if self.pool_workers < 1 or self.data_workers < 0:
            raise ValueError(f"pool_workers must be >= 1 and data_workers >= 0, got {self.pool_workers}, "
                             f"{self.data_workers}")

    def training_seeds(self) -> list[int]:
        """Seeds of the training scenes (the frame pool), in order."""
        return list(range(self.first_seed, self.first_seed + self.n_frames))

    def torch_device(self) -> torch.device:
        """The device training runs on; raises ValueError for an unusable `device`."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(self.device)
        except RuntimeError as e:
            raise ValueError(f"TrainConfig.device {self.device!r} is not a torch device: {e}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"TrainConfig.device {self.device!r}: this torch ({torch.__version__}) "
                             "sees no CUDA device")
        if dev.type not in ("cpu", "cuda"):
            raise ValueError(f"TrainConfig.device {self.device!r}: only cpu and cuda are supported")
        return dev
