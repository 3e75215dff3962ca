"""Parameter values from outside the node: the ROS 2 parameter YAML file, and the query
vocabulary (a list from a parameter or a service, or the text of the ``queries`` topic),
validated before the model ever sees it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..model.prompt import check_user_text


def load_params_file(path: str | Path, node_name: str = "fo1_node") -> dict[str, Any]:
    """The parameters for ``node_name`` in a ROS 2 parameter YAML file.

    Accepts the ROS layout (``fo1_node: {ros__parameters: {...}}``, also under ``/**`` or a
    namespaced node name) and a flat mapping of parameters.
    """
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    params: dict[str, Any] = {}
    found = False
    for key, value in data.items():
        if isinstance(value, dict) and "ros__parameters" in value:
            name = str(key).rstrip("/").rsplit("/", 1)[-1]
            if key in ("/**", "**") or name == node_name:
                params.update(value["ros__parameters"] or {})
                found = True
    if not found:
        if any(isinstance(v, dict) and "ros__parameters" in v for v in data.values()):
            raise ValueError(f"{path}: no ros__parameters for node {node_name!r} or '/**'")
        params = dict(data)
    return params


def clean_queries(queries: Sequence[str], max_chars: int = 2000, max_queries: int = 32) -> list[str]:
    """Validate a query vocabulary: strings, stripped, non-empty, no duplicates, no reserved
    tokens, within the length limits. Raises ValueError naming the offending entry."""
    if isinstance(queries, str):
        raise ValueError(f"queries must be a list of strings, got the string {queries[:60]!r}")
    out: list[str] = []
    if len(queries) > max_queries:
        raise ValueError(f"{len(queries)} queries given; at most {max_queries} are accepted")
    for i, q in enumerate(queries):
        if not isinstance(q, str):
            raise ValueError(f"query {i} must be a string, got {type(q).__name__}")
        if len(q) > max_chars:
            raise ValueError(f"query {i} is {len(q)} characters long; the limit is {max_chars}")
        q = q.strip()
        if not q:
            raise ValueError(f"query {i} is empty")
        check_user_text(q)
        if q not in out:
            out.append(q)
    return out


def parse_query_text(text: str) -> list[str]:
    """The ``queries`` topic: comma / semicolon / newline separated labels."""
    return [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
