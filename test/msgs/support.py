"""Helpers shared by the fo1_ros.msgs tests (and test/test_packaging.py): small random images,
the checkout's interface files, and the ROS 2 wheels' parsers (installed on demand)."""

import functools
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from fo1_ros import msgs
from test.setup_mode import in_ci, unavailable

ROOT = Path(__file__).resolve().parents[2]
# The only packages custom types may depend on (DESIGN.md).
ALLOWED_DEPENDENCIES = {"std_msgs", "geometry_msgs", "sensor_msgs", "builtin_interfaces"}
UNAVAILABLE = "fo1_ros: ROS 2 wheels unavailable:"

rng = np.random.default_rng(0)
H, W = 5, 7  # odd sizes, so row padding and alignment matter


def random_image(dtype, channels):
    """A random ``(H, W)`` or ``(H, W, channels)`` image spanning the whole range of ``dtype``."""
    shape = (H, W) if channels == 1 else (H, W, channels)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def interface_paths(kind):
    """The checkout's ``msg/*.msg`` (kind ``"msg"``) or ``srv/*.srv`` files, sorted."""
    return sorted((ROOT / kind).glob(f"*.{kind}"))


@functools.cache
def _install_ros_wheels():
    """Install the ROS 2 wheels into this venv (scripts/ros_build.sh --wheels); returns the
    reason they cannot be installed, or None."""
    if sys.prefix == sys.base_prefix:
        return "not running in a virtual environment: run scripts/ros_build.sh --wheels"
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ros_build.sh"), "--wheels"],
                            env=dict(os.environ, FO1_VENV=sys.prefix), capture_output=True,
                            text=True, timeout=900)
    output = result.stdout + result.stderr
    if result.returncode == 2:
        return next((line for line in output.splitlines() if line.startswith(UNAVAILABLE)),
                    UNAVAILABLE + " (no reason given)")
    assert result.returncode == 0, f"scripts/ros_build.sh --wheels failed:\n{output[-4000:]}"
    importlib.invalidate_caches()
    return None


def ros_module(name):
    """Import a module of the ROS 2 wheels (rosidl_adapter.parser, catkin_pkg.package),
    installing the wheels first where they are missing; skip only where they cannot install
    (in CI that is a failure: test.setup_mode)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        reason = _install_ros_wheels()
        if reason:
            unavailable(name, reason, required=in_ci())
        return importlib.import_module(name)


def referenced_types(store, name):
    """The type names the fields of ``name`` refer to (inside arrays and sequences too)."""
    _, fields = store.fielddefs[name]
    for _, (kind, detail) in fields:
        while kind in (3, 4):  # ARRAY, SEQUENCE: look inside
            (kind, detail), _ = detail
        if kind == 2:  # NAME
            yield detail


def packages_used():
    """The packages the fo1_ros types use (besides fo1_ros), plus builtin_interfaces."""
    store = msgs.typestore()
    used = {ref.split("/")[0] for name in msgs.interface_types()
            for ref in referenced_types(store, name)}
    used.discard("fo1_ros")
    return used | {"builtin_interfaces"}  # Header's stamp; rosidl needs it declared

