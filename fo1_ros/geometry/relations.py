"""Spatial queries over lifted objects, in the camera optical frame.

All relations compare object *centres* (:attr:`Object3D.center`) in the optical frame of the
camera: x right, y down, z forward (away from the camera). They are therefore relations *as
seen from the camera*, not gravity-aligned ones: "above" means higher in the image, which for
a camera looking down at a table also tends to mean "farther away". With ``m`` =
``RelationConfig.margin_m`` and ``c`` / ``r`` the centres of a candidate and the reference:

==============  ====================================  =======================================
relation        holds when                            meaning
==============  ====================================  =======================================
``left_of``     ``c.x < r.x - m``                      left in the image
``right_of``    ``c.x > r.x + m``                      right in the image
``above``       ``c.y < r.y - m``                      higher in the image (optical y is down)
``below``       ``c.y > r.y + m``                      lower in the image
``in_front_of`` ``c.z < r.z - m``                      closer to the camera
``behind``      ``c.z > r.z + m``                      farther from the camera
``within``      ``|c - r| <= radius``                  Euclidean distance of centres
``nearest``     smallest ``|c - r|``                   ``r`` = camera origin when no reference
``farthest``    largest ``|c - r|``                    idem
==============  ====================================  =======================================

A *reference* is the camera (``None`` / ``''``), a point (3,), an :class:`Object3D`, an
object index (``int``, or ``'region 3'``), or a label (exactly one object must carry it).
The reference object is never its own match. Objects without 3-D are left out of every
answer and listed in :attr:`SpatialResult.excluded` with their reason. Matches are sorted
by distance to the reference (nearest first; farthest first for ``farthest``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np

from .config import RelationConfig
from .lifting import Object3D

logger = logging.getLogger(__name__)

__all__ = [
    "RELATIONS",
    "DIRECTIONAL_RELATIONS",
    "Excluded",
    "SpatialMatch",
    "SpatialQueryError",
    "SpatialResult",
    "describe",
    "directional",
    "distance",
    "farthest",
    "nearest",
    "query",
    "within",
]

#: relation -> (axis, sign): holds when sign * (c - r)[axis] > margin
DIRECTIONAL_RELATIONS: dict[str, tuple[int, int]] = {
    "left_of": (0, -1),
    "right_of": (0, 1),
    "above": (1, -1),
    "below": (1, 1),
    "in_front_of": (2, -1),
    "behind": (2, 1),
}
RELATIONS = ("nearest", "farthest", "within", *DIRECTIONAL_RELATIONS, "describe")

# phrases for describe(): axis -> (phrase for a negative offset, for a positive offset)
_PHRASES = {
    0: ("to the left of", "to the right of"),
    1: ("above", "below"),
    2: ("in front of", "behind"),
}
_WORDS = {k: k.replace("_", " ") for k in DIRECTIONAL_RELATIONS}

Reference = Union[None, str, int, Object3D, Sequence[float], np.ndarray]  # noqa: UP007 (runtime alias)


class SpatialQueryError(ValueError):
    """A query that cannot be answered: unknown relation, missing/ambiguous/3-D-less reference."""


@dataclass(frozen=True, eq=False)
class SpatialMatch:
    """One object satisfying a query.

    Fields: ``index`` and ``label`` of the object; ``distance_m`` from the reference (centre
    to centre, metres); ``offset`` (3,) float64 = object centre - reference point.
    """

    index: int
    label: str
    distance_m: float
    offset: np.ndarray


@dataclass(frozen=True)
class Excluded:
    """An object left out of a query, and why (no 3-D position)."""

    index: int
    label: str
    reason: str


@dataclass(frozen=True, eq=False)
class SpatialResult:
    """Answer to one spatial query.

    Fields: ``relation``; ``reference`` (how the reference was named in the answer);
    ``matches`` sorted as the relation defines; ``answer`` one English sentence;
    ``excluded`` objects without 3-D.
    """

    relation: str
    reference: str
    matches: tuple[SpatialMatch, ...]
    answer: str
    excluded: tuple[Excluded, ...] = ()

    @property
    def distances_m(self) -> list[float]:
        return [m.distance_m for m in self.matches]


# ---------------------------------------------------------------------------- naming
def _name(obj: Object3D, objects: Sequence[Object3D] = ()) -> str:
    """'the red cube', 'the cup (region 4)' when the label is not unique, or 'region 4'."""
    if not obj.label:
        return f"region {obj.index}"
    same = sum(1 for o in objects if o.label == obj.label)
    return f"the {obj.label}" + (f" (region {obj.index})" if same > 1 else "")


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# ---------------------------------------------------------------------------- references
_REGION_RE = re.compile(r"^\s*(?:region\s*)?(\d+)\s*$", re.IGNORECASE)


def _find(objects: Sequence[Object3D], key: str | int) -> Object3D:
    """Object by index (int, '3', 'region 3') or by label (exactly one must match)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        found = [o for o in objects if o.index == int(key)]
        if not found:
            raise SpatialQueryError(
                f"no object with index {int(key)} (indices: {[o.index for o in objects]})"
            )
        return found[0]
    m = _REGION_RE.match(key)
    if m:
        return _find(objects, int(m.group(1)))
    found = [o for o in objects if o.label.strip().lower() == key.strip().lower()]
    if not found:
        raise SpatialQueryError(
            f"no object labelled {key!r} (labels: {sorted({o.label for o in objects})})"
        )
    if len(found) > 1:
        raise SpatialQueryError(
            f"label {key!r} is ambiguous: regions {[o.index for o in found]}; "
            "name one as 'region N'"
        )
    return found[0]


def _resolve(
    objects: Sequence[Object3D], ref: Reference
) -> tuple[np.ndarray, str, Object3D | None]:
    """Reference -> ((3,) point, name in sentences, the object or None)."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return np.zeros(3), "the camera", None
    if isinstance(ref, (str, int, np.integer)) and not isinstance(ref, bool):
        ref = _find(objects, ref)
    if isinstance(ref, Object3D):
        if not ref.has_3d:
            raise SpatialQueryError(
                f"reference {_name(ref, objects)} has no 3-D position: {ref.reason}"
            )
        return np.asarray(ref.center, dtype=np.float64), _name(ref, objects), ref
    p = np.asarray(ref, dtype=np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise SpatialQueryError(
            f"a reference point must be 3 finite numbers (x, y, z), got {ref!r}"
        )
    return p, f"the point ({p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f}) m", None


def _candidates(
    objects: Sequence[Object3D], label: str | None, ref_obj: Object3D | None
) -> tuple[list[Object3D], tuple[Excluded, ...]]:
    """Objects with 3-D (optionally with ``label``), minus the reference; plus the excluded."""
    want = label.strip().lower() if label and label.strip() else None
    picked, excluded = [], []
    for o in objects:
        if ref_obj is not None and o is ref_obj:
            continue
        if want is not None and o.label.strip().lower() != want:
            continue
        if o.has_3d:
            picked.append(o)
        else:
            excluded.append(Excluded(o.index, o.label, o.reason))
    return picked, tuple(excluded)


def _matches(cands: list[Object3D], point: np.ndarray) -> list[SpatialMatch]:
    if not cands:
        return []
    centers = np.stack([np.asarray(o.center, dtype=np.float64) for o in cands])  # (N, 3)
    offsets = centers - point  # (N, 3)
    dist = np.linalg.norm(offsets, axis=1)  # (N,)
    return [
        SpatialMatch(o.index, o.label, float(d), off)
        for o, d, off in zip(cands, dist, offsets, strict=True)
    ]


def _what(label: str | None) -> str:
    return f"{label.strip()}" if label and label.strip() else "object"


def _excluded_note(excluded: tuple[Excluded, ...]) -> str:
    if not excluded:
        return ""
    n = len(excluded)
    return f" ({n} object{'s' if n > 1 else ''} without 3-D left out)"


def _listing(ms: Sequence[SpatialMatch], objects: Sequence[Object3D]) -> str:
    by_index = {o.index: o for o in objects}
    return _join([f"{_name(by_index[m.index], objects)} ({m.distance_m:.2f} m)" for m in ms])


# ---------------------------------------------------------------------------- queries
def nearest(
    objects: Sequence[Object3D],
    reference: Reference = None,
    *,
    k: int | None = 1,
    label: str | None = None,
) -> SpatialResult:
    """The ``k`` objects (all if None) nearest ``reference`` (the camera if None), nearest first."""
    return _rank(objects, reference, k, label, farthest=False)


def farthest(
    objects: Sequence[Object3D],
    reference: Reference = None,
    *,
    k: int | None = 1,
    label: str | None = None,
) -> SpatialResult:
    """The ``k`` objects (all if None) farthest from ``reference`` (the camera if None)."""
    return _rank(objects, reference, k, label, farthest=True)


def _rank(objects, reference, k, label, farthest: bool) -> SpatialResult:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise SpatialQueryError(f"k must be a positive integer or None, got {k!r}")
    point, ref_name, ref_obj = _resolve(objects, reference)
    cands, excluded = _candidates(objects, label, ref_obj)
    ms = sorted(_matches(cands, point), key=lambda m: m.distance_m, reverse=farthest)[:k]
    relation = "farthest" if farthest else "nearest"
    if not ms:
        answer = f"there is no {_what(label)} with a 3-D position to compare with {ref_name}"
    else:
        best = ms[0]
        by_index = {o.index: o for o in objects}
        answer = (
            f"{_name(by_index[best.index], objects)} is the {relation} {_what(label)} "
            f"to {ref_name}, "
            f"{best.distance_m:.2f} m away"
        )
    return SpatialResult(relation, ref_name, tuple(ms), answer + _excluded_note(excluded), excluded)


def within(
    objects: Sequence[Object3D],
    radius_m: float,
    reference: Reference = None,
    *,
    label: str | None = None,
) -> SpatialResult:
    """Objects whose centres are within ``radius_m`` of the reference's, nearest first."""
    if (
        isinstance(radius_m, bool)
        or not isinstance(radius_m, (int, float))
        or not math.isfinite(radius_m)
        or radius_m <= 0
    ):
        raise SpatialQueryError(f"radius_m must be a finite number > 0, got {radius_m!r}")
    point, ref_name, ref_obj = _resolve(objects, reference)
    cands, excluded = _candidates(objects, label, ref_obj)
    ms = sorted(
        (m for m in _matches(cands, point) if m.distance_m <= radius_m), key=lambda m: m.distance_m
    )
    what = _what(label)
    if ms:
        plural = "s" if len(ms) > 1 else ""
        answer = f"{len(ms)} {what}{plural} within {radius_m:.2f} m of {ref_name}: "
        answer += _listing(ms, objects)
    else:
        answer = f"no {what} is within {radius_m:.2f} m of {ref_name}"
    return SpatialResult("within", ref_name, tuple(ms), answer + _excluded_note(excluded), excluded)


def directional(
    objects: Sequence[Object3D],
    relation: str,
    reference: Reference,
    *,
    label: str | None = None,
    config: RelationConfig | None = None,
) -> SpatialResult:
    """Objects in direction ``relation`` (see the module table) of ``reference``, nearest first.

    Args:
        relation: one of ``DIRECTIONAL_RELATIONS`` (``left_of``, ``right_of``, ``above``,
            ``below``, ``in_front_of``, ``behind``).
        reference: required here (an object, index, label or point); the camera makes
            sense only for ``behind``/``in_front_of`` and is allowed.
    """
    if relation not in DIRECTIONAL_RELATIONS:
        raise SpatialQueryError(
            f"unknown directional relation {relation!r}; "
            f"expected one of {list(DIRECTIONAL_RELATIONS)}"
        )
    cfg = config or RelationConfig()
    axis, sign = DIRECTIONAL_RELATIONS[relation]
    point, ref_name, ref_obj = _resolve(objects, reference)
    cands, excluded = _candidates(objects, label, ref_obj)
    ms = sorted(
        (m for m in _matches(cands, point) if sign * m.offset[axis] > cfg.margin_m),
        key=lambda m: m.distance_m,
    )
    what, word = _what(label), _WORDS[relation]
    if ms:
        verb = "is" if len(ms) == 1 else "are"
        answer = f"{_listing(ms, objects)} {verb} {word} {ref_name}"
    else:
        answer = f"no {what} is {word} {ref_name}"
    return SpatialResult(relation, ref_name, tuple(ms), answer + _excluded_note(excluded), excluded)


def _pair(
    objects: Sequence[Object3D], a: Object3D | str | int, b: Object3D | str | int
) -> tuple[Object3D, Object3D]:
    oa = a if isinstance(a, Object3D) else _find(objects, a)
    ob = b if isinstance(b, Object3D) else _find(objects, b)
    for o in (oa, ob):
        if not o.has_3d:
            raise SpatialQueryError(f"{_name(o, objects)} has no 3-D position: {o.reason}")
    return oa, ob


def distance(a: Object3D, b: Object3D) -> float:
    """Euclidean distance between two objects' centres, metres."""
    oa, ob = _pair((a, b), a, b)
    return float(np.linalg.norm(np.asarray(oa.center) - np.asarray(ob.center)))


def describe(
    a: Object3D | str | int,
    b: Object3D | str | int,
    objects: Sequence[Object3D] = (),
    config: RelationConfig | None = None,
) -> str:
    """One sentence placing ``a`` relative to ``b`` in the camera frame.

    Offsets along x/y/z larger than ``margin_m`` are named, largest first; one smaller than
    ``slight_ratio`` x the largest is called "slightly". The number given is the largest
    offset; the centre distance follows in brackets, e.g. "the red cube is 0.23 m to the
    left of and slightly in front of the blue ball (0.25 m apart)".

    Args:
        a, b: objects, or indices/labels resolved in ``objects``.
        objects: the scene, for resolving names and disambiguating repeated labels.
    """
    cfg = config or RelationConfig()
    scene = list(objects) if objects else [o for o in (a, b) if isinstance(o, Object3D)]
    oa, ob = _pair(scene, a, b)
    off = np.asarray(oa.center, dtype=np.float64) - np.asarray(ob.center, dtype=np.float64)  # (3,)
    dist = float(np.linalg.norm(off))
    na, nb = _name(oa, scene), _name(ob, scene)
    mags = np.abs(off)
    axes = [int(i) for i in np.argsort(-mags, kind="stable") if mags[i] > cfg.margin_m]
    if not axes:
        return f"{na} is at about the same place as {nb} ({dist:.2f} m apart)"
    top = mags[axes[0]]
    phrases = []
    for i in axes:
        phrase = _PHRASES[i][int(off[i] > 0)]
        phrases.append(("slightly " if mags[i] < cfg.slight_ratio * top else "") + phrase)
    return f"{na} is {top:.2f} m {_join(phrases)} {nb} ({dist:.2f} m apart)"


def query(
    objects: Sequence[Object3D],
    relation: str,
    subject: str = "",
    reference: str = "",
    radius_m: float = 0.0,
    config: RelationConfig | None = None,
) -> SpatialResult:
    """One entry point mirroring ``srv/SpatialQuery.srv``.

    Args:
        relation: one of ``RELATIONS``.
        subject: label the matches must carry (``''`` = any); for ``describe``, the object
            described (label or ``'region N'``).
        reference: label, ``'region N'``, or ``''`` for the camera.
        radius_m: for ``within``.
    Raises:
        SpatialQueryError: unknown relation, or a reference that is missing, ambiguous or
            has no 3-D position.
    """
    if relation == "nearest":
        return nearest(objects, reference, label=subject)
    if relation == "farthest":
        return farthest(objects, reference, label=subject)
    if relation == "within":
        return within(objects, radius_m, reference, label=subject)
    if relation in DIRECTIONAL_RELATIONS:
        return directional(objects, relation, reference, label=subject, config=config)
    if relation == "describe":
        if not subject.strip() or not reference.strip():
            raise SpatialQueryError("describe needs both a subject and a reference")
        oa, ob = _pair(objects, subject, reference)
        sentence = describe(oa, ob, objects, config)
        match = SpatialMatch(
            oa.index,
            oa.label,
            distance(oa, ob),
            np.asarray(oa.center, dtype=np.float64) - np.asarray(ob.center),
        )
        return SpatialResult("describe", _name(ob, objects), (match,), sentence)
    raise SpatialQueryError(f"unknown relation {relation!r}; expected one of {list(RELATIONS)}")
