"""Token sequences in the reference's chat layout, with image and object-token slots.

The reference (`make_message_context` + `prepare_inputs`, reference §1d) builds

    <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n
    <|im_start|>user\\n<|vision_start|><image><|vision_end|>\\n<region0><regionfeat>...<regionK-1><regionfeat>\\n{TEXT}<|im_end|>\\n
    <|im_start|>assistant\\n

and tokenizes the user turn in chunks split at `<image>` and `<regionfeat>`, each chunk on its
own, putting IMAGE_SLOT (-200) / OBJECT_SLOT (-300) between them. `build_prompt` reproduces that
exactly and returns it as `prefix` (everything up to the last slot) + `suffix` (the rest): the
suffix's tokens never depend on the prefix, so an engine can compute the prefix once per frame
and reuse its KV cache for every question.

User-supplied strings (queries, questions) must not create slots or special tokens:
`check_user_text` rejects them (`PromptError` names the offending piece) and `escape_user_text`
neutralises them instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .constants import IMAGE_SLOT, OBJECT_SLOT

SYSTEM_PROMPT = "You are a helpful assistant."
MAX_USER_TEXT_CHARS = 4000

# Anything that a tokenizer may treat as a control token, or the reference as a placeholder.
_RESERVED = re.compile(
    r"<\|[^<>|]{0,40}\|>"  # <|im_start|>, <|image_pad|>, <|endoftext|>, ...
    r"|</?(?:image|regionfeat|ground|objects|think|answer|ref|box|quad|object_ref_start|object_ref_end)(?:_\d+)?>"
    r"|</?region\d*>",
    re.IGNORECASE,
)
_REGION_OK = re.compile(r"<region\d+>")  # exact lower-case region references, allowed where asked for
_REGION_REF = re.compile(r"<region(\d+)>")


class PromptError(ValueError):
    """A prompt cannot be built: reserved tokens in user text, bad region references, too long."""


def check_user_text(text: str, max_chars: int = MAX_USER_TEXT_CHARS, allow_region_refs: bool = False) -> str:
    """Return `text` if it is safe to place in a prompt, else raise PromptError naming the problem.

    With `allow_region_refs`, exact `<regionN>` references stay allowed (questions about
    regions); `PromptBuilder.build` then checks that N exists in the frame.
    """
    if not isinstance(text, str):
        raise PromptError(f"text must be a string, got {type(text).__name__}")
    if len(text) > max_chars:
        raise PromptError(f"text is {len(text)} characters long; the limit is {max_chars}")
    for m in _RESERVED.finditer(text):
        if allow_region_refs and _REGION_OK.fullmatch(m.group(0)):
            continue
        raise PromptError(f"text contains the reserved token {m.group(0)!r} at position {m.start()}; "
                          "user text may not contain control tokens or region placeholders")
    return text


def escape_user_text(text: str, max_chars: int = MAX_USER_TEXT_CHARS, allow_region_refs: bool = False) -> str:
    """Neutralise reserved tokens by replacing their '<' with '‹' and cut to `max_chars`."""
    text = str(text)[:max_chars]

    def sub(m):
        if allow_region_refs and _REGION_OK.fullmatch(m.group(0)):
            return m.group(0)
        return "‹" + m.group(0)[1:]

    return _RESERVED.sub(sub, text)


@dataclass
class PromptIds:
    """prefix + suffix = the full prompt ids (with IMAGE_SLOT / OBJECT_SLOT entries)."""

    prefix: list[int]
    suffix: list[int]

    @property
    def ids(self) -> list[int]:
        return self.prefix + self.suffix


class PromptBuilder:
    """Builds reference-identical prompt ids for one tokenizer.

    Args:
        tokenizer: a Hugging Face tokenizer holding `<|im_start|>`, `<|im_end|>`,
            `<|vision_start|>`, `<|vision_end|>` as single tokens.
        system: the system prompt.
    """

    def __init__(self, tokenizer, system: str = SYSTEM_PROMPT):
        self.tokenizer = tokenizer
        self.im_start = self._single("<|im_start|>")
        self.im_end = self._single("<|im_end|>")
        self._single("<|vision_start|>")
        self._single("<|vision_end|>")
        self.system_ids = [self.im_start] + self._tok("system\n" + system) + [self.im_end] + self._tok("\n")
        self.assistant_ids = [self.im_start] + self._tok("assistant\n")

    def _tok(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _single(self, token: str) -> int:
        ids = self._tok(token)
        if len(ids) != 1:
            raise PromptError(f"tokenizer does not hold {token!r} as one token (got {ids})")
        return ids[0]

    def build(self, text: str, n_regions: int, with_image: bool = True) -> PromptIds:
        """Prompt for one question about one frame with `n_regions` object tokens.

        `text` is trusted task text (already checked or escaped user content); it may refer to
        regions as `<regionN>` with N < n_regions.
        """
        if n_regions < 0:
            raise PromptError(f"n_regions must be >= 0, got {n_regions}")
        if n_regions and not with_image:
            raise PromptError("object tokens need an image")
        bad = [int(i) for i in _REGION_REF.findall(text) if int(i) >= n_regions]
        if bad:
            raise PromptError(f"text refers to regions {sorted(set(bad))} but only {n_regions} regions exist")
        head = self.system_ids + [self.im_start]
        if not with_image:
            return PromptIds(head + self._tok("user\n"), self._tok(text + "<|im_end|>\n") + self.assistant_ids)
        prefix = head + self._tok("user\n<|vision_start|>") + [IMAGE_SLOT]
        if n_regions == 0:
            suffix = self._tok("<|vision_end|>\n" + text + "<|im_end|>\n")
            return PromptIds(prefix, suffix + self.assistant_ids)
        chunks = ["<|vision_end|>\n<region0>"] + [f"<region{i}>" for i in range(1, n_regions)]
        for chunk in chunks:
            prefix += self._tok(chunk) + [OBJECT_SLOT]
        suffix = self._tok("\n" + text + "<|im_end|>\n") + self.assistant_ids
        return PromptIds(prefix, suffix)

    def answer_ids(self, answer: str) -> list[int]:
        """Target ids of an assistant answer (training): the answer then `<|im_end|>`."""
        return self._tok(answer) + [self.im_end]

    def follow_up_ids(self, text: str) -> list[int]:
        """A further user turn + assistant start (multi-turn training sequences)."""
        return self._tok("\n") + [self.im_start] + self._tok("user\n" + text + "<|im_end|>\n") + self.assistant_ids

    def decode(self, ids) -> str:
        """Decode generated ids keeping special tokens (parsers need `<regionN>` etc.)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)
