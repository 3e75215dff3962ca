"""`fo1-ros run` without a sourced ROS build explains how to get one."""

from __future__ import annotations

import pytest

from fo1_ros import cli


def test_run_explains_how_to_build_and_source_when_ros_is_not_sourced(capsys):
    try:
        import fo1_ros.msg  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("fo1_ros.msg is importable: this environment has the ROS build sourced")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "ros_build.sh" in err and "local_setup.bash" in err
