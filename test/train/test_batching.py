"""Packed batches: the block mask makes each QA a single-turn question; auxiliary losses; the loader."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch

from fo1_ros.model.config import preset
from fo1_ros.model.constants import IGNORE_INDEX
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.model.processing import prepare_frame
from fo1_ros.model.prompt import PromptBuilder
from fo1_ros.model.tokenizer import train_tokenizer
from fo1_ros.synth import SceneConfig, make_scene
from fo1_ros.synth.questions import TASKS, QAGenerator
from fo1_ros.train.attention import HEAD_PROBS_ATTENTION, PROB_HEADS_ATTR
from fo1_ros.train.batching import BatchLoader, forward_examples, make_example
from fo1_ros.train.config import STAGE2_WEIGHTS, StageConfig, TrainConfig
from fo1_ros.train.data import Example, build_regions
from fo1_ros.train.losses import attention_slots
from fo1_ros.train.pool import FramePool, PoolFrame, build_pool
from fo1_ros.train.vision_pretrain import RegionHeads


def test_packed_segments_equal_separate_single_turn_sequences(three_scenes):
    """The block mask makes each packed QA exactly a single-turn question (as the engine asks it)."""
    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny")).eval()
    tok = train_tokenizer(["Please detect red cube in this image.", "<ground>cube</ground><objects><region1>",
                           "What colour is it? red blue"] * 20, vocab_size=600)
    pb = PromptBuilder(tok)
    scene = three_scenes[2]
    boxes = np.array([o.box_2d for o in scene.objects[:3]], dtype=np.float64)
    prefix = pb.build("", 3).prefix
    qs = [("Please detect red cube in this image.", "<ground>red cube</ground><objects><region1></objects>"),
          ("What colour is <region0>?", "red")]
    segs = []
    for q, a in qs:
        suffix, ans = pb.build(q, 3).suffix, pb.answer_ids(a)
        segs.append((suffix + ans, [IGNORE_INDEX] * len(suffix) + ans))
    with torch.no_grad():
        packed = forward_examples(model, [Example(scene.rgb, boxes, prefix, segs)])
        # separately: mean of per-token losses over both questions
        inputs = prepare_frame(scene.rgb, boxes, model.config)
        enc = model.encode_frames(inputs.pixel_values, inputs.grid_thw, inputs.aux_pixel_values, [inputs.boxes_aux])[0]
        total, n = 0.0, 0
        for ids, labels in segs:
            b = model.splice([prefix + ids], [enc], labels=[[IGNORE_INDEX] * len(prefix) + labels],
                             padding_side="right")
            out = model(b.inputs_embeds, b.position_ids, b.attention_mask, labels=b.labels)
            k = int((b.labels[:, 1:] != IGNORE_INDEX).sum())
            total, n = total + float(out.loss) * k, n + k
    assert abs(float(packed) - total / n) < 1e-4


def _example_citing_regions(scene, weights: dict, seed: int):
    """A packed training example (up to 3 ground-truth regions, 4 questions) and its tokenizer."""

    tok = train_tokenizer(["Please briefly describe <region0>. What colour is it? a red cube"] * 20, vocab_size=600)
    cfg = TrainConfig(model=preset("fo1-tiny"), use_proposer=False, qa_per_frame=4)
    frame = PoolFrame(seed=0, scene=scene, rgb=scene.rgb, proposal_boxes=np.zeros((0, 4)), proposal_scores=np.zeros(0))
    ex = make_example(frame, np.random.default_rng(seed), PromptBuilder(tok), weights, cfg, max_objects=3)
    return ex, tok


def test_binding_loss_reaches_the_language_model(three_scenes):
    """forward_examples with binding heads returns the answer and binding losses; the binding
    targets sit on <regionK> tokens, the loss is finite and sends gradient into the language model."""

    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny"))
    ex, tok = _example_citing_regions(three_scenes[1], {"vqa": 1.0, "caption_brief": 1.0}, seed=0)
    assert ex.bind and all(0 <= k < len(ex.segments) for k, _, _ in ex.bind)
    for k, t, _ in ex.bind:
        assert tok.convert_ids_to_tokens(ex.segments[k][0][t]).startswith("<region")
    heads = RegionHeads(model.config.text.hidden_size)
    per_task = {}
    losses = forward_examples(model, [ex], per_task, heads)
    answer, bind = losses["answer"], losses["binding"]
    assert torch.isfinite(answer) and torch.isfinite(bind) and float(bind.detach()) > 0
    assert float(losses["attention"]) == 0 and per_task["_binding"][1] == 1
    bind.backward()
    g = model.model.layers[0].self_attn.v_proj.weight.grad
    assert g is not None and float(g.abs().sum()) > 0


def test_attention_loss_needs_head_probs_and_keeps_the_answer_loss(three_scenes):
    """SDPA + the supervised heads' probabilities (HEAD_PROBS_ATTENTION) gives the eager path's
    answer loss, attention losses and gradients; plain sdpa refuses the attention loss; the
    answer loss is the one without the attention loss."""

    ex, _ = _example_citing_regions(three_scenes[2], {"vqa": 1.0, "detect": 1.0}, seed=1)
    assert ex.cites
    torch.manual_seed(0)
    sdpa = FO1ForCausalLM(preset("fo1-tiny"))
    models = {impl: FO1ForCausalLM(preset("fo1-tiny"), attn_implementation=impl)
              for impl in ("eager", HEAD_PROBS_ATTENTION)}
    for m in models.values():
        m.load_state_dict(sdpa.state_dict())
    plain = forward_examples(sdpa, [ex])
    with pytest.raises(RuntimeError, match=HEAD_PROBS_ATTENTION):
        forward_examples(sdpa, [ex], attention=True)
    losses, grads = {}, {}
    for impl, m in models.items():
        losses[impl] = forward_examples(m, [ex], attention=True)
        (losses[impl]["attention"] + losses[impl]["pointer"]).backward()
        grads[impl] = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
        losses[impl] = {k: v.detach() for k, v in losses[impl].items()}
        assert not any(hasattr(m.model.layers[i].self_attn, PROB_HEADS_ATTR) for i in range(len(m.model.layers)))
    eager, probs = losses["eager"], losses[HEAD_PROBS_ATTENTION]
    assert abs(plain.item() - eager["answer"].item()) < 1e-4 and abs(plain.item() - probs["answer"].item()) < 1e-4
    assert torch.isfinite(eager["attention"]) and float(eager["attention"]) > 0
    assert float(eager["pointer"]) > 0  # the detection answers name regions
    for name in ("attention", "pointer"):
        assert abs(float(eager[name]) - float(probs[name])) < 1e-4, name
    (layer, _), _, _ = attention_slots(models["eager"])
    q = f"model.layers.{layer}.self_attn.q_proj.weight"
    assert float(grads["eager"][q].abs().sum()) > 0
    assert grads["eager"].keys() == grads[HEAD_PROBS_ATTENTION].keys()
    for n, g in grads["eager"].items():
        assert torch.allclose(g, grads[HEAD_PROBS_ATTENTION][n], atol=1e-5, rtol=1e-3), n


def test_batch_loader_workers_make_the_same_batches_as_inline(tmp_path):
    scene = SceneConfig()
    scene.width, scene.height = 160, 120
    frames = FramePool(build_pool(tmp_path / "pool", list(range(6)), scene, workers=1, use_proposer=False))
    cfg = TrainConfig(model=preset("fo1-tiny"), qa_per_frame=3, batch_size=3, use_proposer=False)
    words = [w for qa in QAGenerator(make_scene(0, scene), build_regions(make_scene(0, scene), np.random.default_rng(0),
                                                                          cfg.regions), np.random.default_rng(0))
             .sample({t: 1.0 for t in TASKS}, 30) for w in (qa.question, qa.answer)]
    prompts = PromptBuilder(train_tokenizer(words, vocab_size=600))
    stage = StageConfig(5, 1e-3, dict(STAGE2_WEIGHTS))

    def run(workers):
        return list(BatchLoader(frames, prompts, cfg.model, cfg, 2, stage, workers=workers, ahead=2).batches(1, 5))

    inline, forked = run(0), run(2)
    assert [s for s, _ in inline] == [s for s, _ in forked] == [1, 2, 3, 4]
    for (_, a), (_, b) in zip(inline, forked):
        assert len(a) == len(b) == 3
        for x, y in zip(a, b):
            assert x.prefix == y.prefix and x.segments == y.segments and x.tasks == y.tasks
            assert np.array_equal(x.boxes, y.boxes)
            assert torch.equal(x.inputs.pixel_values, y.inputs.pixel_values)
    # different steps are different batches
    assert inline[0][1][0].segments != inline[1][1][0].segments
    # the workers end with the generator, also when it is left early

    gen = BatchLoader(frames, prompts, cfg.model, cfg, 2, stage, workers=2).batches(0, 5)
    next(gen)
    assert multiprocessing.active_children()
    gen.close()
    assert not multiprocessing.active_children()
