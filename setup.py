"""Packaging hooks for ``pip install .``; the metadata lives in pyproject.toml.

msg/ and srv/ at the repository root are the single source of truth for the message types
(rosidl compiles them under ROS). A built wheel carries a copy of them as package data,
``fo1_ros/interfaces/{msg,srv}``, where ``fo1_ros.msgs.interfaces`` finds them at run time.
Editable installs need no copy: ``fo1_ros.msgs.interfaces`` reads the checkout directly. The
Python packages themselves (``fo1_ros`` and every subpackage, e.g. ``fo1_ros.msgs``) are found
by ``[tool.setuptools.packages.find]`` in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
INTERFACE_GLOBS = ("msg/*.msg", "srv/*.srv")


def interface_files():
    """The interface files, relative to the repository root, e.g. 'msg/Region.msg'."""
    return sorted(str(p.relative_to(ROOT)) for g in INTERFACE_GLOBS for p in ROOT.glob(g))


class BuildPyWithInterfaces(build_py):
    """build_py that also copies msg/ and srv/ into fo1_ros/interfaces/ of the build."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the runtime loader reads the checkout
        files = interface_files()
        if not files:
            raise RuntimeError(f"no msg/*.msg or srv/*.srv under {ROOT}: cannot package them")
        for rel in files:
            target = Path(self.build_lib) / "fo1_ros" / "interfaces" / rel
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / rel), str(target))


class SdistWithInterfaces(sdist):
    """sdist that carries msg/ and srv/, so a wheel built from it has them too."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        for rel in interface_files():
            target = Path(base_dir) / rel
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / rel), str(target))


setup(cmdclass={"build_py": BuildPyWithInterfaces, "sdist": SdistWithInterfaces})
