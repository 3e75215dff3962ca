"""Tokenizers for VLM-FO1: load a local one (official Qwen2.5 or ours), or train a small one offline.

FO1 answers name regions with `<regionN>` and wrap them in `<ground>…</ground><objects>…</objects>`;
reasoning answers use `<think>…</think><answer>…</answer>` (reference §1d, §2). Parsers work on
`decode(..., skip_special_tokens=False)`, so these strings must survive decoding unchanged. The
project's own tokenizer makes each of them one special token; a Qwen2.5 tokenizer may split
some into pieces, which decodes to the same text, so nothing downstream depends on which.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformers.utils import logging as hf_logging

# Order fixes the ids of our tokenizer: the Qwen markers first, then FO1's region/markup tokens.
CHAT_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
MAX_REGION_TOKENS = 100
REGION_TOKENS = [f"<region{i}>" for i in range(MAX_REGION_TOKENS)]
MARKUP_TOKENS = ["<ground>", "</ground>", "<objects>", "</objects>", "<think>", "</think>", "<answer>", "</answer>"]
SPECIAL_TOKENS = CHAT_TOKENS + REGION_TOKENS + MARKUP_TOKENS


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 1024, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer offline on `corpus`, with every FO1 special token.

    Ids 0..6 are CHAT_TOKENS (so `<|vision_start|>` = 3, `<|vision_end|>` = 4, `<|image_pad|>` = 5),
    then the region and markup tokens, then the learned vocabulary.
    """
    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size {vocab_size} is too small: {len(SPECIAL_TOKENS)} special tokens + 256 bytes")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=CHAT_TOKENS[1:] + REGION_TOKENS + MARKUP_TOKENS)


def load_tokenizer(folder: str | Path):
    """Load tokenizer files from a local folder (never from a hub)."""
    folder = Path(folder)
    if not (folder / "tokenizer.json").exists() and not (folder / "vocab.json").exists():
        raise FileNotFoundError(f"no tokenizer files (tokenizer.json or vocab.json) in {folder}")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # AutoTokenizer peeks at config.json and warns about FO1's model_type
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    finally:
        hf_logging.set_verbosity(level)


def token_id(tokenizer, token: str) -> int:
    """Id of a single-token string; ValueError if the tokenizer splits it."""
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"{token!r} is not a single token for this tokenizer (got ids {ids})")
    return ids[0]
