"""FO1Config: validation, dict round trips, the official config.json format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fo1_ros.model.config import AuxConfig, FO1Config, TextConfig, preset

# The reference vector set kept in the repository (test/fixtures/fo1-vectors/README.md).
REFERENCE_CONFIG = Path(__file__).resolve().parents[1] / "fixtures/fo1-vectors/A/config.json"


@pytest.mark.parametrize("name", ["fo1-3b", "fo1-small", "fo1-tiny"])
def test_dict_and_official_round_trips(name):
    cfg = preset(name)
    assert FO1Config.from_dict(cfg.to_dict()) == cfg
    assert FO1Config.from_official_dict(json.loads(json.dumps(cfg.to_official_dict()))) == cfg


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"'hiden_size' is not a key of TextConfig \(did you mean 'hidden_size'\?\)"):
        TextConfig.from_dict({"hiden_size": 3})
    with pytest.raises(ValueError, match="unknown keys"):
        FO1Config.from_dict({"text": {"vocab_size": 10, "bogus": 1}})


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="mrope_section"):
        TextConfig(hidden_size=64, num_attention_heads=2, mrope_section=[4, 4, 4])
    with pytest.raises(ValueError, match="aspect_ratio"):
        AuxConfig(aspect_ratio="dynamic")
    with pytest.raises(ValueError, match="mm_projector_type"):
        FO1Config(mm_projector_type="mlp2x_relu")
    with pytest.raises(TypeError, match="FO1Config.text"):
        FO1Config(text=3)


def test_nested_configs_accept_dicts():
    cfg = FO1Config(text={"vocab_size": 2048})
    assert isinstance(cfg.text, TextConfig) and cfg.text.vocab_size == 2048


def test_fo1_3b_official_sizes():
    cfg = preset("fo1-3b")
    assert cfg.region_hidden_size == 8960
    assert cfg.aux.dims == [256, 512, 1024, 2048] and cfg.aux.depths == [1, 1, 9, 1]
    d = cfg.to_official_dict()
    assert d["mm_vision_tower_aux"] == "davit-large" and "mm_vision_tower_aux_config" not in d
    assert d["vision_config"]["fullatt_block_indexes"] == [7, 15, 23, 31]


def test_reads_the_reference_config_json():
    cfg = FO1Config.from_json_file(REFERENCE_CONFIG)
    assert cfg.region_hidden_size == 736
    assert cfg.aux.dims == [32, 64, 128, 256] and cfg.aux.image_size == 768
    assert cfg.text.mrope_section == [4, 6, 6] and cfg.mm_apply_region_layer_norm
    assert cfg.image_token_id == 990 and cfg.vision_start_token_id == 992
