"""Training data and the packed-sequence trainer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from fo1_ros.model.checkpoint import load_model
from fo1_ros.model.config import preset
from fo1_ros.model.constants import IGNORE_INDEX
from fo1_ros.model.modeling import EncodedFrame, FO1ForCausalLM
from fo1_ros.model.processing import prepare_frame
from fo1_ros.model.prompt import PromptBuilder
from fo1_ros.model.tokenizer import train_tokenizer
from fo1_ros.synth import make_scene
from fo1_ros.train.data import TASKS, QAGenerator, build_regions
from fo1_ros.train.trainer import (STAGE1_WEIGHTS, STAGE2_WEIGHTS, Example, StageConfig, TrainConfig, forward_examples,
                                   train)
from fo1_ros.train.vision_pretrain import VisionPretrainConfig
from fo1_ros.tasks import Answer, CountTask, DetectTask, RegionContext

SEEDS = [11, 12, 13]


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(s) for s in SEEDS]


def test_generated_answers_agree_with_ground_truth(scenes):
    for scene in scenes:
        rng = np.random.default_rng(0)
        regions = build_regions(scene, rng)
        gen = QAGenerator(scene, regions, rng)
        ctx = RegionContext(regions.boxes, regions.scores)
        for _ in range(10):
            qa = gen.detect()
            query = qa.question.split("Please detect ")[1].split(" in this image")[0]
            dets = DetectTask([query]).parse([Answer(qa.answer)], ctx)
            named = {int(i) for i in dets.region_indices}
            assert all(regions.primary[i] >= 0 for i in named)  # only primary boxes are named
            words = query.split()
            for i in named:
                o = scene.objects[regions.primary[i]]
                assert o.colour in words or o.size_class in words or o.category.rstrip("s") in query
            qa = gen.count()
            res = CountTask([qa.question.split("How many ")[1].split(" are there")[0]]).parse([Answer(qa.answer)], ctx)[0]
            assert res.consistent and res.count == len(res.region_indices)


def test_generator_is_deterministic_and_covers_every_task(scenes):
    scene = scenes[0]

    def run(seed):
        rng = np.random.default_rng(seed)
        gen = QAGenerator(scene, build_regions(scene, rng), rng)
        return [(qa.task, qa.question, qa.answer) for qa in gen.sample({t: 1.0 for t in TASKS}, 40, max_tries=200)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert {t for t, _, _ in run(5)} >= set(TASKS) - {"reasoning"}


def test_every_primary_region_is_the_best_box_of_its_object(scenes):
    from fo1_ros.model.ops import box_iou

    scene = scenes[1]
    regions = build_regions(scene, np.random.default_rng(3))
    gt = torch.tensor(np.array([o.box_2d for o in scene.objects], dtype=np.float64))
    iou = box_iou(torch.tensor(regions.boxes), gt).numpy()
    for o, r in regions.region_of.items():
        assert iou[r, o] >= 0.5 and iou[r, o] == iou[regions.match == o, o].max()


def test_packed_segments_equal_separate_single_turn_sequences(scenes):
    """The block mask makes each packed QA exactly a single-turn question (as the engine asks it)."""
    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny")).eval()
    tok = train_tokenizer(["Please detect red cube in this image.", "<ground>cube</ground><objects><region1>",
                           "What colour is it? red blue"] * 20, vocab_size=600)
    pb = PromptBuilder(tok)
    scene = scenes[2]
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
            b = model.splice([prefix + ids], [enc], labels=[[IGNORE_INDEX] * len(prefix) + labels], padding_side="right")
            out = model(b.inputs_embeds, b.position_ids, b.attention_mask, labels=b.labels)
            k = int((b.labels[:, 1:] != IGNORE_INDEX).sum())
            total, n = total + float(out.loss) * k, n + k
    assert abs(float(packed) - total / n) < 1e-4


def test_tiny_training_run_writes_a_loadable_model_and_resumes(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=12, use_proposer=False, qa_per_frame=3,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1, heldout_frames=2),
                      stage1=StageConfig(3, 1e-3, dict(STAGE1_WEIGHTS), warmup=1, curriculum=[(0.5, 1)]),
                      stage2=StageConfig(3, 1e-3, dict(STAGE2_WEIGHTS), warmup=1), log_every=1, checkpoint_every=2)
    cfg.scene.width, cfg.scene.height = 160, 120
    run, out = tmp_path / "run", tmp_path / "model"
    train(cfg, run, out)
    model = load_model(out)
    assert model.config.text.vocab_size > 500
    info = json.loads((out / "training_info.json").read_text())
    assert info["train_config"]["stage2"]["steps"] == 3
    state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
    assert state["stage"] == 3  # both stages done
    scored = [h["heldout_acc"] for h in state["history"] if "heldout_acc" in h]
    assert len(scored) == 1 and all(0.0 <= scored[0][k] <= 1.0 for k in ("colour", "category", "size_class"))
    # resuming a finished run does no more steps and rewrites the same weights
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(cfg, run, out)
    after = load_model(out).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_export_checkpoint_writes_the_run_as_a_model_folder_and_says_where_it_stopped(tmp_path, capsys):
    from fo1_ros.train.trainer import export_checkpoint, main

    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=4, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=0, heldout_frames=0),
                      stage1=StageConfig(1, 1e-3, dict(STAGE1_WEIGHTS)), stage2=StageConfig(2, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    run = tmp_path / "run"
    trained = load_model(train(cfg, run, tmp_path / "model")).state_dict()
    exported = load_model(export_checkpoint(run, tmp_path / "exported")).state_dict()
    assert trained.keys() == exported.keys() and all(torch.equal(trained[k], exported[k]) for k in trained)
    info = json.loads((tmp_path / "exported" / "training_info.json").read_text())
    assert info["complete"] and info["stopped_at"] == {"stage": 3, "step": 0}
    assert info["train_config"]["stage2"]["steps"] == 2
    assert (tmp_path / "exported" / "tokenizer.json").read_text() == (tmp_path / "model" / "tokenizer.json").read_text()
    # a checkpoint of a run stopped in stage 2 (as a timeout leaves it), given as the checkpoint folder itself
    state_file = run / "checkpoint" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "stage": 2, "step": 1}))
    assert main(["--run-dir", str(run / "checkpoint"), "--out", str(tmp_path / "cut"), "--export-checkpoint"]) == 0
    info = json.loads((tmp_path / "cut" / "training_info.json").read_text())
    assert not info["complete"] and info["stopped_at"] == {"stage": 2, "step": 1}
    with pytest.raises(SystemExit) as exit_info:
        main(["--run-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "none"), "--export-checkpoint"])
    assert exit_info.value.code == 2 and "no training checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
    with pytest.raises(SystemExit) as exit_info:  # never onto the shipped model by default
        main(["--run-dir", str(run), "--export-checkpoint"])
    assert exit_info.value.code == 2 and "needs --out" in capsys.readouterr().err


def test_seeded_previous_token_head_attends_to_the_previous_token():
    """After seed_previous_token_head, layer 0 / head 0 puts nearly all attention on position t-1
    whatever the tokens (random embeddings, text positions as object tokens get them)."""
    from fo1_ros.train.trainer import seed_previous_token_head

    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny"), attn_implementation="eager").eval()
    T = 24
    x = torch.randn(1, T, model.config.text.hidden_size)
    pos = torch.arange(5, 5 + T)[None, None].expand(3, 1, T)

    def head0():
        out = model.model(inputs_embeds=x, position_ids=pos, output_attentions=True)
        return out.attentions[0][0, 0]  # (T, T) of layer 0, head 0

    before = head0()
    seed_previous_token_head(model)
    after = head0()
    prev = torch.diagonal(after, offset=-1)
    assert prev.min() > 0.9, prev
    assert torch.diagonal(before, offset=-1).mean() < 0.5  # random init does not do this by itself
    other = model.model.layers[0].self_attn.q_proj.weight[model.config.text.head_dim:]
    assert other.abs().sum() > 0  # the other heads keep their weights


def test_binding_targets_name_the_matched_object_of_each_cited_region(scenes):
    """Every <regionK> after the prefix whose region K is a box of an object carries that object;
    regions without an object (distractors) carry nothing."""
    from fo1_ros.train.trainer import binding_targets

    scene = scenes[0]
    objs = scene.objects
    match = np.array([2, -1, 0])
    cites = [(0, 1, 0, True), (0, 3, 1, True), (1, 0, 2, False)]  # (segment, offset, K, in the question)
    got = binding_targets(cites, match, objs)
    assert got == [(0, 1, objs[2]), (1, 0, objs[0])]
    assert binding_targets([(0, 0, 7, False)], match, objs) == []  # a region index past the list


def _example_citing_regions(scene, weights: dict, seed: int):
    """A packed training example (up to 3 ground-truth regions, 4 questions) and its tokenizer."""
    from fo1_ros.train.pool import PoolFrame
    from fo1_ros.train.trainer import make_example

    tok = train_tokenizer(["Please briefly describe <region0>. What colour is it? a red cube"] * 20, vocab_size=600)
    cfg = TrainConfig(model=preset("fo1-tiny"), use_proposer=False, qa_per_frame=4)
    frame = PoolFrame(seed=0, scene=scene, rgb=scene.rgb, proposal_boxes=np.zeros((0, 4)), proposal_scores=np.zeros(0))
    ex = make_example(frame, np.random.default_rng(seed), PromptBuilder(tok), weights, cfg, max_objects=3)
    return ex, tok


def test_binding_loss_reaches_the_language_model(scenes):
    """forward_examples with binding heads returns the answer and binding losses; the binding
    targets sit on <regionK> tokens, the loss is finite and sends gradient into the language model."""
    from fo1_ros.train.vision_pretrain import RegionHeads

    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny"))
    ex, tok = _example_citing_regions(scenes[1], {"vqa": 1.0, "caption_brief": 1.0}, seed=0)
    assert ex.bind and all(0 <= k < len(ex.segments) for k, _, _ in ex.bind)
    for k, t, o in ex.bind:
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


def test_attention_targets_point_at_the_cited_object_carry_it_and_point_at_named_ones():
    from fo1_ros.train.trainer import attention_targets

    # segment 0: question cites region 2 at offset 3, answer (from offset 6) names nothing;
    # segment 1: question cites region 0, answer names region 1 -> no carry targets
    segs = [([0] * 9, [-100] * 6 + [1] * 3), ([0] * 5, [-100] * 3 + [1] * 2)]
    e = Example(np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4)), [], segs,
                cites=[(0, 3, 2, True), (1, 1, 0, True), (1, 3, 1, False)])
    starts = {(0, 0): 100, (0, 1): 109}
    induction, carry, pointer = attention_targets(e, [50, 52, 54], starts, 0)
    assert induction == [(103, [54]), (110, [50]), (112, [52])]
    assert carry == [(p, [103]) for p in range(104, 108)]
    assert pointer == [(111, [52])]  # the position before the answer's <region1>
    # a group of three answer regions (offsets 4, 5, 6) then another group (offset 8)
    e2 = Example(e.rgb, e.boxes, [], [([0] * 10, [-100] * 3 + [1] * 7)],
                 cites=[(0, 4, 2, False), (0, 5, 0, False), (0, 6, 1, False), (0, 8, 0, False)])
    _, carry2, pointer2 = attention_targets(e2, [50, 52, 54], {(0, 0): 10}, 0)
    assert carry2 == []
    assert pointer2 == [(13, [54, 50, 52]), (14, [50, 52]), (15, [52]), (17, [50])]


def test_attention_loss_needs_head_probs_and_keeps_the_answer_loss(scenes):
    """SDPA + the supervised heads' probabilities (HEAD_PROBS_ATTENTION) gives the eager path's
    answer loss, attention losses and gradients; plain sdpa refuses the attention loss; the
    answer loss is the one without the attention loss."""
    from fo1_ros.train.attention import HEAD_PROBS_ATTENTION, PROB_HEADS_ATTR
    from fo1_ros.train.trainer import attention_slots

    ex, _ = _example_citing_regions(scenes[2], {"vqa": 1.0, "detect": 1.0}, seed=1)
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


def test_init_vision_from_copies_the_vision_side_only(tmp_path):
    from fo1_ros.model.checkpoint import save_model
    from fo1_ros.train.trainer import init_vision_from

    torch.manual_seed(0)
    src = FO1ForCausalLM(preset("fo1-tiny"))
    save_model(src, tmp_path / "src")
    torch.manual_seed(1)
    dst = FO1ForCausalLM(preset("fo1-tiny"))
    n = init_vision_from(dst, tmp_path / "src")
    a, b = src.state_dict(), dst.state_dict()
    assert n > 0
    for k in a:
        vision = k.startswith(("model.vision_tower", "model.object_vp_extractor", "model.mm_projector"))
        if vision:
            assert torch.equal(a[k], b[k]), k
        elif a[k].ndim >= 2:  # randomly initialised language-model weights stay the receiver's own
            assert not torch.equal(a[k], b[k]), k
    with pytest.raises(ValueError, match="no model.safetensors"):
        init_vision_from(dst, tmp_path)


def test_refine_vision_continues_stage_0_from_the_given_encoders(tmp_path):
    from fo1_ros.model.checkpoint import save_model

    torch.manual_seed(0)
    save_model(FO1ForCausalLM(preset("fo1-tiny")), tmp_path / "src")
    src = load_model(tmp_path / "src").state_dict()
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=6, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1, heldout_frames=0),
                      stage1=StageConfig(0, 1e-3, dict(STAGE1_WEIGHTS)), stage2=StageConfig(0, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    pool = tmp_path / "pool"
    encoder = "model.vision_tower_aux."
    for refine in (False, True):
        out = train(cfg, tmp_path / f"run{refine}", tmp_path / f"model{refine}", pool, tmp_path / "src", refine)
        got = load_model(out).state_dict()
        same = [torch.allclose(got[k].float(), src[k].float(), atol=1e-3) for k in src if k.startswith(encoder)]
        assert same and all(same) != refine  # copied as is, or trained on from there
        history = json.loads((tmp_path / f"run{refine}" / "checkpoint" / "trainer_state.json").read_text())["history"]
        assert history[0]["init_from"] == str(tmp_path / "src") and history[0]["refined_steps"] == (2 if refine else 0)
        assert sum(h.get("step", 0) > 0 for h in history if h["stage"] == 0) == (1 if refine else 0)
    with pytest.raises(ValueError, match="give init_from"):
        train(cfg, tmp_path / "run_bad", tmp_path / "model_bad", pool, None, True)


def test_continue_from_starts_stage_2_from_the_whole_model_on_new_scenes(tmp_path):
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=4, use_proposer=False, qa_per_frame=2,
                      batch_size=2, stage0=VisionPretrainConfig(steps=0, heldout_frames=0),
                      stage1=StageConfig(1, 1e-3, dict(STAGE1_WEIGHTS)), stage2=StageConfig(1, 1e-3, dict(STAGE2_WEIGHTS)))
    cfg.scene.width, cfg.scene.height = 160, 120
    src = train(cfg, tmp_path / "run0", tmp_path / "src", tmp_path / "pool0")
    before = load_model(src).state_dict()
    for steps in (0, 2):
        cont = TrainConfig(**{**cfg.to_dict(), "model": preset("fo1-small").to_dict(), "first_seed": 50})
        cont.stage2.steps = steps
        run = tmp_path / f"cont{steps}"
        out = train(cont, run, tmp_path / f"model{steps}", tmp_path / f"pool{steps}", continue_from=src)
        after = load_model(out).state_dict()  # the source's architecture, not the config's fo1-small
        same = [torch.equal(before[k], after[k]) for k in before]
        assert all(same) if steps == 0 else not all(same)
        state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
        assert state["history"][0] == {"stage": 2, "continue_from": str(src), "taken": ["weights"]}
        assert not any(h.get("stage") in (0, 1) for h in state["history"])
        assert sum(h.get("stage") == 2 and h.get("step", 0) > 0 for h in state["history"]) == (1 if steps else 0)
        assert json.loads((tmp_path / f"pool{steps}" / "pool.json").read_text())["seeds"] == [50, 51, 52, 53]
        assert (run / "tokenizer" / "tokenizer.json").read_text() == (src / "tokenizer.json").read_text()
    # resuming that run (same arguments) takes the source's architecture again, not the config's
    cont.stage2.steps = 3
    train(cont, tmp_path / "cont2", tmp_path / "model2b", tmp_path / "pool2", continue_from=src)
    # a run's checkpoint also carries the optimizer moments and the binding heads
    out = train(cont, tmp_path / "cont_ckpt", tmp_path / "model_ckpt", tmp_path / "pool2",
                continue_from=tmp_path / "run0" / "checkpoint")
    state = json.loads((tmp_path / "cont_ckpt" / "checkpoint" / "trainer_state.json").read_text())
    assert state["history"][0]["taken"] == ["weights", "binding heads", "optimizer moments"]
    with pytest.raises(ValueError, match="not both"):
        train(cfg, tmp_path / "bad", tmp_path / "m_bad", tmp_path / "pool0", init_from=src, continue_from=src)
    with pytest.raises(ValueError, match="needs a model folder"):
        train(cfg, tmp_path / "bad2", tmp_path / "m_bad2", tmp_path / "pool0", continue_from=tmp_path / "pool0")


def test_training_seeds_stay_below_the_held_out_seeds():
    from fo1_ros.train.trainer import VALIDATION_SEED_BASE

    assert TrainConfig(n_frames=3, first_seed=7).training_seeds() == [7, 8, 9]
    TrainConfig(n_frames=10, first_seed=VALIDATION_SEED_BASE - 10)
    for bad in ({"n_frames": 10, "first_seed": VALIDATION_SEED_BASE - 9}, {"first_seed": -1},
                {"n_frames": VALIDATION_SEED_BASE + 1}):
        with pytest.raises(ValueError, match="below the held-out seeds"):
            TrainConfig(**bad)


def test_train_config_device_is_checked():
    assert TrainConfig(device="cpu").torch_device() == torch.device("cpu")
    assert TrainConfig().torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a torch device"):
        TrainConfig(device="gpu0").torch_device()
    with pytest.raises(ValueError, match="only cpu and cuda"):
        TrainConfig(device="meta").torch_device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA device"):
            TrainConfig(device="cuda").torch_device()
    with pytest.raises(ValueError, match="pool_workers"):
        TrainConfig(pool_workers=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tiny_training_run_on_cuda_with_every_auxiliary_loss(tmp_path):
    """Stage 0, both stages with binding / attention / pointer losses, on the GPU; the saved model loads on CPU."""
    aux = dict(binding_loss=0.5, attention_loss=0.5, pointer_loss=0.5, seed_previous_token_head=True,
               freeze_previous_token_head=True)
    cfg = TrainConfig(model=preset("fo1-tiny"), vocab_size=600, n_frames=12, use_proposer=False, qa_per_frame=3,
                      batch_size=2, stage0=VisionPretrainConfig(steps=2, batch_frames=2, warmup=1),
                      stage1=StageConfig(3, 1e-3, dict(STAGE1_WEIGHTS), warmup=1, **aux),
                      stage2=StageConfig(3, 1e-3, dict(STAGE2_WEIGHTS), warmup=1, **aux), log_every=1,
                      checkpoint_every=2, device="cuda")
    cfg.scene.width, cfg.scene.height = 160, 120
    out = train(cfg, tmp_path / "run", tmp_path / "model")
    model = load_model(out)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    info = json.loads((out / "training_info.json").read_text())
    assert info["train_config"]["device"] == "cuda"
    assert all(math.isfinite(h["loss"]) for h in info["final_losses"] if "loss" in h)


def test_batch_loader_workers_make_the_same_batches_as_inline(tmp_path):
    from fo1_ros.synth import SceneConfig
    from fo1_ros.train.pool import FramePool, build_pool
    from fo1_ros.train.trainer import BatchLoader

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
    import multiprocessing

    gen = BatchLoader(frames, prompts, cfg.model, cfg, 2, stage, workers=2).batches(0, 5)
    next(gen)
    assert multiprocessing.active_children()
    gen.close()
    assert not multiprocessing.active_children()


def test_attention_loss_is_minus_log_of_the_attention_on_each_targets_keys():
    from fo1_ros.model.constants import OBJECT_SLOT
    from fo1_ros.train.trainer import attention_loss

    segs = [([0] * 9, [-100] * 6 + [1] * 3), ([0] * 5, [-100] * 3 + [1] * 2)]
    e = Example(np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4)), [], segs,
                cites=[(0, 3, 2, True), (1, 1, 0, True), (1, 3, 1, False)])
    T = 120
    token_ids = torch.zeros(1, T, dtype=torch.long)
    token_ids[0, [50, 52, 54]] = OBJECT_SLOT
    starts = {(0, 0): 100, (0, 1): 109}
    g = torch.Generator().manual_seed(0)
    slots = ((1, 2), (2, 1), (2, 2))
    weights = {slot: torch.rand(1, T, T, generator=g).softmax(-1) for slot in slots}
    out = attention_loss([e], token_ids, starts, weights, slots)

    def direct(layer, head, targets):
        return float(np.mean([-np.log(float(weights[(layer, head)][0, q, ks].sum()) + 1e-6) for q, ks in targets]))

    assert abs(float(out["induction"]) - direct(1, 2, [(103, [54]), (110, [50]), (112, [52])])) < 1e-5
    assert abs(float(out["carry"]) - direct(2, 1, [(p, [103]) for p in range(104, 108)])) < 1e-5
    assert abs(float(out["pointer"]) - direct(2, 2, [(111, [52])])) < 1e-5
    # a layer whose weights were not captured gives no entry for its kinds
    assert set(attention_loss([e], token_ids, starts, {(1, 2): weights[(1, 2)]}, slots)) == {"induction"}


def test_shuffled_region_lists_hold_the_same_regions_in_another_order(scenes):
    from fo1_ros.train.data import RegionSampling

    scene = scenes[0]
    plain = build_regions(scene, np.random.default_rng(5), RegionSampling(many_regions_prob=1.0))
    mixed = build_regions(scene, np.random.default_rng(5), RegionSampling(many_regions_prob=1.0, shuffle_prob=1.0))
    assert len(plain.boxes) > 20
    key = lambda r: sorted(map(tuple, np.round(r.boxes, 6)))  # noqa: E731
    assert key(plain) == key(mixed)
    assert not np.array_equal(plain.boxes, mixed.boxes)
    assert np.all(np.diff(plain.scores) <= 0) and not np.all(np.diff(mixed.scores) <= 0)
    for o, r in mixed.region_of.items():  # the links follow the boxes
        assert np.allclose(mixed.boxes[r], plain.boxes[plain.region_of[o]])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_train_cli_refuses_cuda_without_a_gpu_before_any_work(tmp_path, capsys):
    from fo1_ros.train.trainer import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--device", "cuda", "--run-dir", str(tmp_path / "run"), "--frames", "2"])
    assert exit_info.value.code == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing rendered or written


def test_frame_pool_larger_than_the_free_disk_is_refused_before_rendering(tmp_path):
    """A pool that cannot fit fails at once with the sizes (build_pool checks before rendering)."""
    import shutil

    from fo1_ros.synth import SceneConfig
    from fo1_ros.train.pool import check_pool_fits

    cfg = SceneConfig()
    fits = shutil.disk_usage(tmp_path).free // (cfg.width * cfg.height * 3)
    check_pool_fits(tmp_path, 1, cfg)
    check_pool_fits(tmp_path, fits // 2, cfg)
    with pytest.raises(OSError, match="GiB free"):
        check_pool_fits(tmp_path, fits + 1, cfg)
