"""fo1_ros/model/summary.py: parameter counts and key prefixes of the fo1-3b preset on the meta device."""

from __future__ import annotations

from fo1_ros.model.config import preset
from fo1_ros.model.summary import build_meta, summarise


def test_fo1_3b_meta_build_has_official_module_tree():
    model = build_meta(preset("fo1-3b"))
    info = summarise(model)
    per = info["per_module"]
    assert per["model.vision_tower_aux"] == 360_632_320  # DaViT-large (reference §7)
    assert info["region_hidden_size"] == 8960
    assert per["model.mm_projector_aux"] == 8960 * 2048 + 2048 + 2048 * 2048 + 2048
    assert len(model.model.layers) == 36 and len(model.model.vision_tower.image_tower.blocks) == 32
    assert model.lm_head.weight is model.model.embed_tokens.weight  # tied in Qwen2.5-VL-3B
    for prefix in ("model.embed_tokens.weight", "model.layers.{i}", "model.norm.weight",
                   "model.vision_tower.image_tower", "model.vision_tower_aux.image_tower",
                   "model.mm_projector.{i}", "model.mm_projector_aux.{i}"):
        assert prefix in info["key_prefixes"]
