"""The FO1 model on tiny random configs: shapes, object tokens, region locality, positions, generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fo1_ros.model.config import FO1Config, preset
from fo1_ros.model.constants import IMAGE_SLOT, OBJECT_SLOT
from fo1_ros.model.modeling import EncodedFrame, FO1ForCausalLM, check_transformers_api
from fo1_ros.model.processing import prepare_frame


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
    check_transformers_api()  # the installed one (pinned >= 5.24) passes

    def forward_5_17(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                     inputs_embeds=None, use_cache=None, **kwargs):
        pass

    with pytest.raises(ImportError, match=r"transformers>=5.24.*installed: .*no `cache` argument"):
        check_transformers_api(forward_5_17)
