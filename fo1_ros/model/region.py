"""HFRE, the Hybrid Fine-grained Region Encoder of VLM-FO1 (reference §1c): one feature per box.

For each box: RoIAlign (7x7, mean-pooled) on the DaViT pyramid (levels 2-4 upsampled to the
stride-4 level, concatenated, scale 1/4) and on the ViT multi-level map (the hidden states after
the full-attention blocks, concatenated, scale 1/patch), optional LayerNorms, concatenation
[aux | vit], plus a sine embedding of the box (cx, cy, w, h). Optionally the ViT branch goes
through SimpleFP (ViTDet's simple feature pyramid) first. `model.mm_projector_aux` (outside this
module) then maps each feature to one object token.

Dims: `N` boxes, `C` channels, `D` region feature width (`FO1Config.region_hidden_size`).
All region computation runs in float32, as the reference does (`feat.float()`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import FO1Config
from .roi_align import roi_align_mean


def box_sine_embedding(boxes_cxcywh: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """Sine/cosine embedding of normalised boxes, DETR/DINO style, as FO1 uses it.

    Args:
        boxes_cxcywh: (N, 4) float, (cx, cy, w, h) in [0, 1].
        dim: output width D; each coordinate gets D/4 channels of interleaved sin/cos.
    Returns:
        (N, D) float32 ordered [cy | cx | w | h] (the reference's `gen_sineembed_for_position`).
    """
    if dim % 8:
        raise ValueError(f"box embedding width must be divisible by 8, got {dim}")
    quarter = dim // 4
    i = torch.arange(quarter, dtype=torch.float32, device=boxes_cxcywh.device)
    dim_t = temperature ** (2 * torch.div(i, 2, rounding_mode="floor") / quarter)  # (D/4,)
    pos = boxes_cxcywh.float()[:, :, None] * (2 * math.pi) / dim_t  # (N, 4, D/4)
    # even channels sin, odd channels cos, interleaved: [sin(p0), cos(p1), sin(p2), cos(p3), ...]
    emb = torch.stack((pos[:, :, 0::2].sin(), pos[:, :, 1::2].cos()), dim=3).flatten(2)  # (N, 4, D/4)
    cx, cy, w, h = emb.unbind(1)
    return torch.cat((cy, cx, w, h), dim=1)  # (N, D)


def normalise_boxes_cxcywh(boxes_xyxy: torch.Tensor, width: float, height: float) -> torch.Tensor:
    """(N, 4) xyxy pixels -> (N, 4) (cx, cy, w, h) divided by the image width/height."""
    b = boxes_xyxy.float()
    x1, y1, x2, y2 = b[:, 0] / width, b[:, 1] / height, b[:, 2] / width, b[:, 3] / height
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=1)


def _layer_norm_fp32(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """Apply `norm` in float32 whatever the module dtype (the reference calls `.float()` on it)."""
    return F.layer_norm(x.float(), norm.normalized_shape, norm.weight.float(), norm.bias.float(), norm.eps)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of (B, C, H, W) maps (ConvNeXt style), eps 1e-6 as SimpleFP."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNorm(nn.Conv2d):
    """Conv2d followed by a channel LayerNorm; keeps the reference's `<i>.weight`/`<i>.norm.*` names."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0):
        super().__init__(in_channels, out_channels, kernel_size, padding=padding, bias=False)
        self.norm = ChannelLayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(super().forward(x))


class SimpleFP(nn.Module):
    """ViTDet simple feature pyramid on the last ViT level: scales x4, x2, x1, x0.5.

    Modules are named `simfp_1..simfp_4` (stride 3.5/7/14/28 for patch 14) like the reference.
    """

    SCALES = (4.0, 2.0, 1.0, 0.5)

    def __init__(self, dim: int, out_channels: int):
        super().__init__()
        for k, scale in enumerate(self.SCALES, start=1):
            if scale == 4.0:
                layers: list[nn.Module] = [nn.ConvTranspose2d(dim, dim // 2, 2, stride=2), ChannelLayerNorm(dim // 2),
                                           nn.GELU(), nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2)]
                width = dim // 4
            elif scale == 2.0:
                layers, width = [nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)], dim // 2
            elif scale == 1.0:
                layers, width = [], dim
            else:
                layers, width = [nn.MaxPool2d(2, stride=2)], dim
            layers += [ConvNorm(width, out_channels, 1), ConvNorm(out_channels, out_channels, 3, padding=1)]
            self.add_module(f"simfp_{k}", nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(1, dim, gh, gw) -> 4 maps (1, out, gh*s, gw*s) for s in SCALES."""
        return [getattr(self, f"simfp_{k}")(x) for k in range(1, 5)]


class HFRE(nn.Module):
    """Region encoder: (aux pyramid, ViT levels, boxes) -> (N, D) region features (reference §1c)."""

    def __init__(self, cfg: FO1Config):
        super().__init__()
        self.cfg = cfg
        self.patch_size = cfg.vision.patch_size
        self.aux_spatial_scale = 0.25  # DaViT stage 1 has stride 4
        if cfg.mm_use_simpleFPN_for_vt:
            self.simple_fpn = SimpleFP(cfg.vision.hidden_size, cfg.simple_fpn_out_channels)
        if cfg.mm_apply_region_layer_norm:
            if cfg.mm_use_vision_tower_region_feature:
                self.vt_region_norm = nn.LayerNorm(cfg.vt_region_feature_dim)
            if not cfg.mm_use_vt_region_feature_only:
                self.aux_region_norm = nn.LayerNorm(cfg.aux_region_feature_dim)

    def forward(self, aux_maps: list[torch.Tensor] | None, aux_boxes: torch.Tensor,
                vt_levels: list[torch.Tensor] | None = None, vt_boxes: torch.Tensor | None = None) -> torch.Tensor:
        """Region features of one image.

        Args:
            aux_maps: 4 DaViT maps (1, C_i, h_i, w_i), stride 4 first; None only in ViT-only mode.
            aux_boxes: (N, 4) float xyxy in auxiliary-image pixels.
            vt_levels: L ViT maps (1, C, gh, gw) on the patch grid (needed when the config uses them).
            vt_boxes: (N, 4) float xyxy in primary (resized) image pixels.
        Returns:
            (N, D) float32 region features.
        """
        cfg = self.cfg
        use_vt = cfg.mm_use_vision_tower_region_feature
        if use_vt and (vt_levels is None or vt_boxes is None):
            raise ValueError("this config pools ViT region features: vt_levels and vt_boxes are required")
        parts = []
        if not cfg.mm_use_vt_region_feature_only:
            parts.append(self.aux_features(aux_maps, aux_boxes))
        if use_vt:
            parts.append(self.vt_features(vt_levels, vt_boxes))
        feats = torch.cat(parts, dim=-1)  # (N, D): [aux | vt]
        if cfg.mm_apply_position_embedding:
            # The reference embeds the ViT-space box when the ViT branch is used, else the aux box,
            # normalised by that feature map's size divided by its spatial scale.
            if use_vt:
                gh, gw = vt_levels[0].shape[-2:]
                pos = normalise_boxes_cxcywh(vt_boxes, gw * self.patch_size, gh * self.patch_size)
            else:
                h0, w0 = aux_maps[0].shape[-2:]
                pos = normalise_boxes_cxcywh(aux_boxes, w0 / self.aux_spatial_scale, h0 / self.aux_spatial_scale)
            feats = feats + box_sine_embedding(pos, feats.shape[-1])
        return feats

    def aux_features(self, aux_maps: list[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        """Mean-pooled 7x7 RoIAlign on the DaViT pyramid upsampled to stride 4: (N, sum C_i)."""
        h0, w0 = aux_maps[0].shape[-2:]
        maps = [aux_maps[0].float()] + [
            F.interpolate(m.float(), size=(h0, w0), mode="bilinear", align_corners=False) for m in aux_maps[1:]]
        feat = torch.cat(maps, dim=1)  # (1, sum C_i, h0, w0)
        out = roi_align_mean(feat, [boxes.float()], self.cfg.mm_roi_output_size, spatial_scale=self.aux_spatial_scale)
        if self.cfg.mm_apply_region_layer_norm:
            out = _layer_norm_fp32(self.aux_region_norm, out)
        return out

    def vt_features(self, vt_levels: list[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        """Mean-pooled 7x7 RoIAlign on the ViT levels (or their SimpleFP pyramid): (N, C_vt)."""
        boxes = boxes.float()
        k = self.cfg.mm_roi_output_size
        if self.cfg.mm_use_simpleFPN_for_vt:
            pyramid = self.simple_fpn(vt_levels[-1].float())
            strides = [self.patch_size / s for s in SimpleFP.SCALES]  # 3.5, 7, 14, 28 for patch 14
            out = torch.cat([roi_align_mean(m, [boxes], k, spatial_scale=1.0 / s) for m, s in zip(pyramid, strides)],
                            dim=-1)
        else:
            feat = torch.cat([lvl.float() for lvl in vt_levels], dim=1)  # (1, L*C, gh, gw)
            out = roi_align_mean(feat, [boxes], k, spatial_scale=1.0 / self.patch_size)
        # The reference's ViT-only path returns before its LayerNorm (it builds vt_region_norm but
        # never applies it there); the hybrid path applies it.
        if self.cfg.mm_apply_region_layer_norm and not self.cfg.mm_use_vt_region_feature_only:
            out = _layer_norm_fp32(self.vt_region_norm, out)
        return out
