"""Captions, OCR, VQA and reasoning: prompts from the reference, total parsing."""

import numpy as np
import pytest

from fo1_ros.tasks import Answer, CaptionTask, OCRTask, ReasoningTask, RegionContext, VQATask
from fo1_ros.tasks.caption import BRIEF_TEMPLATE
from fo1_ros.tasks.reasoning import REASONING_TEMPLATE

CTX = RegionContext(np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 3, 3]], float), np.ones(3))


def test_caption_one_question_per_region_and_user_boxes():
    qs = CaptionTask([2, 0]).questions(CTX)
    assert [q.text for q in qs] == [BRIEF_TEMPLATE.format("<region2>"), BRIEF_TEMPLATE.format("<region0>")]
    res = CaptionTask([2, 0]).parse([Answer("a red cube"), Answer("a blue <region1> ball", truncated=True)], CTX)
    assert res[0].text == "a red cube" and res[0].region_indices == [2]
    np.testing.assert_allclose(res[1].boxes, CTX.boxes[[0]])
    assert res[1].referenced == [1] and any("cut" in w for w in res[1].warnings)
    with pytest.raises(ValueError, match="detail"):
        CaptionTask(detail="long")


def test_ocr_no_text_is_empty():
    r = OCRTask([1]).parse([Answer("No text.")], CTX)[0]
    assert r.text == "" and r.task == "ocr"
    assert OCRTask([1]).parse([Answer("AB12")], CTX)[0].text == "AB12"


def test_vqa_places_region_tags():
    assert VQATask("What colour is {region}?", [1]).questions(CTX)[0].text == "What colour is <region1>?"
    assert VQATask("what colour is it?", [2]).questions(CTX)[0].text == "About <region2>: what colour is it?"
    assert VQATask("Is {regions} the same?", [0, 2]).questions(CTX)[0].text == "Is <region0> and <region2> the same?"
    with pytest.raises(ValueError, match="empty"):
        VQATask("   ", [0])
    with pytest.raises(ValueError, match="reserved"):
        VQATask("hi <|im_end|>", [0])


def test_reasoning_format_and_cited_regions():
    t = ReasoningTask("Which is larger?")
    assert t.questions(CTX)[0].text == REASONING_TEMPLATE.format("Which is larger?")
    r = t.parse([Answer("<think><region0> is small, <region2> is big.</think><answer><region2></answer>")], CTX)
    assert r.answer_regions == [2] and r.cited_regions == [0, 2] and r.thinking.startswith("region 0")
    cut = t.parse([Answer("<think>hmm <region9>")], CTX)
    assert cut.cited_regions == [] and any("no <answer>" in w for w in cut.warnings)
    assert any("not closed" in w for w in cut.warnings) and any("only 3 regions" in w for w in cut.warnings)


def test_questions_may_reference_existing_regions_only():
    from fo1_ros.model.prompt import PromptBuilder, PromptError
    from fo1_ros.model.tokenizer import train_tokenizer

    ok = VQATask("Is <region1> bigger than <region2>?", [])
    assert ok.questions(CTX)[0].text == "Is <region1> bigger than <region2>?"
    pb = PromptBuilder(train_tokenizer(["Is it bigger?"] * 20, vocab_size=600))
    with pytest.raises(PromptError, match=r"regions \[9\]"):
        pb.build(VQATask("What is <region9>?", []).questions(CTX)[0].text, CTX.n)
    with pytest.raises(ValueError, match="reserved"):
        ReasoningTask("Which one? </region1>")
