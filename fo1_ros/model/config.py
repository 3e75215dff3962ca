"""Configuration of the VLM-FO1 model: one dataclass per component, presets, official config.json I/O.

`FO1Config` holds three nested component configs (`TextConfig` for the Qwen2.5 language model,
`VisionConfig` for the Qwen2.5-VL vision transformer, `AuxConfig` for the DaViT auxiliary
encoder) plus the fields VLM-FO1 adds (projectors, the HFRE region encoder, image sizes).

The official checkpoint stores a flat transformers-4.50 `config.json` (`model_type
"omchat_qwen2_5_vl"`): text fields at the top level, `vision_config` nested, the FO1 fields as
`mm_*` keys (reference: fo1-architecture.md §4). `FO1Config.from_official_dict` reads that
format (and the nested `text_config` format of transformers 5); `to_official_dict` writes it
back, so a folder saved here loads in the reference code and vice versa. Settings that the
reference hard-codes or has no field for go under one extra key, `"fo1_ros"`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config

# Official DaViT sizes (reference §1b, `davit/configs.py`); `mm_vision_tower_aux` names one of them.
DAVIT_PRESETS: dict[str, dict[str, Any]] = {
    "davit-large": dict(dims=[256, 512, 1024, 2048], depths=[1, 1, 9, 1], num_heads=[8, 16, 32, 64],
                        num_groups=[8, 16, 32, 64], window_size=12),
    "davit-base": dict(dims=[128, 256, 512, 1024], depths=[1, 1, 9, 1], num_heads=[4, 8, 16, 32],
                       num_groups=[4, 8, 16, 32], window_size=12),
}

_PROJECTOR_RE = re.compile(r"^(linear|identity|mlp(\d+)x_gelu)$")


@dataclass
class TextConfig(Config):
    """The Qwen2.5 decoder-only language model (`model.embed_tokens`, `model.layers.*`, `lm_head`)."""

    # Architecture
    vocab_size: int = 1024
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    hidden_act: str = "silu"
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False
    attention_dropout: float = 0.0
    # Positions: M-RoPE splits head_dim/2 rotary frequencies into (t, h, w) sections.
    max_position_embeddings: int = 4096
    rope_theta: float = 10000.0
    mrope_section: list[int] = field(default_factory=lambda: [8, 12, 12])
    # Special ids (the tokenizer decides them; kept here for generation defaults)
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"TextConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"TextConfig.hidden_size ({self.hidden_size}) must be divisible by "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"TextConfig.num_attention_heads ({self.num_attention_heads}) must be divisible by "
                             f"num_key_value_heads ({self.num_key_value_heads})")
        self.mrope_section = [int(s) for s in self.mrope_section]
        if len(self.mrope_section) != 3 or 2 * sum(self.mrope_section) != self.head_dim:
            raise ValueError(f"TextConfig.mrope_section {self.mrope_section} must have 3 entries summing to "
                             f"head_dim/2 = {self.head_dim // 2}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass
class VisionConfig(Config):
    """The Qwen2.5-VL vision transformer + 2x2 patch merger (`model.vision_tower.image_tower.*`)."""

    depth: int = 4
    hidden_size: int = 96
    intermediate_size: int = 256
    num_heads: int = 4
    hidden_act: str = "silu"
    in_channels: int = 3
    patch_size: int = 14
    spatial_merge_size: int = 2
    temporal_patch_size: int = 2
    tokens_per_second: int = 2
    window_size: int = 112  # pixels; windows of window_size/patch_size patches
    # Blocks with full attention; FO1 takes its multi-level features after these (reference §1a).
    fullatt_block_indexes: list[int] = field(default_factory=lambda: [1, 3])
    out_hidden_size: int = 256  # merger output width = mm_hidden_size

    def __post_init__(self):
        self.fullatt_block_indexes = [int(i) for i in self.fullatt_block_indexes]
        bad = [i for i in self.fullatt_block_indexes if not 0 <= i < self.depth]
        if bad:
            raise ValueError(f"VisionConfig.fullatt_block_indexes {self.fullatt_block_indexes} has entries "
                             f"outside [0, depth={self.depth})")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"VisionConfig.hidden_size ({self.hidden_size}) must be divisible by "
                             f"num_heads ({self.num_heads})")
        if self.window_size % (self.patch_size * self.spatial_merge_size):
            raise ValueError(f"VisionConfig.window_size ({self.window_size}) must be a multiple of "
                             f"patch_size*spatial_merge_size ({self.patch_size * self.spatial_merge_size})")


@dataclass
class AuxConfig(Config):
    """The DaViT auxiliary encoder (`model.vision_tower_aux.image_tower.*`), strides 4/8/16/32."""

    dims: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    depths: list[int] = field(default_factory=lambda: [1, 1, 1, 1])
    num_heads: list[int] = field(default_factory=lambda: [2, 4, 8, 16])
    num_groups: list[int] = field(default_factory=lambda: [2, 4, 8, 16])
    window_size: int = 12
    drop_path_rate: float = 0.0  # only active in training
    # Input: the reference resizes the frame to image_size x image_size ("squash", §1b).
    image_size: int = 320
    aspect_ratio: str = "squash"

    def __post_init__(self):
        for name in ("dims", "depths", "num_heads", "num_groups"):
            value = [int(v) for v in getattr(self, name)]
            setattr(self, name, value)
            if len(value) != 4:
                raise ValueError(f"AuxConfig.{name} must have 4 stages, got {value}")
        if self.aspect_ratio != "squash":
            raise ValueError(f"AuxConfig.aspect_ratio {self.aspect_ratio!r} is not supported; only 'squash' "
                             "(the reference's documented default) is implemented")
        if self.image_size < 32 or self.image_size % 32:
            raise ValueError(f"AuxConfig.image_size must be a positive multiple of 32, got {self.image_size}")

    @classmethod
    def preset(cls, name: str, **overrides) -> "AuxConfig":
        if name not in DAVIT_PRESETS:
            raise ValueError(f"unknown DaViT preset {name!r}; known: {sorted(DAVIT_PRESETS)}")
        return cls(**{**DAVIT_PRESETS[name], **overrides})


@dataclass
class FO1Config(Config):
    """The whole VLM-FO1 model. Defaults are the shipped default model (`fo1-small`)."""

    text: TextConfig = field(default_factory=TextConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    aux: AuxConfig = field(default_factory=AuxConfig)

    # Token ids of the Qwen2.5-VL vision markers (the tokenizer decides them)
    image_token_id: int = 5
    video_token_id: int = 6
    vision_start_token_id: int = 3
    vision_end_token_id: int = 4

    # Projectors: image tokens (merger output -> LM width) and object tokens (region feature -> LM width)
    mm_projector_type: str = "mlp2x_gelu"
    mm_projector_aux_type: str = "mlp2x_gelu"

    # HFRE region encoder (reference §1c); names and defaults as the official config fields
    mm_use_vision_tower_region_feature: bool = True
    mm_use_vt_region_feature_only: bool = False
    mm_roi_output_size: int = 7
    mm_apply_position_embedding: bool = True
    mm_pos_embedding_strategy: str = "bbox_based"
    mm_region_feature_combination: str = "concat"
    mm_apply_region_layer_norm: bool = True
    mm_use_simpleFPN_for_vt: bool = False
    simple_fpn_out_channels: int = 512  # hard-coded 512 in the reference
    max_regions: int = 100  # the reference cuts at 100; we raise an error past this instead

    # Primary image size limits (pixels), as passed to the Qwen2-VL image processor
    image_min_pixels: int = 56 * 56
    image_max_pixels: int = 224 * 224

    def __post_init__(self):
        self.nested_from_dicts()
        for name in ("mm_projector_type", "mm_projector_aux_type"):
            if not _PROJECTOR_RE.match(getattr(self, name)):
                raise ValueError(f"FO1Config.{name} {getattr(self, name)!r} is not one of linear, identity, "
                                 "mlp<N>x_gelu")
        if self.mm_region_feature_combination != "concat":
            raise ValueError(f"FO1Config.mm_region_feature_combination {self.mm_region_feature_combination!r} "
                             "is not supported; only 'concat' (the paper's design) is implemented")
        if self.mm_pos_embedding_strategy != "bbox_based":
            raise ValueError(f"FO1Config.mm_pos_embedding_strategy {self.mm_pos_embedding_strategy!r} is not "
                             "supported; only 'bbox_based' is implemented")
        if self.mm_use_vt_region_feature_only and not self.mm_use_vision_tower_region_feature:
            raise ValueError("FO1Config.mm_use_vt_region_feature_only needs mm_use_vision_tower_region_feature")
        if self.mm_apply_position_embedding and self.region_hidden_size % 8:
            raise ValueError(f"region feature width {self.region_hidden_size} must be divisible by 8 for the "
                             "sine box embedding (4 coordinates x sin/cos pairs)")
        if not 1 <= self.max_regions <= 10_000:
            raise ValueError(f"FO1Config.max_regions must be in [1, 10000], got {self.max_regions}")
        if self.mm_projector_type == "identity" and self.vision.out_hidden_size != self.text.hidden_size:
            raise ValueError("identity image projector needs vision.out_hidden_size == text.hidden_size")
        if self.image_min_pixels > self.image_max_pixels:
            raise ValueError(f"image_min_pixels ({self.image_min_pixels}) > image_max_pixels "
                             f"({self.image_max_pixels})")

    # ---- derived sizes --------------------------------------------------------------------
    @property
    def mm_hidden_size(self) -> int:
        return self.vision.out_hidden_size

    @property
    def vt_region_feature_dim(self) -> int:
        """Width of the ViT region feature: 4 levels concatenated, or SimpleFP's 4 x out channels."""
        if self.mm_use_simpleFPN_for_vt:
            return 4 * self.simple_fpn_out_channels
        return len(self.vision.fullatt_block_indexes) * self.vision.hidden_size

    @property
    def aux_region_feature_dim(self) -> int:
        return sum(self.aux.dims)

    @property
    def region_hidden_size(self) -> int:
        """`mm_region_hidden_size`: the width of one HFRE region feature before `mm_projector_aux`."""
        if self.mm_use_vt_region_feature_only:
            return self.vt_region_feature_dim
        width = self.aux_region_feature_dim
        if self.mm_use_vision_tower_region_feature:
            width += self.vt_region_feature_dim
        return width

    # ---- official config.json -------------------------------------------------------------
    @classmethod
    def from_official_dict(cls, d: dict[str, Any]) -> "FO1Config":
        """Build from an official VLM-FO1 `config.json` dict (flat 4.50 format or nested 5.x format)."""
        if not isinstance(d, dict):
            raise TypeError(f"config must be a dict, got {type(d).__name__}")
        text_src = d.get("text_config") if isinstance(d.get("text_config"), dict) else d
        try:
            rope = text_src.get("rope_scaling") or text_src.get("rope_parameters") or {}
            text = TextConfig(
                vocab_size=text_src["vocab_size"], hidden_size=text_src["hidden_size"],
                intermediate_size=text_src["intermediate_size"], num_hidden_layers=text_src["num_hidden_layers"],
                num_attention_heads=text_src["num_attention_heads"],
                num_key_value_heads=text_src.get("num_key_value_heads") or text_src["num_attention_heads"],
                hidden_act=text_src.get("hidden_act", "silu"), rms_norm_eps=text_src.get("rms_norm_eps", 1e-6),
                tie_word_embeddings=bool(d.get("tie_word_embeddings", text_src.get("tie_word_embeddings", False))),
                attention_dropout=text_src.get("attention_dropout", 0.0),
                max_position_embeddings=text_src.get("max_position_embeddings", 32768),
                rope_theta=rope.get("rope_theta", text_src.get("rope_theta", 1000000.0)),
                mrope_section=rope.get("mrope_section", [16, 24, 24]),
                bos_token_id=text_src.get("bos_token_id"), eos_token_id=text_src.get("eos_token_id"),
                pad_token_id=text_src.get("pad_token_id"),
            )
            v = d["vision_config"]
            vision = VisionConfig(**{f.name: v[f.name] for f in dataclasses.fields(VisionConfig) if f.name in v})
        except KeyError as e:
            raise ValueError(f"official config is missing required key {e.args[0]!r}") from e

        aux_name = d.get("mm_vision_tower_aux") or "davit-large"
        aux_key = aux_name.split("/")[-1].replace(".pth", "")
        extra = dict(d.get("fo1_ros") or {})
        aux_kwargs: dict[str, Any] = dict(DAVIT_PRESETS.get(aux_key, DAVIT_PRESETS["davit-large"]))
        override = d.get("mm_vision_tower_aux_config")
        if override:  # the reference-vectors format: dim_embed/depths/num_heads/num_groups/window_size
            aux_kwargs.update(dims=override.get("dim_embed", aux_kwargs["dims"]),
                              depths=override.get("depths", aux_kwargs["depths"]),
                              num_heads=override.get("num_heads", aux_kwargs["num_heads"]),
                              num_groups=override.get("num_groups", aux_kwargs["num_groups"]),
                              window_size=override.get("window_size", aux_kwargs["window_size"]))
        aux_kwargs.update(image_size=d.get("aux_image_size") or 768,
                          aspect_ratio=d.get("aux_image_aspect_ratio") or "squash",
                          drop_path_rate=extra.pop("aux_drop_path_rate", 0.0))
        aux = AuxConfig(**aux_kwargs)

        cfg = cls(
            text=text, vision=vision, aux=aux,
            image_token_id=d.get("image_token_id", 151655), video_token_id=d.get("video_token_id", 151656),
            vision_start_token_id=d.get("vision_start_token_id", 151652),
            vision_end_token_id=d.get("vision_end_token_id", 151653),
            mm_projector_type=d.get("mm_projector_type", "linear"),
            mm_projector_aux_type=d.get("mm_projector_aux_type", "linear"),
            mm_use_vision_tower_region_feature=bool(d.get("mm_use_vision_tower_region_feature", False)),
            mm_use_vt_region_feature_only=bool(d.get("mm_use_vt_region_feature_only", False)),
            mm_roi_output_size=int(d.get("mm_roi_output_size", 7)),
            mm_apply_position_embedding=bool(d.get("mm_apply_position_embedding", True)),
            mm_pos_embedding_strategy=d.get("mm_pos_embedding_strategy", "bbox_based"),
            mm_region_feature_combination=d.get("mm_region_feature_combination", "concat"),
            mm_apply_region_layer_norm=bool(d.get("mm_apply_region_layer_norm", False)),
            mm_use_simpleFPN_for_vt=bool(d.get("mm_use_simpleFPN_for_vt", False)),
            simple_fpn_out_channels=int(extra.pop("simple_fpn_out_channels", 512)),
            max_regions=int(extra.pop("max_regions", 100)),
            image_min_pixels=int(extra.pop("image_min_pixels", 56 * 56)),
            image_max_pixels=int(extra.pop("image_max_pixels", 2048 * 2048)),
        )
        if extra:
            raise ValueError(f"config.json 'fo1_ros' block has unknown keys {sorted(extra)}")
        if "mm_region_hidden_size" in d and int(d["mm_region_hidden_size"]) != cfg.region_hidden_size:
            raise ValueError(f"config.json mm_region_hidden_size={d['mm_region_hidden_size']} does not match the "
                             f"width the region encoder produces ({cfg.region_hidden_size}) for this config")
        if "mm_hidden_size" in d and int(d["mm_hidden_size"]) != cfg.mm_hidden_size:
            raise ValueError(f"config.json mm_hidden_size={d['mm_hidden_size']} != vision out_hidden_size "
                             f"{cfg.mm_hidden_size}")
        return cfg

    def to_official_dict(self) -> dict[str, Any]:
        """The official flat `config.json` layout (loadable by the reference implementation)."""
        t, v, a = self.text, self.vision, self.aux
        aux_name = next((n for n, p in DAVIT_PRESETS.items()
                         if p == dict(dims=a.dims, depths=a.depths, num_heads=a.num_heads,
                                      num_groups=a.num_groups, window_size=a.window_size)), None)
        d: dict[str, Any] = {
            "model_type": "omchat_qwen2_5_vl",
            "architectures": ["OmChatQwen25VLForCausalLM"],
            "vocab_size": t.vocab_size, "hidden_size": t.hidden_size, "intermediate_size": t.intermediate_size,
            "num_hidden_layers": t.num_hidden_layers, "num_attention_heads": t.num_attention_heads,
            "num_key_value_heads": t.num_key_value_heads, "hidden_act": t.hidden_act,
            "rms_norm_eps": t.rms_norm_eps, "tie_word_embeddings": t.tie_word_embeddings,
            "attention_dropout": t.attention_dropout, "max_position_embeddings": t.max_position_embeddings,
            "rope_theta": t.rope_theta,
            "rope_scaling": {"type": "default", "rope_type": "default", "mrope_section": list(t.mrope_section)},
            "use_sliding_window": False, "sliding_window": t.max_position_embeddings,
            "max_window_layers": t.num_hidden_layers,
            "bos_token_id": t.bos_token_id, "eos_token_id": t.eos_token_id, "pad_token_id": t.pad_token_id,
            "vision_config": {**v.to_dict(), "model_type": "qwen2_5_vl"},
            "image_token_id": self.image_token_id, "video_token_id": self.video_token_id,
            "vision_start_token_id": self.vision_start_token_id, "vision_end_token_id": self.vision_end_token_id,
            "mm_vision_tower": "qwen2.5-vl",
            "mm_vision_tower_aux": aux_name or "davit-large",
            "mm_projector_type": self.mm_projector_type, "mm_projector_aux_type": self.mm_projector_aux_type,
            "mm_hidden_size": self.mm_hidden_size, "mm_region_hidden_size": self.region_hidden_size,
            "mm_use_vision_tower_region_feature": self.mm_use_vision_tower_region_feature,
            "mm_use_vt_region_feature_only": self.mm_use_vt_region_feature_only,
            "mm_use_region_index_token": True,
            "mm_roi_output_size": self.mm_roi_output_size,
            "mm_apply_position_embedding": self.mm_apply_position_embedding,
            "mm_pos_embedding_strategy": self.mm_pos_embedding_strategy,
            "mm_region_feature_combination": self.mm_region_feature_combination,
            "mm_apply_region_layer_norm": self.mm_apply_region_layer_norm,
            "mm_use_simpleFPN_for_vt": self.mm_use_simpleFPN_for_vt,
            "aux_image_size": a.image_size, "aux_image_aspect_ratio": a.aspect_ratio,
            "delay_load": True,
            "fo1_ros": {"max_regions": self.max_regions, "image_min_pixels": self.image_min_pixels,
                        "image_max_pixels": self.image_max_pixels,
                        "simple_fpn_out_channels": self.simple_fpn_out_channels,
                        "aux_drop_path_rate": a.drop_path_rate},
        }
        if aux_name is None:  # not an official DaViT size: carry the widths as the reference vectors do
            d["mm_vision_tower_aux_config"] = {"dim_embed": a.dims, "depths": a.depths, "num_heads": a.num_heads,
                                               "num_groups": a.num_groups, "window_size": a.window_size}
        return d

    @classmethod
    def from_json_file(cls, path: str | Path) -> "FO1Config":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise FileNotFoundError(f"no config.json at {path}") from e
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e
        return cls.from_official_dict(d)

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_official_dict(), indent=2, sort_keys=False) + "\n")



def preset(name: str) -> FO1Config:
    """Named configurations: `fo1-3b` (official sizes), `fo1-small` (shipped default), `fo1-tiny` (tests)."""
    if name == "fo1-3b":
        # Qwen2.5-VL-3B-Instruct sizes + DaViT-large, HFRE without SimpleFP: region width
        # 3840 (DaViT) + 4 x 1280 (ViT levels) = 8960 (reference §1c, §4).
        return FO1Config(
            text=TextConfig(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                            num_attention_heads=16, num_key_value_heads=2, rms_norm_eps=1e-6,
                            tie_word_embeddings=True, max_position_embeddings=128000, rope_theta=1000000.0,
                            mrope_section=[16, 24, 24], bos_token_id=151643, eos_token_id=151645,
                            pad_token_id=151643),
            vision=VisionConfig(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                                tokens_per_second=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
                                out_hidden_size=2048),
            aux=AuxConfig.preset("davit-large", image_size=768),
            image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
            vision_end_token_id=151653,
            mm_projector_type="mlp2x_gelu", mm_projector_aux_type="mlp2x_gelu",
            mm_apply_region_layer_norm=False,
            image_min_pixels=56 * 56, image_max_pixels=2048 * 2048,
        )
    if name == "fo1-small":
        return FO1Config()
    if name == "fo1-tiny":
        return FO1Config(
            text=TextConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=2, num_key_value_heads=1, mrope_section=[4, 6, 6]),
            vision=VisionConfig(depth=2, hidden_size=32, intermediate_size=64, num_heads=2,
                                fullatt_block_indexes=[0, 1], out_hidden_size=64),
            aux=AuxConfig(dims=[8, 16, 32, 64], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                          num_groups=[1, 2, 4, 8], window_size=4, image_size=128),
            image_max_pixels=112 * 112,
        )
    raise ValueError(f"unknown preset {name!r}; known: fo1-3b, fo1-small, fo1-tiny")


PRESETS = ("fo1-3b", "fo1-small", "fo1-tiny")
