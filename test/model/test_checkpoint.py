"""Checkpoint folders: official names both ways, save/load round trip, clear errors on mismatch."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fo1_ros.model.checkpoint import CheckpointError, internal_to_official, load_model, official_to_internal, save_model
from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM

OFFICIAL_DAVIT_KEYS = [
    "model.vision_tower_aux.image_tower.convs.0.proj.weight",
    "model.vision_tower_aux.image_tower.convs.2.norm.bias",
    "model.vision_tower_aux.image_tower.blocks.2.3.spatial_block.conv1.fn.dw.weight",
    "model.vision_tower_aux.image_tower.blocks.0.0.spatial_block.window_attn.norm.weight",
    "model.vision_tower_aux.image_tower.blocks.0.0.spatial_block.window_attn.fn.qkv.bias",
    "model.vision_tower_aux.image_tower.blocks.1.0.channel_block.channel_attn.norm.bias",
    "model.vision_tower_aux.image_tower.blocks.1.0.channel_block.channel_attn.fn.proj.weight",
    "model.vision_tower_aux.image_tower.blocks.1.0.channel_block.conv2.fn.dw.bias",
    "model.vision_tower_aux.image_tower.blocks.3.0.channel_block.ffn.norm.weight",
    "model.vision_tower_aux.image_tower.blocks.3.0.channel_block.ffn.fn.net.fc2.weight",
]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return FO1ForCausalLM(preset("fo1-tiny")).eval()


def test_name_map_round_trips_every_parameter(tiny):
    for key in tiny.state_dict():
        official = internal_to_official(key)
        assert official_to_internal(official) == key, key
    own = set(tiny.state_dict())
    for key in OFFICIAL_DAVIT_KEYS:
        internal = official_to_internal(key)
        assert internal_to_official(internal) == key
        assert (internal == key) == key.endswith("convs.2.norm.bias")  # the only name both trees share
    # the six renames of reference §7, spot-checked
    assert official_to_internal(OFFICIAL_DAVIT_KEYS[0]).endswith("convs.0.conv.weight")
    assert official_to_internal(OFFICIAL_DAVIT_KEYS[3]).endswith("spatial_block.norm1.weight")
    assert official_to_internal(OFFICIAL_DAVIT_KEYS[9]).endswith("channel_block.ffn.fc2.weight")
    assert "model.vision_tower_aux.image_tower.blocks.0.0.spatial_block.norm1.weight" in own


def test_save_then_load_gives_identical_logits(tiny, tmp_path):
    save_model(tiny, tmp_path)
    saved = load_file(str(tmp_path / "model.safetensors"))
    aux = [k for k in saved if k.startswith("model.vision_tower_aux.")]
    assert any(".fn.dw." in k for k in aux) and not any(".norm1." in k for k in aux)  # official names
    loaded = load_model(tmp_path)
    emb = torch.randn(1, 7, tiny.config.text.hidden_size)
    pos = torch.arange(7).expand(3, 1, 7)
    mask = torch.ones(1, 7, dtype=torch.long)
    with torch.no_grad():
        torch.testing.assert_close(loaded(emb, pos, mask).logits, tiny(emb, pos, mask).logits, rtol=0, atol=0)
    for (k, a), b in zip(tiny.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k


def test_missing_key_is_named(tiny, tmp_path):
    save_model(tiny, tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    victim = "model.vision_tower_aux.image_tower.blocks.0.0.spatial_block.window_attn.fn.qkv.weight"
    del tensors[victim]
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \(1\).*" + victim.replace(".", r"\.")):
        load_model(tmp_path)


def test_wrong_shape_and_unexpected_keys_are_named(tiny, tmp_path):
    save_model(tiny, tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    tensors["model.mm_projector_aux.0.weight"] = torch.zeros(3, 3)
    tensors["model.some_extra.weight"] = torch.zeros(2)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path)
    msg = str(err.value)
    assert "model.mm_projector_aux.0.weight: checkpoint (3, 3)" in msg
    assert "unexpected (1): model.some_extra.weight" in msg


def test_pickle_weights_are_refused(tmp_path):
    preset("fo1-tiny").save_json(tmp_path / "config.json")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(CheckpointError, match="pickle"):
        load_model(tmp_path)


def test_unknown_folder_and_bad_config_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(tmp_path)


def test_config_region_width_mismatch_is_rejected(tmp_path):
    d = preset("fo1-tiny").to_official_dict()
    d["mm_region_hidden_size"] += 8
    (tmp_path / "config.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="mm_region_hidden_size"):
        load_model(tmp_path)
