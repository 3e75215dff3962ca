"""Image and box preprocessing for VLM-FO1, as the reference does it (reference §3), in numpy + PIL.

One RGB frame feeds two encoders:
- primary (Qwen2.5-VL ViT): "smart resize" to multiples of 28 px within [min_pixels, max_pixels],
  bicubic, CLIP mean/std, cut into 14x14 patches with the frame repeated twice in time, in
  2x2-merge-unit order -> `pixel_values` (P, 3*2*14*14) and `grid_thw` (1, gh, gw);
- auxiliary (DaViT): squashed to S x S, bicubic, ImageNet mean/std -> (3, S, S).
Boxes given in frame pixels are clamped to the frame and scaled to auxiliary-image pixels
(`adjust_bbox` of the reference); the model maps them on to the primary image itself.

The reference first shrinks frames whose long side exceeds 2048 px (and enlarges sides below 28 px);
`prepare_frame` does the same. `transformers`' Qwen2-VL processor needs torchvision for its fast
path, so the slow path is written here (and tested against the reference's processor output).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .config import FO1Config

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MAX_FRAME_SIDE = 2048
MIN_FRAME_SIDE = 28


@dataclass
class FrameInputs:
    """Model inputs for one frame.

    pixel_values: (P, 3*T*ps*ps) float32 patches; grid_thw: (1, 3) int64 (1, gh, gw);
    aux_pixel_values: (1, 3, S, S) float32; boxes_aux: (N, 4) float32 xyxy in aux pixels;
    frame_size: (H, W) of the frame the boxes refer to; resized_size: (H, W) after the
    2048-px cap (the size both processors started from).
    """

    pixel_values: torch.Tensor
    grid_thw: torch.Tensor
    aux_pixel_values: torch.Tensor
    boxes_aux: torch.Tensor
    frame_size: tuple[int, int]
    resized_size: tuple[int, int]


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56,
                 max_pixels: int = 2048 * 2048) -> tuple[int, int]:
    """Qwen2-VL target size: multiples of `factor`, area within [min_pixels, max_pixels], aspect kept."""
    if min(height, width) <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio must be below 200, got {height}x{width}")
    h = round(height / factor) * factor
    w = round(width / factor) * factor
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got {getattr(rgb, 'shape', type(rgb))}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB, got dtype {rgb.dtype}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"image is empty: shape {rgb.shape}")
    return rgb


def primary_pixel_values(rgb: np.ndarray, patch_size: int = 14, merge_size: int = 2, temporal_patch_size: int = 2,
                         min_pixels: int = 56 * 56, max_pixels: int = 2048 * 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W, 3) uint8 -> pixel_values (gh*gw, 3*T*ps*ps) float32, grid_thw (1, 3) int64."""
    rgb = _check_rgb(rgb)
    H, W = rgb.shape[:2]
    rh, rw = smart_resize(H, W, patch_size * merge_size, min_pixels, max_pixels)
    img = Image.fromarray(rgb).resize((rw, rh), Image.BICUBIC) if (rh, rw) != (H, W) else Image.fromarray(rgb)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - CLIP_MEAN) / CLIP_STD  # (rh, rw, 3)
    x = x.transpose(2, 0, 1)[None]  # (1, 3, rh, rw)
    x = np.repeat(x, temporal_patch_size, axis=0)  # (T, 3, rh, rw): a still frame repeated in time
    gh, gw = rh // patch_size, rw // patch_size
    x = x.reshape(1, temporal_patch_size, 3, gh // merge_size, merge_size, patch_size,
                  gw // merge_size, merge_size, patch_size)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)  # (1, gh/m, gw/m, m, m, 3, T, ps, ps)
    x = x.reshape(gh * gw, 3 * temporal_patch_size * patch_size * patch_size)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor([[1, gh, gw]], dtype=torch.long)


def aux_pixel_values(rgb: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, size, size) float32, squashed, ImageNet-normalised (DaViT input)."""
    rgb = _check_rgb(rgb)
    img = Image.fromarray(rgb)
    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def boxes_to_aux(boxes_xyxy: np.ndarray, frame_hw: tuple[int, int], aux_size: int) -> np.ndarray:
    """Clamp (N, 4) frame-pixel boxes to the frame and scale them to the S x S auxiliary image."""
    H, W = frame_hw
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    b = np.stack([b[:, 0].clip(0, W), b[:, 1].clip(0, H), b[:, 2].clip(0, W), b[:, 3].clip(0, H)], axis=1)
    return (b * np.array([aux_size / W, aux_size / H, aux_size / W, aux_size / H])).astype(np.float32)


def prepare_frame(rgb: np.ndarray, boxes_xyxy: np.ndarray, cfg: FO1Config) -> FrameInputs:
    """A frame and its boxes (N, 4) xyxy in frame pixels -> `FrameInputs` for the model."""
    rgb = _check_rgb(rgb)
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(boxes).all():
        raise ValueError("boxes contain NaN or infinite coordinates")
    H, W = rgb.shape[:2]
    # The reference caps the long side at 2048 px (and lifts short sides to 28 px) first.
    scale = min(1.0, MAX_FRAME_SIDE / max(H, W))
    nh, nw = max(MIN_FRAME_SIDE, int(H * scale)), max(MIN_FRAME_SIDE, int(W * scale))
    if (nh, nw) != (H, W):
        resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BICUBIC))
        boxes = boxes * np.array([nw / W, nh / H, nw / W, nh / H])
    else:
        resized = rgb
    v = cfg.vision
    pv, grid = primary_pixel_values(resized, v.patch_size, v.spatial_merge_size, v.temporal_patch_size,
                                    cfg.image_min_pixels, cfg.image_max_pixels)
    aux = aux_pixel_values(resized, cfg.aux.image_size)[None]
    boxes_aux = torch.from_numpy(boxes_to_aux(boxes, (nh, nw), cfg.aux.image_size))
    return FrameInputs(pv, grid, aux, boxes_aux, (H, W), (nh, nw))
