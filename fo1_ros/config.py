"""The one config base: dict round trips for every ``*Config`` dataclass of fo1_ros.

Every component config (model, geometry, proposals, engine, node, synthetic world, training,
evaluation) is a ``@dataclass`` that inherits :class:`Config`:

- ``from_dict(data)`` builds it from a mapping (JSON, YAML, ROS parameters). A key that is not a
  field is a ``ValueError`` naming the key, a close match when there is one, and the known keys;
  a field whose type is another ``Config`` takes a mapping (built with that class's ``from_dict``)
  or an instance.
- ``to_dict()`` gives plain Python (nested configs as dicts, tuples as lists) that ``from_dict``
  turns back into an equal config.
- ``__post_init__`` of a subclass may call :meth:`Config.nested_from_dicts` so that the
  constructor, too, accepts a dict for a nested config.

This module is the bottom layer: it imports nothing from fo1_ros.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["Config", "unknown_key_problems"]

_C = TypeVar("_C", bound="Config")


def unknown_key_problems(data: Mapping[str, Any], known: list[str], owner: str,
                         noun: str = "key") -> list[str]:
    """One line per key of ``data`` that is not in ``known``, with the closest known key.

    ``owner`` and ``noun`` name what the keys are in the message: ``"'queris' is not a
    parameter of fo1_node (did you mean 'queries'?)"``.
    """
    out = []
    for key in sorted(set(data) - set(known), key=str):
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        out.append(f"{key!r} is not a {noun} of {owner}{hint}")
    return out


def _config_class(annotation: Any) -> type[Config] | None:
    """The ``Config`` subclass a field is annotated with (``X`` or ``X | None``), else None."""
    if isinstance(annotation, type):
        return annotation if issubclass(annotation, Config) else None
    for arg in typing.get_args(annotation):  # Optional[X], X | None
        if isinstance(arg, type) and issubclass(arg, Config):
            return arg
    return None


def _plain(value: Any) -> Any:
    """``value`` as plain Python: configs as dicts, tuples as lists, containers copied."""
    if isinstance(value, Config):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Config:
    """Base of every fo1_ros config dataclass (see the module docstring)."""

    # how error messages name this config's keys (a subclass may say "parameter of fo1_node")
    key_noun = "key"
    key_owner = ""  # '' = the class name

    @classmethod
    def unknown_keys(cls, data: Mapping[str, Any]) -> list[str]:
        """One line per key of ``data`` that is not a field, naming a close match."""
        return unknown_key_problems(data, cls.field_names(), cls.key_owner or cls.__name__, cls.key_noun)

    @classmethod
    def field_names(cls) -> list[str]:
        """The names of the dataclass fields, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def nested_configs(cls) -> dict[str, type[Config]]:
        """``{field name: Config subclass}`` for every field annotated with a config type."""
        cached = cls.__dict__.get("_fo1_nested")
        if cached is None:
            try:
                hints = typing.get_type_hints(cls)
            except (NameError, TypeError):  # a name only imported under TYPE_CHECKING
                hints = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            cached = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                sub = _config_class(hints.get(f.name))
                if sub is not None:
                    cached[f.name] = sub
            cls._fo1_nested = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def from_dict(cls: type[_C], data: Mapping[str, Any]) -> _C:
        """Build from a mapping such as ``to_dict`` output; unknown keys raise ``ValueError``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"{cls.__name__}.from_dict expects a mapping, got "
                            f"{type(data).__name__}: {data!r}")
        problems = cls.unknown_keys(data)
        if problems:
            raise ValueError("unknown keys: " + "; ".join(problems) + f"; known: {cls.field_names()}")
        nested = cls.nested_configs()
        kwargs = {}
        for key, value in data.items():
            sub = nested.get(key)
            kwargs[key] = sub.from_dict(value) if sub is not None and isinstance(value, Mapping) else value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python: nested configs as dicts, tuples as lists; ``from_dict`` inverts it."""
        return {name: _plain(getattr(self, name)) for name in self.field_names()}

    def nested_from_dicts(self) -> None:
        """Replace every mapping given for a nested config by that config (call in ``__post_init__``).

        Raises:
            TypeError: a nested field holds neither its config class, a mapping nor None.
        """
        for name, sub in self.nested_configs().items():
            value = getattr(self, name)
            if isinstance(value, Mapping):
                setattr(self, name, sub.from_dict(value))
            elif value is not None and not isinstance(value, sub):
                raise TypeError(f"{type(self).__name__}.{name} must be a {sub.__name__} or a dict, "
                                f"got {type(value).__name__}: {value!r}")
