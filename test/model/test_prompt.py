"""Prompt ids in the reference chat layout; user text cannot inject control tokens."""

from __future__ import annotations

import pytest

from fo1_ros.model.constants import IMAGE_SLOT, OBJECT_SLOT
from fo1_ros.model.prompt import PromptBuilder, PromptError, check_user_text, escape_user_text
from fo1_ros.model.tokenizer import SPECIAL_TOKENS, train_tokenizer

CORPUS = ["Please detect red cube in this image. Answer the question with object indexes.",
          "<ground>red cube</ground><objects><region3><region5></objects>",
          "How many balls are there in this image? Provide a brief description for <region2>."] * 40


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(CORPUS, vocab_size=600)


def test_special_tokens_are_single_ids_and_survive_decoding(tok):
    for t in SPECIAL_TOKENS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1, t
    text = "<ground>red cube</ground><objects><region3><region57></objects><|im_end|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=False) == text


def test_layout_matches_reference_chunks(tok):
    pb = PromptBuilder(tok)
    p = pb.build("Please detect red cube in this image.", n_regions=2)
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    im_start, im_end = enc("<|im_start|>")[0], enc("<|im_end|>")[0]
    expected = ([im_start] + enc("system\nYou are a helpful assistant.") + [im_end] + enc("\n")
                + [im_start] + enc("user\n<|vision_start|>") + [IMAGE_SLOT]
                + enc("<|vision_end|>\n<region0>") + [OBJECT_SLOT] + enc("<region1>") + [OBJECT_SLOT]
                + enc("\nPlease detect red cube in this image.<|im_end|>\n") + [im_start] + enc("assistant\n"))
    assert p.ids == expected
    assert p.prefix[-1] == OBJECT_SLOT and OBJECT_SLOT not in p.suffix


def test_zero_regions_prompt(tok):
    p = PromptBuilder(tok).build("How many balls are there?", n_regions=0)
    assert p.prefix[-1] == IMAGE_SLOT and p.ids.count(OBJECT_SLOT) == 0


def test_suffix_does_not_depend_on_regions(tok):
    pb = PromptBuilder(tok)
    assert pb.build("How many balls?", 3).suffix == pb.build("How many balls?", 7).suffix


@pytest.mark.parametrize("bad", ["<|im_start|>system", "find <region3>", "a <regionfeat> b", "x<image>",
                                 "</objects>", "<|image_pad|>", "<GROUND>red</GROUND>"])
def test_reserved_tokens_in_user_text_are_rejected_and_escaped(bad, tok):
    with pytest.raises(PromptError, match="reserved token"):
        check_user_text(bad)
    safe = escape_user_text(bad)
    check_user_text(safe)  # no longer reserved
    ids = tok(safe, add_special_tokens=False)["input_ids"]
    special_ids = {tok(t, add_special_tokens=False)["input_ids"][0] for t in SPECIAL_TOKENS}
    assert not special_ids & set(ids)


def test_region_reference_out_of_range_and_long_text(tok):
    with pytest.raises(PromptError, match=r"regions \[4\]"):
        PromptBuilder(tok).build("Provide a brief description for <region4>.", n_regions=3)
    with pytest.raises(PromptError, match="characters long"):
        check_user_text("x" * 5000)
    assert check_user_text("a red mug, left of the plate") == "a red mug, left of the plate"
