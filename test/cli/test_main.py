"""The fo1-ros command's top level (fo1_ros.cli): every subcommand listed, the entry point,
arguments only where a subcommand takes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fo1_ros import cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "fo1_ros.cli", "--help"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0
    for command in ("demo", "process", "run", "ask", "check", "train", "eval"):
        assert command in out.stdout
    assert 'fo1-ros = "fo1_ros.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_help_starts_without_loading_torch():
    """`fo1-ros --help` and the parser import no library that loads torch (the commands do)."""
    code = "import sys, fo1_ros.cli as c; c.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("command", ["train", "eval", "demo"])
def test_unknown_arguments_of_a_subcommand_are_refused(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--steps", "5", "--help-me"])
    assert exit_info.value.code == 2 and "--steps 5 --help-me" in capsys.readouterr().err
