"""fo1_ros/model/region.py: the HFRE region encoder reads only the features under a box."""

from __future__ import annotations

import torch

from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM


def test_region_feature_locality_is_exact():
    """HFRE reads only the feature-map cells under a box: moving the box changes the feature,
    changing cells outside its bilinear footprint does not (bit-exact)."""
    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny")).eval()
    hfre = model.model.object_vp_extractor
    cfg = model.config
    S = cfg.aux.image_size
    aux_maps = [torch.randn(1, c, S // 4 // 2 ** i, S // 4 // 2 ** i) for i, c in enumerate(cfg.aux.dims)]
    L = len(cfg.vision.fullatt_block_indexes)
    vt = [torch.randn(1, cfg.vision.hidden_size, 8, 8) for _ in range(L)]
    box_aux = torch.tensor([[8.0, 8.0, 40.0, 40.0]])
    box_vt = box_aux * (8 * 14) / S
    with torch.no_grad():
        base = hfre(aux_maps, box_aux, vt, box_vt)
        moved = hfre(aux_maps, box_aux + 30, vt, box_vt + 30 * (8 * 14) / S)
        assert (base - moved).abs().max() > 1e-3
        far_aux = [m.clone() for m in aux_maps]
        far_aux[0][..., -2:, -2:] += 100.0  # stride-4 cells far below/right of the box
        far_vt = [v.clone() for v in vt]
        far_vt[0][..., -1, -1] += 100.0
        assert torch.equal(base, hfre(far_aux, box_aux, far_vt, box_vt))
        near_aux = [m.clone() for m in aux_maps]
        near_aux[0][..., 5, 5] += 100.0  # a cell inside the box
        assert (base - hfre(near_aux, box_aux, vt, box_vt)).abs().max() > 1e-3
