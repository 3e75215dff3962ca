"""The perception engine: one frame -> proposals -> encoders once -> every task -> typed results.

Per frame the engine preprocesses once, runs the proposal source, runs the ViT, the DaViT and
the region encoder once, and computes the shared prompt prefix (system turn + image tokens +
`<regionN>` + object token for each proposal) once. Every question of every task then continues
from a copy of that prefix's KV cache, in batches, with greedy decoding (`mode="shared"`).
`mode="naive"` keeps the reference's behaviour — each question is a full prompt, encoders
included, batch 1, no reuse — so every speed claim is a side-by-side ratio on the same frame
(benchmarks/) and the two modes can be checked to give the same answers.

The engine knows nothing about ROS: frames are numpy arrays, results are dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .geometry import CameraModel, LiftConfig, Object3D, SpatialResult, lift_boxes
from .geometry import query as spatial_query
from .model.checkpoint import load_model
from .model.config import FO1Config
from .model.modeling import FO1ForCausalLM, SplicedBatch
from .model.processing import FrameInputs, prepare_frame
from .model.prompt import PromptBuilder
from .model.tokenizer import load_tokenizer
from .proposals.base import GivenBoxes, ProposalConfig, Proposals, ProposalSource, postprocess
from .tasks.common import Answer, Question, RegionContext
from .tasks.detect import Detections, DetectTask

logger = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "assets" / "default_model"
MODES = ("shared", "naive")


@dataclass
class EngineConfig(Config):
    """Engine settings; defaults run the shipped model on the CPU."""

    # Model
    model_path: str = ""  # '' = the shipped default model
    device: str = "auto"  # 'auto' = cuda when available, else cpu
    dtype: str = "auto"  # 'auto' = bfloat16 on CUDA (float16 if bf16 unsupported), float32 on CPU
    attn_implementation: str = "sdpa"
    # Inference
    mode: str = "shared"  # 'shared' (prefix KV reuse, batched) or 'naive' (the reference's way)
    max_batch: int = 16  # questions decoded together in shared mode
    max_regions: int = 0  # 0 = the model's limit (100); proposals beyond are cut by score
    # Proposals (filtering shared by every source)
    proposals: ProposalConfig = field(default_factory=ProposalConfig)
    # 3-D: lift every region when the frame has depth and intrinsics
    lift_3d: bool = True
    lift: LiftConfig = field(default_factory=LiftConfig)

    def __post_init__(self):
        self.nested_from_dicts()
        if self.mode not in MODES:
            raise ValueError(f"EngineConfig.mode must be one of {MODES}, got {self.mode!r}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ValueError(f"EngineConfig.dtype must be auto/float32/bfloat16/float16, got {self.dtype!r}")
        if self.max_batch < 1:
            raise ValueError(f"EngineConfig.max_batch must be >= 1, got {self.max_batch}")
        if self.max_regions < 0:
            raise ValueError(f"EngineConfig.max_regions must be >= 0, got {self.max_regions}")

    def resolve_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dev = torch.device(self.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r} requested but CUDA is not available")
        return dev

    def resolve_dtype(self, device: torch.device) -> torch.dtype:
        if self.dtype != "auto":
            return getattr(torch, self.dtype)
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32


@dataclass
class Frame:
    """One camera frame. rgb: (H, W, 3) uint8; depth_m: (H', W') float32 metres, NaN invalid (or
    None); K: (3, 3) colour intrinsics (or None); stamp_ns and frame_id come from the header."""

    rgb: np.ndarray
    depth_m: np.ndarray | None = None
    K: np.ndarray | None = None
    depth_K: np.ndarray | None = None
    stamp_ns: int = 0
    frame_id: str = ""


@dataclass
class EncodedState:
    """A frame encoded once: reusable by any number of task calls (e.g. services on the latest frame)."""

    frame: Frame
    inputs: FrameInputs
    proposals: Proposals
    ctx: RegionContext
    encoded: object  # model.modeling.EncodedFrame
    prefix_ids: list[int]
    prefix_cache: object | None = None  # DynamicCache of the shared prefix (shared mode)
    prefix_next_pos: int = 0
    objects_3d: list[Object3D] | None = None  # one per region when depth + intrinsics were given
    reason_no_3d: str = ""  # why objects_3d is None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class FrameResult:
    """Results of `Engine.process`: one entry in `results` per task, in order; timings in seconds."""

    stamp_ns: int
    proposals: Proposals
    results: list
    timings: dict[str, float]
    n_questions: int = 0
    warnings: list[str] = field(default_factory=list)
    objects_3d: list[Object3D] | None = None  # per region (index i = region i), None without depth
    reason_no_3d: str = ""


class Engine:
    """Runs FO1 tasks on frames. Thread-safe: one model call at a time."""

    def __init__(self, config: EngineConfig | None = None, model: FO1ForCausalLM | None = None, tokenizer=None,
                 proposal_source: ProposalSource | None = None):
        self.config = config or EngineConfig()
        self.device = self.config.resolve_device()
        self.dtype = self.config.resolve_dtype(self.device)
        if model is None:
            folder = Path(self.config.model_path) if self.config.model_path else DEFAULT_MODEL_DIR
            if not (folder / "config.json").exists():
                raise FileNotFoundError(f"no model at {folder} (config.json missing); set model_path to a local "
                                        "VLM-FO1 folder (config.json, *.safetensors, tokenizer files)")
            model = load_model(folder, device=self.device, dtype=self.dtype,
                               attn_implementation=self.config.attn_implementation)
            tokenizer = tokenizer or load_tokenizer(folder)
        if tokenizer is None:
            raise ValueError("a tokenizer is required when a model object is passed")
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.model_config: FO1Config = model.config
        self.tokenizer = tokenizer
        self.prompts = PromptBuilder(tokenizer)
        self.stop_ids = sorted({self.prompts.im_end} | ({tokenizer.eos_token_id} if tokenizer.eos_token_id is not None
                                                          else set()))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self.proposal_source = proposal_source
        self.max_regions = min(self.config.max_regions or self.model_config.max_regions, self.model_config.max_regions)
        self._lock = threading.RLock()

    # ---- frame encoding -----------------------------------------------------------------------
    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def propose(self, frame: Frame, boxes: np.ndarray | None = None, box_scores: np.ndarray | None = None) -> Proposals:
        """Proposals for a frame: the caller's boxes (kept in their order) or the proposal source's."""
        cfg = self.config.proposals
        if boxes is not None:
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            props = GivenBoxes(boxes, box_scores)(frame.rgb)
            if len(props) < len(boxes):  # caller boxes are never dropped silently: indices would shift
                bad = sorted(set(range(len(boxes))) - set(props.index.tolist()))
                raise ValueError(f"boxes {bad[:10]} are unusable (non-finite, or under 1 px once clipped to the "
                                 f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]} image): {boxes[bad[:3]].tolist()}")
            if len(props) > self.max_regions:
                raise ValueError(f"{len(props)} boxes given but the model takes at most {self.max_regions}")
            return props
        if self.proposal_source is None:
            raise ValueError("no proposal source configured and no boxes given")
        raw = self.proposal_source(frame.rgb, frame.depth_m, frame.K)
        top_k = min(cfg.top_k, self.max_regions)
        return postprocess(raw.boxes, raw.scores, frame.rgb.shape[:2],
                           ProposalConfig(cfg.score_threshold, cfg.nms_iou, top_k, cfg.min_size),
                           raw.source or getattr(self.proposal_source, "name", ""))

    @torch.no_grad()
    def encode(self, frame: Frame, boxes: np.ndarray | None = None, box_scores: np.ndarray | None = None,
               proposals: Proposals | None = None) -> EncodedState:
        """Preprocess, propose, run both encoders + the region encoder, and prefill the shared prefix."""
        with self._lock:
            t = {}
            t0 = time.perf_counter()
            props = proposals if proposals is not None else self.propose(frame, boxes, box_scores)
            t["proposals"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            inputs = prepare_frame(frame.rgb, props.boxes, self.model_config)
            t["preprocess"] = time.perf_counter() - t0
            enc = None
            if self.config.mode == "shared":  # naive mode encodes per question, as the reference does
                t0 = time.perf_counter()
                enc = self._encode_inputs(inputs)
                self._sync()
                t["encode"] = time.perf_counter() - t0
            prefix = self.prompts.build("", len(props)).prefix
            state = EncodedState(frame, inputs, props, RegionContext(props.boxes, props.scores), enc, prefix,
                                 timings=t)
            t0 = time.perf_counter()
            state.objects_3d, state.reason_no_3d = self.lift(frame, props.boxes)
            t["geometry"] = time.perf_counter() - t0
            if self.config.mode == "shared":
                t0 = time.perf_counter()
                batch = self.model.splice([prefix], [enc], padding_side="left")
                cache = self.model.new_cache()
                self.model(batch.inputs_embeds, batch.position_ids, batch.attention_mask, cache=cache,
                           logits_to_keep=1)
                state.prefix_cache, state.prefix_next_pos = cache, int(batch.next_positions[0])
                self._sync()
                t["prefill_prefix"] = time.perf_counter() - t0
            return state

    def lift(self, frame: Frame, boxes: np.ndarray) -> tuple[list[Object3D] | None, str]:
        """3-D boxes of every region in the camera optical frame, or (None, reason)."""
        if not self.config.lift_3d:
            return None, "3-D lifting is disabled"
        if frame.depth_m is None:
            return None, "no depth image"
        if frame.K is None:
            return None, "no camera intrinsics (camera_info)"
        H, W = frame.rgb.shape[:2]
        cam = CameraModel.from_matrix(frame.K, W, H)
        dcam = None
        if frame.depth_K is not None:
            dh, dw = frame.depth_m.shape[:2]
            dcam = CameraModel.from_matrix(frame.depth_K, dw, dh)
        return lift_boxes(boxes, frame.depth_m, cam, encoding="32FC1", depth_camera=dcam, config=self.config.lift), ""

    def _encode_inputs(self, inputs: FrameInputs):
        dev = self.device
        return self.model.encode_frames(inputs.pixel_values.to(dev), inputs.grid_thw.to(dev),
                                        inputs.aux_pixel_values.to(dev, self.dtype), [inputs.boxes_aux.to(dev)])[0]

    # ---- tasks ------------------------------------------------------------------------------------
    @torch.no_grad()
    def run(self, state: EncodedState, tasks: Sequence) -> FrameResult:
        """Answer every task on an encoded frame (shared or naive, per config)."""
        with self._lock:
            timings = dict(state.timings)
            questions: list[Question] = []
            owners: list[tuple[int, int]] = []  # (task index, number of questions)
            for ti, task in enumerate(tasks):
                qs = task.questions(state.ctx)
                owners.append((ti, len(qs)))
                questions += qs
            t0 = time.perf_counter()
            answers, gen_t = (self._answer_shared(state, questions) if self.config.mode == "shared"
                              else self._answer_naive(state, questions))
            timings.update(gen_t)
            timings["generate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            results, k, warnings = [], 0, []
            for (_, n), task in zip(owners, tasks):
                results.append(task.parse(answers[k:k + n], state.ctx))
                k += n
            timings["parse"] = time.perf_counter() - t0
            return FrameResult(state.frame.stamp_ns, state.proposals, results, timings, len(questions), warnings,
                               state.objects_3d, state.reason_no_3d)

    def process(self, frame: Frame, tasks: Sequence, boxes: np.ndarray | None = None,
                box_scores: np.ndarray | None = None) -> FrameResult:
        """Encode `frame` (with the given boxes or the proposal source) and run `tasks` on it."""
        t0 = time.perf_counter()
        state = self.encode(frame, boxes, box_scores)
        result = self.run(state, tasks)
        result.timings["total"] = time.perf_counter() - t0
        return result

    def spatial(self, state: EncodedState, relation: str, subject: str = "", reference: str = "",
                radius_m: float = 0.0) -> tuple[SpatialResult, Detections | None]:
        """A spatial query over the frame's lifted regions; labels come from detecting `subject`
        and `reference` (phrases), 'region N' names a region directly, '' is the camera.

        Raises ValueError (from geometry's SpatialQueryError) with a readable reason.
        """
        if state.objects_3d is None:
            raise ValueError(f"spatial queries need 3-D: {state.reason_no_3d}")
        phrases = [p for p in {subject.strip(), reference.strip()} if p and not p.lower().startswith("region ")]
        labels = [o.label for o in state.objects_3d]
        dets = None
        if phrases:
            dets = self.run(state, [DetectTask(phrases)]).results[0]
            labels = [""] * len(state.objects_3d)
            for label, i in zip(dets.labels, dets.region_indices):
                labels[int(i)] = label if not labels[int(i)] else labels[int(i)]
        objects = [dataclasses.replace(o, label=lab) for o, lab in zip(state.objects_3d, labels)]
        return spatial_query(objects, relation, subject.strip(), reference.strip(), radius_m), dets

    def _answer_shared(self, state: EncodedState, questions: list[Question]) -> tuple[list[Answer], dict]:
        """Continue the cached prefix with every question, `max_batch` at a time."""
        answers: list[Answer | None] = [None] * len(questions)
        t = {"prefill": 0.0, "decode": 0.0}
        P = len(state.prefix_ids)
        embed = self.model.model.embed_tokens
        # similar budgets decode together; each row still stops at its own budget
        order = sorted(range(len(questions)), key=lambda i: questions[i].max_new_tokens)
        for start in range(0, len(order), self.config.max_batch):
            rows = order[start:start + self.config.max_batch]
            chunk = [questions[i] for i in rows]
            suffixes = [self.prompts.build(q.text, state.ctx.n).suffix for q in chunk]
            B, L = len(chunk), max(len(s) for s in suffixes)
            ids = torch.full((B, L), self.pad_id, dtype=torch.long, device=self.device)
            mask = torch.zeros(B, L, dtype=torch.long, device=self.device)
            pos = torch.zeros(3, B, L, dtype=torch.long, device=self.device)
            for b, s in enumerate(suffixes):
                ids[b, L - len(s):] = torch.tensor(s, device=self.device)
                mask[b, L - len(s):] = 1
                pos[:, b, L - len(s):] = state.prefix_next_pos + torch.arange(len(s), device=self.device)
            nxt = state.prefix_next_pos + torch.tensor([len(s) for s in suffixes], device=self.device)
            batch = SplicedBatch(embed(ids).to(self.dtype), pos, mask, ids, None, nxt)
            cache = copy.deepcopy(state.prefix_cache)
            if B > 1:
                cache.batch_repeat_interleave(B)
            past = torch.ones(B, state.prefix_cache.get_seq_length(), dtype=torch.long, device=self.device)
            assert past.shape[1] >= P - 1  # the image slot expands, so the cache is longer than the ids
            for i, a in zip(rows, self._generate(batch, [q.max_new_tokens for q in chunk], cache, past, t)):
                answers[i] = a
        return answers, t

    def _answer_naive(self, state: EncodedState, questions: list[Question]) -> tuple[list[Answer], dict]:
        """The reference's way: per question, encode the frame again and run the full prompt, batch 1."""
        answers: list[Answer] = []
        t = {"prefill": 0.0, "decode": 0.0, "encode_repeat": 0.0}
        for q in questions:
            t0 = time.perf_counter()
            enc = self._encode_inputs(state.inputs)
            self._sync()
            t["encode_repeat"] += time.perf_counter() - t0
            ids = self.prompts.build(q.text, state.ctx.n).ids
            batch = self.model.splice([ids], [enc], padding_side="left")
            answers += self._generate(batch, q.max_new_tokens, None, None, t)
        return answers, t

    def _generate(self, batch: SplicedBatch, max_new_tokens, cache, past_mask, t: dict) -> list[Answer]:
        out = self.model.generate(batch, max_new_tokens, self.stop_ids, self.pad_id, cache=cache, past_mask=past_mask)
        t["prefill"] += out.prefill_s
        t["decode"] += out.decode_s
        answers = []
        for b in range(out.sequences.shape[0]):
            n = int(out.lengths[b])
            ids = out.sequences[b, :n].tolist()
            probs = out.token_probs[b, :n].tolist()
            if out.stopped[b]:
                ids, probs = ids[:-1], probs[:-1]  # drop the stop token itself
            answers.append(self._answer(ids, probs, truncated=not bool(out.stopped[b])))
        return answers

    def _answer(self, ids: list[int], probs: list[float], truncated: bool) -> Answer:
        texts, prev = [], ""
        for k in range(len(ids)):
            cur = self.prompts.decode(ids[:k + 1])
            texts.append(cur[len(prev):])
            prev = cur
        return Answer(prev, texts, probs, truncated)
