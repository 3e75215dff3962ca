"""The shape of the package: layers (../shared/DESIGN.md), file and function sizes, lint.

Read from the source with ``ast`` (nothing is imported), so a violation names the file and line.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fo1_ros"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80

# What each part of the package may import from the others (DESIGN.md "Layers"): each imports
# only from the layers below it. The "beside" parts (synth, train, eval) serve cli and tests;
# `msg` / `srv` are the rosidl-generated interface modules of the colcon build.
ALLOWED = {
    "config": set(),
    "model": {"config"},
    "geometry": {"config"},
    "draw": set(),
    "msgs": {"config", "geometry"},
    "tasks": {"config", "model"},
    "proposals": {"config", "model"},
    "engine": {"config", "model", "geometry", "tasks", "proposals"},
    "node": {"config", "model", "geometry", "msgs", "tasks", "proposals", "engine", "draw"},
    "bag": {"config", "msgs", "draw", "engine", "node"},
    "ros": {"config", "msgs", "node", "msg", "srv"},
    "synth": {"config", "model", "geometry", "tasks"},
    "train": {"config", "model", "geometry", "tasks", "proposals", "synth"},
    "eval": {"config", "model", "geometry", "tasks", "proposals", "engine", "synth"},
    "cli": {"config", "model", "geometry", "msgs", "tasks", "proposals", "engine", "node", "bag",
            "ros", "synth", "train", "eval", "draw"},
    "__init__": set(),
    "assets": set(),
}


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "interfaces" not in p.relative_to(PACKAGE).parts)


def _part(path: Path) -> str:
    """The top-level part of fo1_ros a file belongs to: 'node' for fo1_ros/node/sync.py."""
    rel = path.relative_to(PACKAGE).parts
    return rel[0].removesuffix(".py")


def _imported_modules(path: Path) -> list[tuple[int, list[str]]]:
    """(line, dotted module as a list) of every import of a fo1_ros module in ``path``."""
    module = list(path.relative_to(ROOT).with_suffix("").parts)  # ['fo1_ros', 'node', 'sync']
    package = module[:-1]  # the package a relative import starts from
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None:  # from . import x
                out += [(node.lineno, target + [a.name]) for a in node.names]
            else:
                out.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")) for a in node.names]
    return [(line, m) for line, m in out if m[:1] == ["fo1_ros"]]


def test_every_part_imports_only_the_layers_below_it():
    problems = []
    for path in _sources():
        part = _part(path)
        assert part in ALLOWED, f"{path.relative_to(ROOT)}: new part {part!r}: place it in ALLOWED"
        for line, module in _imported_modules(path):
            other = module[1] if len(module) > 1 else "__init__"
            if other != part and other not in ALLOWED[part]:
                problems.append(f"{path.relative_to(ROOT)}:{line} ({part}) imports {'.'.join(module)}")
    assert not problems, "imports running against the layers:\n" + "\n".join(problems)


def test_only_ros_imports_rclpy():
    problems = []
    for path in _sources():
        if _part(path) == "ros":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            problems += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names
                         if n.split(".")[0] in ("rclpy", "rosidl_runtime_py", "tf2_ros")]
    assert not problems, "rclpy imported outside fo1_ros/ros: " + ", ".join(problems)


def test_no_file_of_the_package_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in _sources()
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert not long, f"files over {MAX_FILE_LINES} lines: {long}"


def test_no_function_over_80_lines_unless_its_docstring_says_why():
    """A longer function must say in its docstring why it reads better whole ("reads better whole")."""
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if n > MAX_FUNCTION_LINES and "reads better whole" not in doc:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_ruff_finds_nothing_in_the_package_tests_benchmarks_and_tools():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: scripts/setup.sh --test installs it (pyproject.toml [test] extra)"
    run = subprocess.run([ruff, "check", "--no-cache", "fo1_ros", "test", "benchmarks", "tools"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("bad", ["import os\n", "def f(l):\n    return l\n",
                                 "import sys\nimport os\nprint(os, sys)\n"])
def test_ruff_settings_catch_unused_imports_ambiguous_names_and_import_order(tmp_path, bad):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed"
    (tmp_path / "bad.py").write_text(bad)
    run = subprocess.run([ruff, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                          str(tmp_path / "bad.py")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout


def test_readme_stays_short_and_its_layout_names_every_module():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) < 12_000, "README.md is for users: keep it under 12 kB (details go to docs/)"
    layout = text[text.index("## Layout"):]
    missing = [str(p.relative_to(PACKAGE)) for p in _sources()
               if p.name not in ("__init__.py", "__main__.py") and str(p.relative_to(PACKAGE)) not in layout]
    assert not missing, f"README's layout lacks {missing}"


def test_every_fo1_ros_name_the_scripts_import_exists():
    """benchmarks/ and tools/ are not imported by the tests; a rename in the package must not
    leave them importing names that are gone (checked without running the scripts)."""
    missing = []
    for path in sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("tools/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "fo1_ros":
                module = importlib.import_module(node.module)
                missing += [f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{a.name}"
                            for a in node.names if not hasattr(module, a.name)
                            and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "fo1_ros":
                        importlib.import_module(a.name)
    assert not missing, "scripts import names the package no longer has: " + ", ".join(missing)
