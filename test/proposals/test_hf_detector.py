"""HFDetector with tiny randomly initialised transformers detectors saved to a local folder."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from fo1_ros.proposals import ProposalConfig, Proposals, make_proposal_source  # noqa: E402
from fo1_ros.proposals.hf_detector import HFDetector, HFDetectorConfig  # noqa: E402

H, W = 48, 80  # test image
CX, CY, BW, BH = 0.5, 0.25, 0.2, 0.4  # every query of the rigged DETR predicts this box
KEEP_ALL = ProposalConfig(score_threshold=0.0, nms_iou=1.0, top_k=1000, min_size=0.0)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _tiny_detr(folder, processor: bool = True, rig: bool = True):
    """A 1-layer DETR with a 2-stage ResNet backbone (no timm, nothing pretrained)."""
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig
    from transformers.models.detr.image_processing_pil_detr import DetrImageProcessorPil

    torch.manual_seed(0)
    backbone = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                            layer_type="basic", out_features=["stage2"])
    cfg = DetrConfig(backbone_config=backbone, d_model=16, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                     num_queries=12, num_labels=3, use_pretrained_backbone=False,
                     id2label={0: "cup", 1: "ball", 2: "box"}, label2id={"cup": 0, "ball": 1, "box": 2})
    model = DetrForObjectDetection(cfg).eval()
    if rig:  # every query: the same box, class logits (2, 0, 0 | no-object 1)
        with torch.no_grad():
            last = model.bbox_predictor.layers[-1]
            last.weight.zero_()
            last.bias.copy_(torch.tensor([_logit(CX), _logit(CY), _logit(BW), _logit(BH)]))
            model.class_labels_classifier.weight.zero_()
            model.class_labels_classifier.bias.copy_(torch.tensor([2.0, 0.0, 0.0, 1.0]))
    model.save_pretrained(folder)
    if processor:
        DetrImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def detr_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detr")
    _tiny_detr(folder)
    return folder


def test_detr_boxes_in_image_pixels(detr_dir, image, no_network):
    det = HFDetector(detr_dir, postprocess=KEEP_ALL)
    assert det.preprocessing == "processor" and not det.zero_shot
    props = det(image)
    assert isinstance(props, Proposals) and props.source == "hf"
    assert props.boxes.shape == (12, 4) and props.boxes.dtype == np.float64
    expected = [(CX - BW / 2) * W, (CY - BH / 2) * H, (CX + BW / 2) * W, (CY + BH / 2) * H]
    np.testing.assert_allclose(props.boxes, np.tile(expected, (12, 1)), atol=1e-3)
    p = np.exp([2.0, 0.0, 0.0, 1.0]) / np.exp([2.0, 0.0, 0.0, 1.0]).sum()
    np.testing.assert_allclose(props.scores, p[0], atol=1e-5)  # best real class, "no object" excluded
    assert props.labels == ["cup"] * 12


def test_detr_default_postprocess_is_applied(detr_dir, image, no_network):
    props = HFDetector(detr_dir)(image)  # score >= 0.3? p(cup) = 0.61; NMS 0.8 keeps one of 12 equal boxes
    assert len(props) == 1 and props.scores[0] >= 0.3 and props.labels == ["cup"]
    assert props.dropped == {"nms": 11}


def test_random_detr_matches_the_processor_post_processing(tmp_path, image, no_network):
    _tiny_detr(tmp_path, rig=False)
    det = HFDetector(tmp_path, postprocess=KEEP_ALL)
    props = det(image)
    assert np.all((props.scores >= 0) & (props.scores <= 1))
    inputs = det.processor(images=image, return_tensors="pt")
    with torch.no_grad():
        out = det.model(**inputs)
    ref = det.processor.post_process_object_detection(out, threshold=0.0, target_sizes=[(H, W)])[0]
    order = np.argsort(-ref["scores"].numpy(), kind="stable")
    np.testing.assert_allclose(props.scores, ref["scores"].numpy()[order], atol=1e-5)
    np.testing.assert_allclose(props.boxes, np.clip(ref["boxes"].numpy()[order], 0, [W, H, W, H]), atol=1e-3)


def test_minimal_preprocessing_without_processor_files(tmp_path, image, no_network, caplog):
    _tiny_detr(tmp_path, processor=False)
    assert not os.path.exists(tmp_path / "preprocessor_config.json")
    det = HFDetector(tmp_path, postprocess=KEEP_ALL, short_side=64, long_side=96)
    assert det.preprocessing == "minimal"
    assert any("minimal preprocessing" in r.getMessage() for r in caplog.records)
    assert det._minimal_inputs(image)["pixel_values"].shape == (1, 3, 58, 96)  # 48x80 * 1.2
    props = det(image)
    assert props.boxes.shape == (12, 4)
    np.testing.assert_allclose(props.boxes[0], [(CX - BW / 2) * W, (CY - BH / 2) * H,
                                                (CX + BW / 2) * W, (CY + BH / 2) * H], atol=1e-3)


def test_minimal_preprocessing_shape_and_normalisation(detr_dir, no_network):
    det = HFDetector(detr_dir, use_processor=False, short_side=32, long_side=40)
    x = det._minimal_inputs(np.full((48, 80, 3), 255, np.uint8))
    assert x["pixel_values"].shape == (1, 3, 24, 40)  # long side capped: 80 -> 40, 48 -> 24
    expected = (1.0 - torch.tensor(det.config.image_mean)) / torch.tensor(det.config.image_std)
    torch.testing.assert_close(x["pixel_values"][0, :, 5, 5], expected)
    assert x["pixel_mask"].shape == (1, 24, 40)


def _tiny_owlvit(folder):
    from transformers import CLIPTokenizer, OwlViTConfig, OwlViTForObjectDetection
    from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil
    from transformers.models.owlvit.processing_owlvit import OwlViTProcessor

    torch.manual_seed(0)
    text = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=8)
    OwlViTForObjectDetection(OwlViTConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(
        folder)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"),
                        model_max_length=16)
    size = {"height": 32, "width": 32}
    OwlViTProcessor(image_processor=OwlViTImageProcessorPil(size=size, crop_size=size), tokenizer=tok).save_pretrained(
        folder)


def test_zero_shot_owlvit_with_queries(tmp_path, image, no_network):
    _tiny_owlvit(tmp_path)
    with pytest.raises(ValueError, match="zero-shot"):
        HFDetector(tmp_path)
    det = HFDetector(tmp_path, queries=["red cup", "ball"], postprocess=KEEP_ALL)
    assert det.zero_shot and det.preprocessing == "processor"
    props = det(image)
    assert len(props) + sum(props.dropped.values()) == 16  # (32 / 8) ** 2 patches, one box each
    assert props.boxes.shape == (len(props), 4) and len(props) > 0
    assert np.all((props.scores >= 0) & (props.scores <= 1))
    assert set(props.labels) <= {"red cup", "ball"}
    assert np.all(props.boxes >= 0) and np.all(props.boxes[:, [0, 2]] <= W) and np.all(props.boxes[:, [1, 3]] <= H)


def test_missing_folder_and_files_are_named(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        HFDetector(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"lacks model\.safetensors"):
        HFDetector(tmp_path)


def test_config_checks(tmp_path):
    with pytest.raises(ValueError, match="folder"):
        HFDetectorConfig()
    with pytest.raises(ValueError, match="dtype"):
        HFDetectorConfig(folder=str(tmp_path), dtype="int8")
    with pytest.raises(ValueError, match="long_side"):
        HFDetectorConfig(folder=str(tmp_path), short_side=100, long_side=50)
    cfg = HFDetectorConfig(folder=str(tmp_path), queries=("a",))
    assert HFDetectorConfig.from_dict(cfg.to_dict()) == cfg


def test_bad_images_and_devices(detr_dir, no_network):
    det = HFDetector(detr_dir)
    with pytest.raises(ValueError, match="uint8"):
        det(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        det(np.zeros((8, 8), np.uint8))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            HFDetector(detr_dir, device="cuda")


def test_factory_builds_the_hf_source(detr_dir, image, no_network):
    src = make_proposal_source("hf", folder=detr_dir)
    assert isinstance(src, HFDetector) and src.name == "hf"
    assert len(src(image)) == 1


def test_a_non_detector_folder_is_a_clear_value_error(tmp_path, no_network):
    from transformers import ResNetConfig, ResNetModel

    ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8], depths=[1])).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="no AutoModelForObjectDetection"):
        HFDetector(tmp_path)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(detr_dir, image, no_network):
    cpu = HFDetector(detr_dir, postprocess=KEEP_ALL)(image)
    gpu = HFDetector(detr_dir, device="cuda", postprocess=KEEP_ALL)(image)
    np.testing.assert_allclose(gpu.boxes, cpu.boxes, atol=1e-2)
    np.testing.assert_allclose(gpu.scores, cpu.scores, atol=1e-4)
    half = HFDetector(detr_dir, device="cuda", dtype="float16", postprocess=KEEP_ALL)(image)
    np.testing.assert_allclose(half.boxes, cpu.boxes, atol=0.5)
