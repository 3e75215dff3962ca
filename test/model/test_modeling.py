"""The FO1 model on tiny random configs: shapes, object tokens, region locality, positions, generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fo1_ros.model.config import FO1Config, preset
from fo1_ros.model.constants import IMAGE_SLOT, OBJECT_SLOT
from fo1_ros.model.modeling import EncodedFrame, FO1ForCausalLM
from fo1_ros.model.processing import prepare_frame
from fo1_ros.model.vision import QwenVisionTower


@pytest.fixture(scope="module")
def tiny() -> FO1ForCausalLM:
    torch.manual_seed(0)
    return FO1ForCausalLM(preset("fo1-tiny")).eval()


def _frame(model, seed=0, n_boxes=3, size=(96, 128)):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    boxes = np.array([[5, 5, 40, 30], [50, 20, 120, 90], [0, 0, 128, 96], [60, 60, 70, 70]][:n_boxes], float)
    inputs = prepare_frame(rgb, boxes, model.config)
    return model.encode_frames(inputs.pixel_values, inputs.grid_thw, inputs.aux_pixel_values, [inputs.boxes_aux])[0]


def _prompt(n_regions, text_ids=(20, 21, 22)):
    ids = [1, 30, 31, 3, IMAGE_SLOT, 4]
    for i in range(n_regions):
        ids += [7 + i, OBJECT_SLOT]
    return ids + list(text_ids)


def test_one_object_token_per_box_and_sequence_length(tiny):
    with torch.no_grad():
        frame = _frame(tiny, n_boxes=3)
    assert frame.object_tokens.shape == (3, tiny.config.text.hidden_size)
    n_img = frame.image_tokens.shape[0]
    assert n_img == int(frame.grid_thw[1] * frame.grid_thw[2]) // 4
    ids = _prompt(3)
    batch = tiny.splice([ids], [frame])
    assert batch.inputs_embeds.shape[1] == len(ids) - 1 + n_img
    assert int((batch.token_ids == OBJECT_SLOT).sum()) == 3
    # each object slot carries exactly its own object token, in order
    slots = torch.nonzero(batch.token_ids[0] == OBJECT_SLOT).flatten()
    torch.testing.assert_close(batch.inputs_embeds[0, slots], frame.object_tokens)


def test_forward_and_generate_shapes(tiny):
    with torch.no_grad():
        frame = _frame(tiny)
        batch = tiny.splice([_prompt(3)], [frame])
        out = tiny(batch.inputs_embeds, batch.position_ids, batch.attention_mask)
        assert out.logits.shape == (1, batch.inputs_embeds.shape[1], tiny.config.text.vocab_size)
        gen = tiny.generate(batch, 5, stop_token_ids=[])
    assert gen.sequences.shape == (1, 5) and gen.token_probs.shape == (1, 5)
    assert bool(((gen.token_probs > 0) & (gen.token_probs <= 1)).all())


def test_generation_with_cache_equals_full_recompute(tiny):
    with torch.no_grad():
        frame = _frame(tiny)
        batch = tiny.splice([_prompt(3)], [frame])
        gen = tiny.generate(batch, 4, stop_token_ids=[])
        # recompute greedily without a cache, one full forward per step
        ids = _prompt(3)
        for step in range(4):
            b = tiny.splice([ids], [frame])
            nxt = int(tiny(b.inputs_embeds, b.position_ids, b.attention_mask).logits[0, -1].argmax())
            assert nxt == int(gen.sequences[0, step]), f"step {step}"
            ids = ids + [nxt]


def test_left_padded_batch_generates_like_single_sequences(tiny):
    with torch.no_grad():
        f3, f1 = _frame(tiny, seed=1, n_boxes=3), _frame(tiny, seed=2, n_boxes=1)
        p3, p1 = _prompt(3, (20, 21, 22, 23, 24, 25)), _prompt(1, (40,))
        both = tiny.generate(tiny.splice([p3, p1], [f3, f1]), 6, stop_token_ids=[])
        one3 = tiny.generate(tiny.splice([p3], [f3]), 6, stop_token_ids=[])
        one1 = tiny.generate(tiny.splice([p1], [f1]), 6, stop_token_ids=[])
    assert torch.equal(both.sequences[0], one3.sequences[0])
    assert torch.equal(both.sequences[1], one1.sequences[0])
    torch.testing.assert_close(both.token_probs[1], one1.token_probs[0], rtol=1e-4, atol=1e-5)


def test_generation_stops_at_stop_token(tiny):
    with torch.no_grad():
        batch = tiny.splice([_prompt(2)], [_frame(tiny, n_boxes=2)])
        free = tiny.generate(batch, 6, stop_token_ids=[])
        stop_id = int(free.sequences[0, 2])
        gen = tiny.generate(batch, 6, stop_token_ids=[stop_id])
    first = int((free.sequences[0] == stop_id).nonzero()[0])
    assert bool(gen.stopped[0]) and int(gen.lengths[0]) == first + 1
    assert gen.sequences.shape[1] == first + 1


def test_zero_boxes_work(tiny):
    with torch.no_grad():
        frame = _frame(tiny, n_boxes=0)
        assert frame.object_tokens.shape[0] == 0
        batch = tiny.splice([_prompt(0)], [frame])
        gen = tiny.generate(batch, 3, stop_token_ids=[])
    assert gen.sequences.shape == (1, 3)


def test_too_many_boxes_is_a_clear_error(tiny):
    cfg = tiny.config
    boxes = [torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(cfg.max_regions + 1, 1)]
    with pytest.raises(ValueError, match=r"at most max_regions=100"):
        tiny.encode_regions(torch.zeros(1, 3, cfg.aux.image_size, cfg.aux.image_size), boxes, None,
                            torch.tensor([[1, 4, 4]]))


def test_slot_count_mismatch_is_an_error(tiny):
    with torch.no_grad():
        frame = _frame(tiny, n_boxes=3)
    with pytest.raises(ValueError, match="2 object slots but its frame has 3"):
        tiny.splice([_prompt(2)], [frame])


def test_image_tokens_get_3d_positions_and_objects_text_positions(tiny):
    with torch.no_grad():
        frame = _frame(tiny, n_boxes=2)
    batch = tiny.splice([_prompt(2)], [frame])
    pos = batch.position_ids[:, 0]  # (3, T)
    gh, gw = int(frame.grid_thw[1]) // 2, int(frame.grid_thw[2]) // 2
    start = 4  # 4 text tokens before the image
    img = pos[:, start:start + gh * gw]
    assert torch.equal(img[0], torch.full((gh * gw,), start))
    assert torch.equal(img[1], start + torch.arange(gh).repeat_interleave(gw))
    assert torch.equal(img[2], start + torch.arange(gw).repeat(gh))
    after = pos[:, start + gh * gw:]
    assert torch.equal(after[0], after[1]) and torch.equal(after[1], after[2])  # text positions
    assert int(after[0, 0]) == start + max(gh, gw)
    assert torch.equal(after[0], torch.arange(after.shape[1]) + start + max(gh, gw))


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


def test_fo1_3b_meta_build_has_official_module_tree():
    from fo1_ros.model.summary import build_meta, summarise

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


def test_simple_fpn_variant_builds_and_runs():
    cfg = preset("fo1-tiny")
    cfg = FO1Config.from_dict({**cfg.to_dict(), "mm_use_simpleFPN_for_vt": True, "simple_fpn_out_channels": 16})
    torch.manual_seed(0)
    model = FO1ForCausalLM(cfg).eval()
    assert cfg.region_hidden_size == sum(cfg.aux.dims) + 4 * 16
    names = [k for k in model.state_dict() if "simple_fpn" in k]
    assert any(k.startswith("model.object_vp_extractor.simple_fpn.simfp_1.4.norm") for k in names)
    with torch.no_grad():
        frame = _frame(model, n_boxes=2)
    assert frame.region_features.shape == (2, cfg.region_hidden_size)
    assert torch.isfinite(frame.object_tokens).all()


def test_text_only_sequence_splices_without_frame(tiny):
    batch = tiny.splice([[1, 2, 3]], [None])
    assert batch.inputs_embeds.shape[1] == 3
    assert torch.equal(batch.position_ids[:, 0], torch.arange(3).expand(3, 3))


def test_encoded_frame_dataclass_holds_tokens(tiny):
    with torch.no_grad():
        frame = _frame(tiny)
    assert isinstance(frame, EncodedFrame) and frame.region_features.shape[1] == tiny.config.region_hidden_size


def test_an_older_transformers_text_model_is_refused_by_name():
    from fo1_ros.model.modeling import check_transformers_api

    check_transformers_api()  # the installed one (pinned >= 5.24) passes

    def forward_5_17(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                     inputs_embeds=None, use_cache=None, **kwargs):
        pass

    with pytest.raises(ImportError, match=r"transformers>=5.24.*installed: .*no `cache` argument"):
        check_transformers_api(forward_5_17)
