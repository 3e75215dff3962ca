"""The package's interface files (msg/*.msg, srv/*.srv) and the rosbags type store built from them.

``msg/*.msg`` and ``srv/*.srv`` at the repository root are the single source of truth. Under
ROS, rosidl compiles them into ``fo1_ros.msg`` / ``fo1_ros.srv``; here they are parsed at run
time with rosbags' parser into a rosbags ``Typestore`` (for bags and mcap). The folder holding
them is looked up, in order, in: ``$FO1_ROS_INTERFACE_DIR``; the installed package data
(``fo1_ros/interfaces/{msg,srv}``, put there by setup.py for ``pip install .``); the source
checkout (editable installs, tests); the ament share folder of a colcon install
(``<prefix>/share/fo1_ros/{msg,srv}``).

Types are registered in rosbags' ``fielddefs`` form; services as ``<Name>_Request`` /
``<Name>_Response`` messages (see :func:`service_type_names`).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from rosbags.interfaces.typing import Typesdict
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "fo1_ros"
INTERFACE_DIR_ENV = "FO1_ROS_INTERFACE_DIR"

__all__ = [
    "PACKAGE",
    "INTERFACE_DIR_ENV",
    "interface_dir",
    "interface_files",
    "interface_text",
    "split_service",
    "service_type_names",
    "interface_types",
    "base_store",
    "typestore",
    "message_definition",
    "message_definitions",
]


def _has_interfaces(folder: Path) -> bool:
    return (folder / "msg").is_dir() and any((folder / "msg").glob("*.msg"))


def _candidate_dirs() -> list[Path]:
    package = Path(__file__).resolve().parents[1]  # the fo1_ros package folder
    candidates = []
    if os.environ.get(INTERFACE_DIR_ENV):
        candidates.append(Path(os.environ[INTERFACE_DIR_ENV]))
    # (1) package data of a pip install (setup.py copies msg/ and srv/ there).
    candidates.append(package / "interfaces")
    # (2) the source checkout: the repository root is the ROS package root.
    root = package.parent
    package_xml = root / "package.xml"
    if package_xml.is_file() and f"<name>{PACKAGE}</name>" in package_xml.read_text():
        candidates.append(root)
    # (3) a colcon/ament install: <prefix>/share/fo1_ros, for every prefix on
    # AMENT_PREFIX_PATH, and the prefix this file is installed under
    # (<prefix>/lib/pythonX.Y/site-packages/fo1_ros/msgs/interfaces.py).
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / PACKAGE)
    if len(package.parents) >= 4:
        candidates.append(package.parents[3] / "share" / PACKAGE)
    return candidates


@functools.cache
def interface_dir() -> Path:
    """The folder holding this package's ``msg/`` and ``srv/`` folders.

    Looked up in ``$FO1_ROS_INTERFACE_DIR``, the installed package data, the source checkout
    and the ament share folders, in that order (see the module docstring).

    Raises:
        FileNotFoundError: none of them holds ``msg/*.msg``; the message lists where it looked.
    """
    candidates = _candidate_dirs()
    for folder in candidates:
        if _has_interfaces(folder):
            return folder
    raise FileNotFoundError(
        f"{PACKAGE}: no msg/*.msg found; looked in: "
        + ", ".join(str(c) for c in candidates)
        + f" (set {INTERFACE_DIR_ENV} to the folder holding msg/ and srv/)"
    )


@functools.cache
def interface_files() -> dict[str, Path]:
    """Every interface file by its ROS name, sorted by name.

    Returns:
        ``{"fo1_ros/msg/Region": Path(".../msg/Region.msg"),
        "fo1_ros/srv/SetQueries": Path(".../srv/SetQueries.srv"), ...}``
    """
    folder = interface_dir()
    files = {}
    for kind, suffix in (("msg", ".msg"), ("srv", ".srv")):
        for path in sorted((folder / kind).glob("*" + suffix)):
            files[f"{PACKAGE}/{kind}/{path.stem}"] = path
    return files


def _full_name(name: str) -> str:
    """'Region' / 'fo1_ros/Region' / 'fo1_ros/msg/Region' -> the key of interface_files()."""
    files = interface_files()
    if name in files:
        return name
    stem = name.rsplit("/", 1)[-1]
    matches = [key for key in files if key.rsplit("/", 1)[-1] == stem]
    if len(matches) != 1:
        raise KeyError(f"no {PACKAGE} interface named {name!r}; known: {sorted(files)}")
    return matches[0]


def interface_text(name: str) -> str:
    """The text of one .msg/.srv file, e.g. ``interface_text("Region")``.

    Args:
        name: ``"Region"``, ``"fo1_ros/msg/Region"`` or ``"fo1_ros/srv/SetQueries"``.
    """
    return interface_files()[_full_name(name)].read_text()


def split_service(text: str) -> tuple[str, str]:
    """Split the text of a .srv file into its request and response .msg texts.

    Raises:
        ValueError: the text has no ``---`` separator line, or more than one.
    """
    parts = re.split(r"^---[ \t]*$", text, flags=re.MULTILINE)
    if len(parts) != 2:
        raise ValueError(f"a .srv needs exactly one '---' line, found {len(parts) - 1}")
    return parts[0], parts[1]


def service_type_names(name: str) -> tuple[str, str]:
    """The rosbags type names of a service's request and response.

    rosbags keeps every type in ``pkg/msg/...`` (a name under ``pkg/srv/`` is silently
    renamed to ``pkg/srv/msg/...``), so ``SetQueries`` gives
    ``("fo1_ros/msg/SetQueries_Request", "fo1_ros/msg/SetQueries_Response")``.
    """
    stem = _full_name(name).rsplit("/", 1)[-1]
    return f"{PACKAGE}/msg/{stem}_Request", f"{PACKAGE}/msg/{stem}_Response"


@functools.cache
def interface_types() -> Typesdict:
    """All types of msg/ and srv/ in rosbags' ``fielddefs`` form, ready for ``register``."""
    types: Typesdict = {}
    for full, path in interface_files().items():
        text = path.read_text()
        if "/srv/" in full:
            request_name, response_name = service_type_names(full)
            request, response = split_service(text)
            types.update(get_types_from_msg(request, request_name))
            types.update(get_types_from_msg(response, response_name))
        else:
            types.update(get_types_from_msg(text, full))
    return types


def base_store() -> Stores:
    """The rosbags store the package's types extend: ROS 2 Kilted where rosbags has it.

    Kilted is the distribution of the PyPI ROS 2 wheels this project builds against; the
    standard types used here (Header, Image, CompressedImage, CameraInfo, Point, Vector3,
    Time) have the same definitions and hashes from Humble to Kilted, so bags written with it
    play on those distributions too. Older rosbags releases without Kilted fall back to
    Jazzy, then Humble.
    """
    for name in ("ROS2_KILTED", "ROS2_JAZZY", "ROS2_HUMBLE"):
        if hasattr(Stores, name):
            return getattr(Stores, name)
    raise RuntimeError("rosbags offers none of the ROS 2 Kilted/Jazzy/Humble type stores")


def typestore(base: Stores | None = None) -> Typestore:
    """A new rosbags ``Typestore`` holding the standard ROS 2 types and all fo1_ros types.

    Messages are named ``fo1_ros/msg/<Name>``; services ``fo1_ros/msg/<Name>_Request`` and
    ``fo1_ros/msg/<Name>_Response`` (see :func:`service_type_names`). A new store each call:
    callers may register more types without affecting others.

    Args:
        base: a ``rosbags.typesys.Stores`` member; default :func:`base_store`.
    """
    store = get_typestore(base if base is not None else base_store())
    store.register(interface_types())
    return store


def message_definition(typename: str, store: Typestore | None = None) -> str:
    """The ROS 2 message definition text of a type, with the definitions it depends on.

    This is the text ROS 2 bag writers store per topic (and mcap ``ros2msg`` schemas hold):
    the type's fields, then each dependency as a block introduced by a line of 80 ``=`` and
    ``MSG: pkg/Type``. rosbags' own writer already produces it this way (its
    ``generate_msgdef(..., ros_version=2)``, used here); comments are not kept.

    Args:
        typename: e.g. ``"fo1_ros/msg/RegionArray"``, ``"fo1_ros/msg/SetQueries_Request"``,
            ``"sensor_msgs/msg/Image"``.
        store: a type store holding the type; default a new :func:`typestore`.
    """
    store = store if store is not None else typestore()
    if typename not in store.types:
        raise KeyError(f"type {typename!r} is not in the type store")
    text, _ = store.generate_msgdef(typename, ros_version=2)
    return text


def message_definitions(store: Typestore | None = None) -> dict[str, str]:
    """:func:`message_definition` of every fo1_ros type (services as _Request/_Response)."""
    store = store if store is not None else typestore()
    return {name: message_definition(name, store) for name in interface_types()}
