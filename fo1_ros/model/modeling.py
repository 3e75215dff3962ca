"""VLM-FO1 on top of transformers' Qwen2.5-VL: encoders, object tokens, splicing, M-RoPE, generation.

Parameter names follow the official checkpoint (reference §4): the text decoder sits directly
under `model.` (`model.embed_tokens`, `model.layers.*`, `model.norm`), beside it
`model.vision_tower.image_tower.*` (Qwen2.5-VL ViT), `model.mm_projector.*`,
`model.vision_tower_aux.image_tower.*` (DaViT; six renames, see checkpoint.py),
`model.object_vp_extractor.*` (HFRE) and `model.mm_projector_aux.*`; then `lm_head`.

Sequence layout (reference §1d): prompt ids carry two placeholders, `IMAGE_SLOT` (-200) which
becomes all image tokens of the frame and `OBJECT_SLOT` (-300) which becomes one object token,
in order. Image tokens get 3-D M-RoPE positions (t, row, col of the merged patch grid); every
other token, object tokens included, a text position (all three components equal).

Dims: `B` sequences, `T` tokens, `D` LM width, `N` boxes, `V` vocabulary.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import transformers
from torch import nn
from transformers import DynamicCache
from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLTextConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLTextModel
from transformers.utils import logging as hf_logging

from .config import FO1Config
from .constants import IGNORE_INDEX, IMAGE_SLOT, OBJECT_SLOT
from .region import HFRE
from .vision import DavitAuxTower, QwenVisionTower, build_projector


def check_transformers_api(forward=Qwen2_5_VLTextModel.forward) -> None:
    """Raise ImportError unless the text model takes `cache=` (and returns `.cache`), as in
    transformers >= 5.24. Older releases call both `past_key_values`: the KV cache would be
    ignored silently and the forward pass fail later with an AttributeError."""
    if "cache" not in inspect.signature(forward).parameters:
        raise ImportError(f"fo1_ros needs transformers>=5.24,<6 (installed: {transformers.__version__}, whose "
                          "Qwen2.5-VL text model has no `cache` argument); pip install 'transformers>=5.24,<6'")


check_transformers_api()


def text_config_to_hf(cfg: FO1Config, attn_implementation: str) -> Qwen2_5_VLTextConfig:
    t = cfg.text
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "unrecognized key mrope_section": it is read by the M-RoPE module
    try:
        hf = _make_text_config(t)
    finally:
        hf_logging.set_verbosity(level)
    hf._attn_implementation = attn_implementation
    return hf


def _make_text_config(t) -> Qwen2_5_VLTextConfig:
    return Qwen2_5_VLTextConfig(
        vocab_size=t.vocab_size, hidden_size=t.hidden_size, intermediate_size=t.intermediate_size,
        num_hidden_layers=t.num_hidden_layers, num_attention_heads=t.num_attention_heads,
        num_key_value_heads=t.num_key_value_heads, hidden_act=t.hidden_act,
        max_position_embeddings=t.max_position_embeddings, rms_norm_eps=t.rms_norm_eps,
        attention_dropout=t.attention_dropout, use_sliding_window=False,
        rope_parameters={"rope_type": "default", "rope_theta": t.rope_theta, "mrope_section": list(t.mrope_section)},
        bos_token_id=t.bos_token_id, eos_token_id=t.eos_token_id, pad_token_id=t.pad_token_id,
        tie_word_embeddings=t.tie_word_embeddings,
    )


class FO1Model(Qwen2_5_VLTextModel):
    """`model.*`: the Qwen2.5 text decoder plus FO1's encoders and projectors as children."""

    def __init__(self, cfg: FO1Config, attn_implementation: str = "sdpa"):
        super().__init__(text_config_to_hf(cfg, attn_implementation))
        self.vision_tower = QwenVisionTower(cfg.vision, attn_implementation=attn_implementation)
        self.mm_projector = build_projector(cfg.mm_projector_type, cfg.mm_hidden_size, cfg.text.hidden_size)
        self.vision_tower_aux = DavitAuxTower(cfg.aux)
        self.object_vp_extractor = HFRE(cfg)
        self.mm_projector_aux = build_projector(cfg.mm_projector_aux_type, cfg.region_hidden_size,
                                                cfg.text.hidden_size)


@dataclass
class EncodedFrame:
    """Everything the language model needs from one image, computed once per frame.

    image_tokens: (N_img, D) projected merger output.
    object_tokens: (N, D) one projected region feature per box.
    grid_thw: (3,) int64 patch grid (1, gh, gw) of the primary image.
    region_features: (N, D_region) HFRE output before `mm_projector_aux` (kept for checks).
    """

    image_tokens: torch.Tensor
    object_tokens: torch.Tensor
    grid_thw: torch.Tensor
    region_features: torch.Tensor | None = None


@dataclass
class SplicedBatch:
    """Model-ready batch after placeholders were replaced by image and object tokens.

    inputs_embeds: (B, T, D); position_ids: (3, B, T) M-RoPE positions; attention_mask: (B, T)
    int64 (0 on padding); token_ids: (B, T) int64 with image tokens as `image_token_id` and object
    tokens as OBJECT_SLOT (as the reference); labels: (B, T) int64 or None; next_positions: (B,)
    the text position the next generated token takes.
    """

    inputs_embeds: torch.Tensor
    position_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_ids: torch.Tensor
    labels: torch.Tensor | None
    next_positions: torch.Tensor


@dataclass
class _SplicedSequence:
    """One sequence after splicing, before padding: embeds (T, D), positions (3, T) int64,
    token_ids (T,) int64, labels (T,) int64 or None, next_position (the reference's max + 1)."""

    embeds: torch.Tensor
    positions: torch.Tensor
    token_ids: torch.Tensor
    labels: torch.Tensor | None
    next_position: int


@dataclass
class FO1Output:
    """logits: (B, T_kept, V) or None; loss: scalar or None; cache: the KV cache after this call."""

    logits: torch.Tensor | None
    loss: torch.Tensor | None
    cache: DynamicCache | None
    last_hidden_state: torch.Tensor | None = None
    token_losses: torch.Tensor | None = None  # (n_targets,) per-target cross-entropy, row-major order


@dataclass
class GenerationOutput:
    """sequences: (B, n) new token ids (pad after a sequence ended); token_probs: (B, n) softmax
    probability of each chosen token (after any logits processor); lengths: (B,) tokens generated
    per sequence including the stop token; stopped: (B,) bool, True where a stop token was emitted."""

    sequences: torch.Tensor
    token_probs: torch.Tensor
    lengths: torch.Tensor
    stopped: torch.Tensor
    prefill_s: float = 0.0  # wall time of the first forward (the prompt or suffix prefill)
    decode_s: float = 0.0  # wall time of the remaining token-by-token steps


class FO1ForCausalLM(nn.Module):
    """VLM-FO1: Qwen2.5-VL + DaViT + HFRE object tokens. One class for every preset."""

    def __init__(self, cfg: FO1Config, attn_implementation: str = "sdpa"):
        super().__init__()
        self.config = cfg
        self.model = FO1Model(cfg, attn_implementation=attn_implementation)
        self.lm_head = nn.Linear(cfg.text.hidden_size, cfg.text.vocab_size, bias=False)
        if cfg.text.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    # ---- encoders -------------------------------------------------------------------------
    def encode_images(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor, return_levels: bool = True):
        """B images packed -> (list of (N_img_i, D) image tokens, per-image ViT levels or None)."""
        out = self.model.vision_tower(pixel_values, grid_thw, return_levels=return_levels)
        tokens = self.model.mm_projector(out.image_embeds.to(self.dtype))  # (sum N_img, D)
        m2 = self.config.vision.spatial_merge_size ** 2
        sizes = (grid_thw[:, 1] * grid_thw[:, 2] // m2).tolist()
        return list(torch.split(tokens, sizes, dim=0)), out.levels

    def encode_regions(self, aux_pixel_values: torch.Tensor, boxes_aux: list[torch.Tensor],
                       vt_levels: list[list[torch.Tensor]] | None, grid_thw: torch.Tensor,
                       return_features: bool = False):
        """Object tokens of B images.

        Args:
            aux_pixel_values: (B, 3, S, S) DaViT input.
            boxes_aux: B tensors (N_i, 4) float xyxy in auxiliary-image pixels (N_i may be 0).
            vt_levels: per image, ViT levels (1, C, gh, gw) from `encode_images`.
            grid_thw: (B, 3) primary patch grids (to map boxes into the primary image).
        Returns:
            list of B tensors (N_i, D) (and the (N_i, D_region) features if `return_features`).
        """
        cfg = self.config
        for i, boxes in enumerate(boxes_aux):
            if boxes.ndim != 2 or boxes.shape[-1] != 4:
                raise ValueError(f"boxes for image {i} must be (N, 4) xyxy, got {tuple(boxes.shape)}")
            if boxes.shape[0] > cfg.max_regions:
                raise ValueError(f"image {i} has {boxes.shape[0]} boxes but the model takes at most "
                                 f"max_regions={cfg.max_regions}; select or merge proposals first")
        need_aux = not cfg.mm_use_vt_region_feature_only and any(b.shape[0] for b in boxes_aux)
        aux_maps = self.model.vision_tower_aux(aux_pixel_values) if need_aux else None
        S_h, S_w = aux_pixel_values.shape[-2:]
        tokens, feats = [], []
        for i, boxes in enumerate(boxes_aux):
            if boxes.shape[0] == 0:
                width = cfg.text.hidden_size
                tokens.append(torch.zeros(0, width, device=self.device, dtype=self.dtype))
                feats.append(torch.zeros(0, cfg.region_hidden_size, device=self.device))
                continue
            boxes = boxes.to(device=self.device, dtype=torch.float32)
            vt_boxes, levels = None, None
            if cfg.mm_use_vision_tower_region_feature:
                if vt_levels is None:
                    raise ValueError("this config needs the ViT levels: call encode_images(return_levels=True)")
                levels = vt_levels[i]
                # The reference maps aux-image boxes to the primary resized image by the size ratio.
                ph = float(grid_thw[i, 1]) * cfg.vision.patch_size
                pw = float(grid_thw[i, 2]) * cfg.vision.patch_size
                scale = torch.tensor([pw / S_w, ph / S_h, pw / S_w, ph / S_h], device=boxes.device)
                vt_boxes = boxes * scale
            maps = [m[i:i + 1] for m in aux_maps] if aux_maps is not None else None
            f = self.model.object_vp_extractor(maps, boxes, levels, vt_boxes)  # (N_i, D_region) fp32
            feats.append(f)
            proj = self.model.mm_projector_aux
            tokens.append(proj(f.to(self.dtype)))  # (N_i, D)
        return (tokens, feats) if return_features else tokens

    def encode_frames(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor, aux_pixel_values: torch.Tensor,
                      boxes_aux: list[torch.Tensor]) -> list[EncodedFrame]:
        """Both encoders and the region encoder for B frames (one call, batched where possible)."""
        image_tokens, levels = self.encode_images(pixel_values, grid_thw,
                                                  return_levels=self.config.mm_use_vision_tower_region_feature)
        object_tokens, feats = self.encode_regions(aux_pixel_values, boxes_aux, levels, grid_thw,
                                                   return_features=True)
        return [EncodedFrame(image_tokens[i], object_tokens[i], grid_thw[i], feats[i])
                for i in range(len(image_tokens))]

    # ---- splicing and positions -------------------------------------------------------------
    def splice(self, input_ids: list[list[int]] | list[torch.Tensor], frames: list[EncodedFrame | None],
               labels: list[list[int]] | None = None, padding_side: str = "left") -> SplicedBatch:
        """Replace placeholders by image/object tokens and compute M-RoPE positions.

        Three named steps per batch: `_check_sequence` (the slots against the frame and the
        vocabulary), `_splice_sequence` (one sequence's embeddings, positions, ids, labels) and
        `_pad_batch` (left or right padding into (B, T) tensors).

        Args:
            input_ids: B unpadded id sequences with at most one IMAGE_SLOT and any number of
                OBJECT_SLOT entries (exactly as many as the frame's boxes).
            frames: the EncodedFrame each sequence refers to (None for text-only sequences).
            labels: optional B label sequences aligned with input_ids (IGNORE_INDEX where no loss).
            padding_side: 'left' for generation (last token aligned), 'right' for training.
        """
        if len(input_ids) != len(frames):
            raise ValueError(f"{len(input_ids)} sequences but {len(frames)} frames")
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        seqs = []
        for b, (ids, frame) in enumerate(zip(input_ids, frames)):
            ids = torch.as_tensor(ids, dtype=torch.long).reshape(-1)
            lab = torch.as_tensor(labels[b], dtype=torch.long).reshape(-1) if labels is not None else None
            self._check_sequence(b, ids, lab, frame)
            seqs.append(self._splice_sequence(ids, lab, frame))
        return self._pad_batch(seqs, padding_side, labels is not None)

    def _check_sequence(self, b: int, ids: torch.Tensor, lab: torch.Tensor | None, frame: EncodedFrame | None) -> None:
        """ValueError unless sequence `b`'s (T,) ids have at most one image slot, as many object
        slots as its frame has object tokens, slots only with a frame, and ids in the vocabulary."""
        vocab_size = self.config.text.vocab_size
        if lab is not None and lab.shape != ids.shape:
            raise ValueError(f"labels[{b}] has {lab.numel()} entries but input_ids[{b}] has {ids.numel()}")
        n_img = int((ids == IMAGE_SLOT).sum())
        n_obj = int((ids == OBJECT_SLOT).sum())
        if n_img > 1:
            raise ValueError(f"sequence {b} has {n_img} image slots; one image per sequence is supported")
        if (n_img or n_obj) and frame is None:
            raise ValueError(f"sequence {b} has image/object slots but no frame")
        if frame is not None and n_obj != frame.object_tokens.shape[0]:
            raise ValueError(f"sequence {b} has {n_obj} object slots but its frame has "
                             f"{frame.object_tokens.shape[0]} object tokens")
        if n_obj and not n_img:
            raise ValueError(f"sequence {b} has object slots but no image slot")
        bad = ((ids < 0) & (ids != IMAGE_SLOT) & (ids != OBJECT_SLOT)) | (ids >= vocab_size)
        if bool(bad.any()):
            raise ValueError(f"sequence {b} has ids outside the vocabulary [0, {vocab_size}): "
                             f"{ids[bad].tolist()[:10]}")

    def _splice_sequence(self, ids: torch.Tensor, lab: torch.Tensor | None, frame: EncodedFrame | None
                         ) -> _SplicedSequence:
        """One checked sequence: text runs embedded, the image slot replaced by the frame's image
        tokens (3-D positions t, row, col), each object slot by one object token (a text position)."""
        cfg = self.config
        embed = self.model.embed_tokens
        merge = cfg.vision.spatial_merge_size
        text_mask = ids >= 0
        text_emb = embed(ids.clamp(min=0).to(embed.weight.device))  # (T, D), placeholders fixed below
        pieces, pos_pieces, id_pieces, lab_pieces = [], [], [], []
        cur = 0  # next text position
        obj_i = 0
        start = 0
        special = torch.nonzero(~text_mask).flatten().tolist() + [ids.numel()]
        for s in special:
            if s > start:  # a run of text tokens
                n = s - start
                pieces.append(text_emb[start:s])
                pos_pieces.append(torch.arange(cur, cur + n).expand(3, n))
                id_pieces.append(ids[start:s])
                lab_pieces.append(lab[start:s] if lab is not None else None)
                cur += n
            if s == ids.numel():
                break
            if int(ids[s]) == IMAGE_SLOT:
                img = frame.image_tokens
                gh, gw = int(frame.grid_thw[1]) // merge, int(frame.grid_thw[2]) // merge
                if img.shape[0] != gh * gw:
                    raise ValueError(f"frame has {img.shape[0]} image tokens, grid implies {gh * gw}")
                rows = torch.arange(gh).repeat_interleave(gw)
                cols = torch.arange(gw).repeat(gh)
                pos_pieces.append(torch.stack((torch.zeros_like(rows), rows, cols)) + cur)
                pieces.append(img)
                id_pieces.append(torch.full((gh * gw,), cfg.image_token_id, dtype=torch.long))
                lab_pieces.append(torch.full((gh * gw,), IGNORE_INDEX, dtype=torch.long)
                                  if lab is not None else None)
                cur += max(gh, gw)
            else:  # one object token, a plain text position
                pieces.append(frame.object_tokens[obj_i:obj_i + 1])
                obj_i += 1
                pos_pieces.append(torch.full((3, 1), cur))
                id_pieces.append(torch.tensor([OBJECT_SLOT]))
                lab_pieces.append(torch.tensor([IGNORE_INDEX]) if lab is not None else None)
                cur += 1
            start = s + 1
        embeds = torch.cat([p.to(self.dtype) for p in pieces]) if pieces else text_emb[:0]
        pos = torch.cat(pos_pieces, dim=1) if pos_pieces else torch.zeros(3, 0, dtype=torch.long)
        out_labels = (torch.cat(lab_pieces) if lab_pieces else lab[:0]) if lab is not None else None
        # the reference: next position = max position + 1 (rope_deltas bookkeeping)
        next_pos = int(pos.max()) + 1 if pos.numel() else 0
        return _SplicedSequence(embeds, pos, torch.cat(id_pieces) if id_pieces else ids[:0], out_labels, next_pos)

    def _pad_batch(self, seqs: list[_SplicedSequence], padding_side: str, with_labels: bool) -> SplicedBatch:
        """Spliced sequences padded to the longest, on the left or the right, on the model's device."""
        cfg = self.config
        B = len(seqs)
        T = max(q.embeds.shape[0] for q in seqs)
        D = cfg.text.hidden_size
        dev = self.device
        inputs_embeds = torch.zeros(B, T, D, dtype=self.dtype, device=dev)
        position_ids = torch.zeros(3, B, T, dtype=torch.long, device=dev)
        attention_mask = torch.zeros(B, T, dtype=torch.long, device=dev)
        token_ids = torch.full((B, T), cfg.text.pad_token_id if cfg.text.pad_token_id is not None else 0,
                               dtype=torch.long, device=dev)
        out_labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long, device=dev) if with_labels else None
        for b, q in enumerate(seqs):
            n = q.embeds.shape[0]
            sl = slice(T - n, T) if padding_side == "left" else slice(0, n)
            inputs_embeds[b, sl] = q.embeds
            position_ids[:, b, sl] = q.positions.to(dev)
            attention_mask[b, sl] = 1
            token_ids[b, sl] = q.token_ids.to(dev)
            if out_labels is not None:
                out_labels[b, sl] = q.labels.to(dev)
        return SplicedBatch(inputs_embeds, position_ids, attention_mask, token_ids, out_labels,
                            torch.tensor([q.next_position for q in seqs], dtype=torch.long, device=dev))

    # ---- language model ---------------------------------------------------------------------
    def forward(self, inputs_embeds: torch.Tensor, position_ids: torch.Tensor, attention_mask: torch.Tensor,
                cache: DynamicCache | None = None, labels: torch.Tensor | None = None,
                logits_to_keep: int = 0, use_cache: bool = False) -> FO1Output:
        """Run the decoder on spliced embeddings.

        Args:
            inputs_embeds: (B, T, D); position_ids: (3, B, T); attention_mask: (B, T_past + T).
            cache: KV cache to extend (None: no past).
            labels: (B, T) next-token targets aligned with the inputs (shifted inside);
                the loss is the mean cross-entropy over entries != IGNORE_INDEX.
            logits_to_keep: 0 = logits for all positions, k = only the last k (cheap decoding).
                With labels, logits are computed only where a label exists and not returned.
        """
        out = self.model(inputs_embeds=inputs_embeds, position_ids=position_ids, attention_mask=attention_mask,
                         cache=cache, use_cache=use_cache or cache is not None)
        hidden = out.last_hidden_state  # (B, T, D)
        if labels is not None:
            targets = labels[:, 1:]
            keep = targets != IGNORE_INDEX  # (B, T-1)
            h = hidden[:, :-1][keep]  # (n_targets, D)
            logits = self.lm_head(h).float()
            if not h.shape[0]:
                return FO1Output(None, hidden.sum() * 0.0, out.cache, hidden, logits.new_zeros(0))
            token_losses = F.cross_entropy(logits, targets[keep], reduction="none")
            return FO1Output(None, token_losses.mean(), out.cache, hidden, token_losses.detach())
        h = hidden[:, -logits_to_keep:] if logits_to_keep else hidden
        return FO1Output(self.lm_head(h).float(), None, out.cache, hidden)

    def new_cache(self) -> DynamicCache:
        return DynamicCache(config=self.model.config)

    @torch.no_grad()
    def generate(self, batch: SplicedBatch, max_new_tokens: int | list[int], stop_token_ids: list[int],
                 pad_token_id: int | None = None, logits_processor=None, cache: DynamicCache | None = None,
                 past_mask: torch.Tensor | None = None) -> GenerationOutput:
        """Greedy decoding with a KV cache.

        Args:
            batch: left-padded SplicedBatch (its last column is every sequence's last prompt token).
            max_new_tokens: upper bound on generated tokens, one for all or one per sequence (a
                sequence that reaches its own bound ends there, unstopped, as it would alone).
            stop_token_ids: ids that end a sequence (e.g. `<|im_end|>`); the stop id is kept.
            logits_processor: optional callable(step, generated (B, step), logits (B, V)) -> logits,
                e.g. a static bias restricting the answer vocabulary.
            cache / past_mask: an existing cache holding a shared prefix, and its (B, T_past)
                attention mask; the batch continues after it.
        """
        B = batch.inputs_embeds.shape[0]
        dev = self.device
        limits = torch.as_tensor(max_new_tokens, dtype=torch.long, device=dev).expand(B)
        max_new_tokens = int(limits.max())
        pad = pad_token_id if pad_token_id is not None else (stop_token_ids[0] if stop_token_ids else 0)
        cache = cache if cache is not None else self.new_cache()
        mask = batch.attention_mask if past_mask is None else torch.cat([past_mask, batch.attention_mask], dim=1)
        t0 = time.perf_counter()
        out = self.forward(batch.inputs_embeds, batch.position_ids, mask, cache=cache, logits_to_keep=1)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t1 = time.perf_counter()
        stop = torch.tensor(sorted(set(stop_token_ids)), dtype=torch.long, device=dev)
        positions = batch.next_positions.clone()
        seqs = torch.full((B, max_new_tokens), pad, dtype=torch.long, device=dev)
        probs = torch.zeros(B, max_new_tokens, device=dev)
        done = torch.zeros(B, dtype=torch.bool, device=dev)
        lengths = torch.zeros(B, dtype=torch.long, device=dev)
        stopped = torch.zeros(B, dtype=torch.bool, device=dev)
        for step in range(max_new_tokens):
            logits = out.logits[:, -1]  # (B, V) float32
            if logits_processor is not None:
                logits = logits_processor(step, seqs[:, :step], logits)
            p = logits.softmax(-1)
            nxt = logits.argmax(-1)  # (B,)
            nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
            seqs[:, step] = nxt
            probs[:, step] = torch.where(done, torch.zeros_like(p[:, 0]), p.gather(1, nxt[:, None])[:, 0])
            lengths += (~done).long()
            hit = torch.isin(nxt, stop) & ~done
            stopped |= hit
            done |= hit | (lengths >= limits)
            if bool(done.all()) or step == max_new_tokens - 1:
                seqs, probs = seqs[:, :step + 1], probs[:, :step + 1]
                break
            emb = self.model.embed_tokens(nxt)[:, None].to(self.dtype)  # (B, 1, D)
            pos = positions.view(1, B, 1).expand(3, B, 1)
            positions = positions + 1
            mask = torch.cat([mask, torch.ones(B, 1, dtype=mask.dtype, device=dev)], dim=1)
            out = self.forward(emb, pos, mask, cache=cache, logits_to_keep=1)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return GenerationOutput(seqs, probs, lengths, stopped, t1 - t0, time.perf_counter() - t1)
