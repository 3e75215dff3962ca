"""fo1_ros/model/vision.py: the ViT tower's multi-level features (restored grid, per-model hooks)."""

from __future__ import annotations

import torch

from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.model.vision import QwenVisionTower


def test_restored_vit_grid_matches_unwindowed_run():
    """With every block full-attention the ViT output does not depend on token order, so a
    model that windows (permutes) and one that does not must give the same restored grid;
    the un-windowed run's tokens laid on the grid by hand are the reference."""
    cfg = preset("fo1-tiny").vision
    cfg_win = type(cfg)(**{**cfg.to_dict(), "window_size": 56, "fullatt_block_indexes": [0, 1]})
    cfg_flat = type(cfg)(**{**cfg.to_dict(), "window_size": 14 * 2 * 64, "fullatt_block_indexes": [0, 1]})
    torch.manual_seed(0)
    win = QwenVisionTower(cfg_win, attn_implementation="eager").eval()
    flat = QwenVisionTower(cfg_flat, attn_implementation="eager").eval()
    flat.load_state_dict(win.state_dict())
    grid = torch.tensor([[1, 12, 16]])
    pv = torch.randn(12 * 16, 3 * 2 * 14 * 14)
    with torch.no_grad():
        a = win(pv, grid).levels[0]
        raw = []
        h = flat.image_tower.blocks[1].register_forward_hook(lambda m, i, o: raw.append(o))
        b = flat(pv, grid).levels[0]
        h.remove()
    for la, lb in zip(a, b):
        torch.testing.assert_close(la, lb, rtol=1e-4, atol=1e-5)
    # hand layout of the un-windowed sequence: merge unit u=(i, j) holds patches (2i+di, 2j+dj)
    seq = raw[-1]  # (P, C) in merge-unit order (no window permutation with one window)
    manual = torch.zeros(cfg.hidden_size, 12, 16)
    for u in range(seq.shape[0] // 4):
        i, j = divmod(u, 16 // 2)
        for k in range(4):
            di, dj = divmod(k, 2)
            manual[:, 2 * i + di, 2 * j + dj] = seq[4 * u + k]
    torch.testing.assert_close(b[1][0], manual)


def test_two_models_in_one_process_do_not_share_captured_features():
    torch.manual_seed(1)
    m1 = FO1ForCausalLM(preset("fo1-tiny")).eval()
    torch.manual_seed(2)
    m2 = FO1ForCausalLM(preset("fo1-tiny")).eval()
    grid = torch.tensor([[1, 8, 8]])
    pv = torch.randn(64, 3 * 2 * 14 * 14)
    with torch.no_grad():
        l1 = m1.model.vision_tower(pv, grid).levels[0]
        l2 = m2.model.vision_tower(pv, grid).levels[0]
        l1_again = m1.model.vision_tower(pv, grid).levels[0]
    assert len(l1) == len(l2) == len(m1.config.vision.fullatt_block_indexes)
    assert all(torch.equal(a, b) for a, b in zip(l1, l1_again))
    assert not torch.equal(l1[0], l2[0])
