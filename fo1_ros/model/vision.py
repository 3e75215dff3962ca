"""The two image encoders of VLM-FO1 and the projectors, built on the `transformers` modules.

- `QwenVisionTower` (`model.vision_tower`): Qwen2.5-VL's vision transformer + 2x2 patch merger
  gives the image tokens; forward hooks on the full-attention blocks give the multi-level
  features (reference §1a), taken out of Qwen's window order and laid back on the patch grid.
- `DavitAuxTower` (`model.vision_tower_aux`): Florence-2's DaViT, the same network as FO1's
  auxiliary encoder (reference §7); its four stage maps (strides 4/8/16/32) feed the region encoder.
- `build_projector`: `linear`, `identity` or `mlp<N>x_gelu`, with the reference's parameter names.

Dims: `P` patches (14x14 px each, 2 frames stacked), `gh, gw` patch grid, `N_img` image tokens
(= gh*gw/4), `C` channels.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import torch
from torch import nn
from transformers.models.florence2.configuration_florence2 import Florence2VisionConfig
from transformers.models.florence2.modeling_florence2 import Florence2VisionBackbone
from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel
from transformers.vision_utils import get_vision_window_index

from .config import AuxConfig, VisionConfig


@dataclass
class VisionOutput:
    """Output of `QwenVisionTower.forward` for B images packed in one sequence.

    image_embeds: (sum N_img, out_hidden) merger output, image after image, in Qwen's raster order.
    levels: per image, a list of L maps (1, C, gh, gw) — hidden states after each full-attention
        block on the 2-D patch grid; None when not requested.
    """

    image_embeds: torch.Tensor
    levels: list[list[torch.Tensor]] | None


class QwenVisionTower(nn.Module):
    """Qwen2.5-VL vision transformer with multi-level feature capture (no global state).

    The reference monkey-patches the ViT forward and gathers features into a process-global
    object; here forward hooks registered for the duration of one call write into a local
    list, and a per-instance lock keeps two threads from interleaving hook output.
    """

    def __init__(self, cfg: VisionConfig, attn_implementation: str = "sdpa"):
        super().__init__()
        self.cfg = cfg
        hf_cfg = Qwen2_5_VLVisionConfig(
            depth=cfg.depth, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
            num_heads=cfg.num_heads, hidden_act=cfg.hidden_act, in_channels=cfg.in_channels,
            patch_size=cfg.patch_size, spatial_merge_size=cfg.spatial_merge_size,
            temporal_patch_size=cfg.temporal_patch_size, tokens_per_second=cfg.tokens_per_second,
            window_size=cfg.window_size, fullatt_block_indexes=list(cfg.fullatt_block_indexes),
            out_hidden_size=cfg.out_hidden_size,
        )
        self.image_tower = Qwen2_5_VisionTransformerPretrainedModel._from_config(
            hf_cfg, attn_implementation=attn_implementation)
        self._lock = threading.Lock()

    def forward(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor, return_levels: bool = True) -> VisionOutput:
        """Encode B images given as one packed patch sequence.

        Args:
            pixel_values: (P, in_channels*temporal_patch*patch*patch) patches of all images, as the
                Qwen2-VL image processor emits them.
            grid_thw: (B, 3) int64 (t, gh, gw) per image; t must be 1 (still images).
            return_levels: capture the multi-level features for the region encoder.
        """
        if grid_thw.ndim != 2 or grid_thw.shape[1] != 3:
            raise ValueError(f"grid_thw must be (B, 3), got {tuple(grid_thw.shape)}")
        if int(grid_thw[:, 0].max()) != 1:
            raise ValueError(f"only still images (t=1) are supported, got grid_thw={grid_thw.tolist()}")
        n_patches = int((grid_thw[:, 0] * grid_thw[:, 1] * grid_thw[:, 2]).sum())
        if pixel_values.shape[0] != n_patches:
            raise ValueError(f"pixel_values has {pixel_values.shape[0]} patches but grid_thw={grid_thw.tolist()} "
                             f"needs {n_patches}")
        tower = self.image_tower
        pixel_values = pixel_values.to(dtype=tower.patch_embed.proj.weight.dtype)
        if not return_levels:
            return VisionOutput(tower(pixel_values, grid_thw=grid_thw).pooler_output, None)

        captured: list[torch.Tensor] = []
        with self._lock:
            handles = [tower.blocks[i].register_forward_hook(lambda _m, _i, out: captured.append(out))
                       for i in self.cfg.fullatt_block_indexes]
            try:
                image_embeds = tower(pixel_values, grid_thw=grid_thw).pooler_output
            finally:
                for h in handles:
                    h.remove()
        return VisionOutput(image_embeds, self._restore_levels(captured, grid_thw))

    def _restore_levels(self, captured: list[torch.Tensor], grid_thw: torch.Tensor) -> list[list[torch.Tensor]]:
        """Window-ordered block outputs (P, C) -> per image, L maps (1, C, gh, gw) on the patch grid."""
        m = self.cfg.spatial_merge_size
        window_index, _ = get_vision_window_index(grid_thw, spatial_merge_size=m, window_size=self.cfg.window_size,
                                                  patch_size=self.cfg.patch_size)
        reverse = torch.argsort(window_index.to(captured[0].device))
        stacked = torch.cat(captured, dim=1)  # (P, L*C), still in window order
        P = stacked.shape[0]
        stacked = stacked.reshape(P // (m * m), m * m, -1)[reverse].reshape(P, -1)  # (P, L*C) merge-unit order
        out = []
        L = len(captured)
        for feats in torch.split(stacked, (grid_thw[:, 1] * grid_thw[:, 2]).tolist(), dim=0):
            _, gh, gw = (int(x) for x in grid_thw[len(out)])
            # Patches come in 2x2 merge units: (gh/m, gw/m, m, m) -> (gh, gw)
            grid = feats.reshape(gh // m, gw // m, m, m, -1).permute(0, 2, 1, 3, 4).reshape(gh, gw, -1)
            grid = grid.permute(2, 0, 1).unsqueeze(0)  # (1, L*C, gh, gw)
            out.append(list(grid.chunk(L, dim=1)))  # L x (1, C, gh, gw)
        return out


class DavitAuxTower(nn.Module):
    """Florence-2 DaViT returning its four stage maps (reference §1b, §7)."""

    def __init__(self, cfg: AuxConfig):
        super().__init__()
        self.cfg = cfg
        hf_cfg = Florence2VisionConfig(
            depths=list(cfg.depths), embed_dim=list(cfg.dims), num_heads=list(cfg.num_heads),
            num_groups=list(cfg.num_groups), window_size=cfg.window_size, drop_path_rate=cfg.drop_path_rate,
        )
        self.image_tower = Florence2VisionBackbone(hf_cfg)

    def forward(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, S, S) normalised image -> 4 maps (B, dims[i], S/4/2^i, S/4/2^i)."""
        if pixel_values.ndim != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f"aux pixel_values must be (B, 3, H, W), got {tuple(pixel_values.shape)}")
        tower = self.image_tower
        h = pixel_values.to(dtype=tower.convs[0].conv.weight.dtype)
        stages = []
        for conv, block in zip(tower.convs, tower.blocks):
            h = conv(h)
            for layer in block:
                h = layer(h)
            stages.append(h)
        return stages


def build_projector(kind: str, in_features: int, out_features: int) -> nn.Module:
    """Projector as in the reference builder: names `.weight` (linear) or `.0/.2/...` (mlp)."""
    if kind == "linear":
        return nn.Linear(in_features, out_features)
    if kind == "identity":
        if in_features != out_features:
            raise ValueError(f"identity projector needs equal widths, got {in_features} -> {out_features}")
        return nn.Identity()
    m = re.match(r"^mlp(\d+)x_gelu$", kind)
    if not m:
        raise ValueError(f"unknown projector type {kind!r}")
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    for _ in range(1, int(m.group(1))):
        layers += [nn.GELU(), nn.Linear(out_features, out_features)]
    return nn.Sequential(*layers)
