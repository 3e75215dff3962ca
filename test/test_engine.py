"""Engine on a tiny random model: shared-prefix mode answers exactly like the naive reference mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fo1_ros.tasks as T
from fo1_ros.engine import Engine, EngineConfig, Frame
from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.model.tokenizer import train_tokenizer
from fo1_ros.proposals.base import Proposals

CORPUS = ["Please detect red cube in this image. Answer the question with object indexes.",
          "<ground>red cube</ground><objects><region3><region5></objects>",
          "How many balls are there? Provide a brief description for the region."] * 30


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    return FO1ForCausalLM(preset("fo1-tiny")).eval(), train_tokenizer(CORPUS, vocab_size=600)


def _frame(seed=0):
    rng = np.random.default_rng(seed)
    return Frame(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), stamp_ns=123)


BOXES = np.array([[5, 5, 40, 30], [50, 20, 120, 90], [0, 0, 160, 120], [60, 60, 70, 70]], float)


def _tasks():
    return [T.DetectTask(["red cube", "ball"]), T.CaptionTask(detail="brief"), T.CountTask(["balls"]),
            T.OCRTask([1, 2]), T.VQATask("What colour is {region}?", [3]), T.ReasoningTask("Which is larger?")]


def _texts(result):
    out = []
    for r in result.results:
        items = r if isinstance(r, list) else [r]
        for item in items:
            raw = item.raw_text
            out += raw if isinstance(raw, list) else [raw]
    return out


def test_shared_and_naive_modes_give_the_same_answers(parts):
    model, tok = parts
    shared = Engine(EngineConfig(mode="shared", device="cpu", max_batch=4), model=model, tokenizer=tok)
    naive = Engine(EngineConfig(mode="naive", device="cpu"), model=model, tokenizer=tok)
    a = shared.process(_frame(), _tasks(), boxes=BOXES)
    b = naive.process(_frame(), _tasks(), boxes=BOXES)
    assert a.n_questions == b.n_questions == 2 + 4 + 1 + 2 + 1 + 1
    assert _texts(a) == _texts(b)
    for key in ("proposals", "preprocess", "encode", "prefill", "decode", "parse", "total"):
        assert key in a.timings and a.timings[key] >= 0.0


def test_each_answer_respects_its_own_token_budget(parts):
    model, tok = parts
    eng = Engine(EngineConfig(mode="shared", device="cpu"), model=model, tokenizer=tok)
    state = eng.encode(_frame(1), boxes=BOXES)
    qs = [T.Question("Read <region0>.", 3), T.Question("Describe <region1>.", 11), T.Question("Hi", 1)]
    answers, _ = eng._answer_shared(state, qs)
    for q, a in zip(qs, answers):
        assert len(a.token_texts) <= q.max_new_tokens
        assert a.truncated == (len(a.token_texts) == q.max_new_tokens)


def test_given_boxes_keep_their_order_and_results_refer_to_them(parts):
    model, tok = parts
    eng = Engine(EngineConfig(device="cpu"), model=model, tokenizer=tok)
    res = eng.process(_frame(), [T.CaptionTask([2])], boxes=BOXES, box_scores=np.array([0.1, 0.9, 0.5, 0.7]))
    np.testing.assert_allclose(res.proposals.boxes, BOXES)
    np.testing.assert_allclose(res.results[0][0].boxes, BOXES[[2]])


def test_object_token_of_region_i_is_computed_from_box_i_in_any_box_order(parts):
    # the random model's answers ignore the object tokens, so check the tokens themselves against
    # each box encoded on its own (the region encoder treats boxes independently)
    model, tok = parts
    eng = Engine(EngineConfig(device="cpu"), model=model, tokenizer=tok)
    alone = torch.cat([eng.encode(_frame(), boxes=BOXES[[j]]).encoded.object_tokens for j in range(len(BOXES))])
    assert not torch.allclose(alone[0], alone[1], atol=1e-3)  # the boxes do give different tokens
    for order in (np.arange(len(BOXES)), np.array([1, 2, 0, 3])):
        state = eng.encode(_frame(), boxes=BOXES[order])
        np.testing.assert_allclose(state.ctx.boxes, BOXES[order])
        torch.testing.assert_close(state.encoded.object_tokens, alone[order], rtol=1e-5, atol=1e-5)


def test_too_many_boxes_and_bad_region_indices_are_errors(parts):
    model, tok = parts
    eng = Engine(EngineConfig(device="cpu"), model=model, tokenizer=tok)
    many = np.tile(np.array([[0, 0, 10, 10]], float), (101, 1))
    with pytest.raises(ValueError, match="at most 100"):
        eng.process(_frame(), [T.CaptionTask()], boxes=many)
    with pytest.raises(ValueError, match="out of range"):
        eng.process(_frame(), [T.CaptionTask([7])], boxes=BOXES)
    with pytest.raises(ValueError, match=r"boxes \[1\] are unusable"):
        eng.process(_frame(), [T.CaptionTask()], boxes=np.array([[0, 0, 10, 10], [5, 5, 5, 30]], float))


def test_proposal_source_output_is_filtered_and_capped(parts):
    model, tok = parts

    class Grid:
        name = "grid"

        def __call__(self, rgb, depth_m=None, K=None):
            xs = np.arange(0, 150, 3.0)
            boxes = np.stack([xs, xs * 0.5, xs + 10, xs * 0.5 + 10], 1)
            return Proposals(np.concatenate([boxes, [[1, 1, 1.5, 50]]]), np.linspace(1, 0.05, len(xs) + 1))

    eng = Engine(EngineConfig(device="cpu", max_regions=20), model=model, tokenizer=tok, proposal_source=Grid())
    state = eng.encode(_frame())
    assert len(state.proposals) == 20
    assert np.all(np.diff(state.proposals.scores) <= 0) and state.proposals.scores.min() >= 0.3
    assert state.encoded.object_tokens.shape[0] == 20


SHIPPED = __import__("fo1_ros.engine", fromlist=["DEFAULT_MODEL_DIR"]).DEFAULT_MODEL_DIR


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="the shipped model is not in fo1_ros/assets")
def test_shipped_model_shared_and_naive_agree_on_held_out_frames():
    from fo1_ros.proposals import make_proposal_source
    from fo1_ros.synth import make_scene

    shared = Engine(EngineConfig(mode="shared", device="cpu"), proposal_source=make_proposal_source("rgbd"))
    naive = Engine(EngineConfig(mode="naive", device="cpu"), model=shared.model, tokenizer=shared.tokenizer,
                   proposal_source=shared.proposal_source)
    for seed in (4_000_001, 4_000_002):
        s = make_scene(seed)
        frame = Frame(s.rgb, s.depth_m, s.K)
        tasks = [T.DetectTask(["cube", "red ball"]), T.CountTask(["cans"]), T.CaptionTask([0, 1]), T.OCRTask([0])]
        a, b = shared.process(frame, tasks), naive.process(frame, tasks)
        assert _texts(a) == _texts(b)
        assert a.objects_3d is not None and sum(o.has_3d for o in a.objects_3d) >= len(a.objects_3d) // 2


def _top_box_per_query(det, n_queries: int) -> list[int]:
    """The region each query's most probable detection names (-1 where it named none)."""
    out = []
    for q in range(n_queries):
        d = det.for_query(q)
        out.append(int(d.region_indices[np.argmax(d.model_scores)]) if len(d) else -1)
    return out


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="the shipped model is not in fo1_ros/assets")
def test_shipped_model_answers_follow_the_boxes_in_any_order_and_either_mode():
    """Each region-indexed answer must point at the box that holds the object, whatever order the
    boxes come in: an engine that pairs object tokens, region tags or parsed indices with the
    wrong boxes (in one mode, or in both) answers with someone else's box."""
    from fo1_ros.synth import make_scene

    scene = make_scene(4_100_004)  # held out; ten objects, each its own colour + shape
    objs = [o for o in scene.objects if o.visible_fraction >= 0.5]
    names = [f"{o.colour} {o.category}" for o in objs]
    assert len(objs) == 10 and len(set(names)) == len(names)
    boxes = np.array([o.box_2d for o in objs])  # (10, 4) ground truth, object i in row i
    perm = np.random.default_rng(0).permutation(len(objs))  # region r holds object perm[r]
    scores = np.linspace(0.5, 1.0, len(objs))[np.random.default_rng(1).permutation(len(objs))]  # unsorted
    shared = Engine(EngineConfig(mode="shared", device="cpu"))
    naive = Engine(EngineConfig(mode="naive", device="cpu"), model=shared.model, tokenizer=shared.tokenizer)
    runs = [(shared, np.arange(len(objs))), (shared, perm), (naive, perm)]
    for eng, order in runs:
        # captions (budget 40) ahead of detections (budget 34): shared mode decodes them reordered
        with_captions = eng is shared and order is perm
        tasks = ([T.CaptionTask()] if with_captions else []) + [T.DetectTask(names)]
        res = eng.process(Frame(scene.rgb), tasks, boxes=boxes[order], box_scores=scores)
        det = res.results[-1]
        found = [int(order[r]) if r >= 0 else -1 for r in _top_box_per_query(det, len(names))]
        # the shipped model's REC is about 0.8 on ground-truth boxes; a pairing bug lands near 0.1
        right = sum(f == i for i, f in enumerate(found))
        assert right >= 7, (eng.config.mode, order.tolist(), found)
        np.testing.assert_allclose(det.boxes, boxes[order][det.region_indices])
        np.testing.assert_allclose(det.proposal_scores, scores[det.region_indices])
        if with_captions:  # each caption is about its own box and names the colour of the object in it
            caps = res.results[0]
            assert [c.region_indices for c in caps] == [[r] for r in range(len(objs))]
            np.testing.assert_allclose(np.concatenate([c.boxes for c in caps]), boxes[order])
            colours = sum(objs[order[r]].colour in c.text.split() for r, c in enumerate(caps))
            assert colours >= 8, [c.text for c in caps]
