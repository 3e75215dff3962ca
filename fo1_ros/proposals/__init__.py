"""Proposal sources: frame -> class-agnostic boxes + scores (`Proposals`).

Each source sits with its config beside it:

- ``rgbd`` (default): `RGBDProposer` (``rgbd.py``, the orchestrator), support plane + depth
  seeds + colour watershed (``markers.py``) + hierarchical grouping and scores
  (``grouping.py``); RGB-only fallback without depth or K. Its parameters, `RGBDConfig`, are
  in ``rgbd_config.py``, which all three import (no import circle).
- ``hf``: `HFDetector` with `HFDetectorConfig` (``hf_detector.py``), any local transformers
  object-detection or zero-shot detector (transformers is imported only when one is built).
- ``given``: `GivenBoxes`, the caller's boxes (``base.py``, with `Proposals`,
  `ProposalConfig` and the shared `postprocess`).

``make_proposal_source(name, **kwargs)`` (here) builds one by name; it is the only factory.
Recall on held-out synthetic scenes is measured by ``fo1_ros.eval.proposal_recall``
(``python -m fo1_ros.eval.proposal_recall --n 200``).
"""

from __future__ import annotations

from typing import Any

from .base import GivenBoxes, ProposalConfig, Proposals, ProposalSource, postprocess
from .hf_detector import HFDetector, HFDetectorConfig
from .rgbd import RGBDProposer, Segmentation
from .rgbd_config import RGBDConfig

__all__ = [
    "GivenBoxes",
    "HFDetector",
    "HFDetectorConfig",
    "ProposalConfig",
    "ProposalSource",
    "Proposals",
    "RGBDConfig",
    "RGBDProposer",
    "Segmentation",
    "SOURCE_NAMES",
    "make_proposal_source",
    "postprocess",
]

SOURCE_NAMES = ("rgbd", "hf", "given")


def make_proposal_source(name: str = "rgbd", **kwargs: Any) -> ProposalSource:
    """Build a proposal source by name.

    Args:
        name: 'rgbd' (default; kwargs: ``config=RGBDConfig | dict`` or RGBDConfig fields),
            'hf' (kwargs of `HFDetector`: ``folder``, ``queries``, ``device``, ``config`` or
            HFDetectorConfig fields), 'given' (kwargs of `GivenBoxes`: ``boxes``, ``scores``).
    Raises:
        ValueError: an unknown name (the message lists the known ones), or bad arguments.
    """
    if not isinstance(name, str) or name.strip().lower() not in SOURCE_NAMES:
        raise ValueError(f"unknown proposal source {name!r}; known: {list(SOURCE_NAMES)}")
    name = name.strip().lower()
    if name == "rgbd":
        config = kwargs.pop("config", None)
        if config is not None and kwargs:
            raise ValueError(f"rgbd: give either config or RGBDConfig fields, not both (got {sorted(kwargs)})")
        try:
            return RGBDProposer(config if config is not None else RGBDConfig.from_dict(kwargs))
        except TypeError as e:
            raise ValueError(f"rgbd: bad arguments {sorted(kwargs)}: {e}") from e
    if name == "hf":
        return HFDetector(**kwargs)  # imports transformers: only when one is built
    try:
        return GivenBoxes(**kwargs)
    except TypeError as e:
        raise ValueError(f"given: GivenBoxes takes boxes, scores, config; got {sorted(kwargs)}: {e}") from e
