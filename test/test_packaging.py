"""Packaging: CMakeLists.txt and package.xml agree with the interface files, and a pip-built
package carries the interface files and every subpackage (the colcon build is tested in
test/ros/test_ros_build.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from fo1_ros import msgs
from test.msgs.support import ALLOWED_DEPENDENCIES, ROOT, interface_paths, packages_used, ros_module


def _cmake_text():
    return (ROOT / "CMakeLists.txt").read_text()


def test_cmakelists_lists_exactly_the_interface_files():
    listed = re.findall(r'"((?:msg|srv)/[^"]+)"', _cmake_text())
    on_disk = [f"{kind}/{p.name}" for kind in ("msg", "srv") for p in interface_paths(kind)]
    assert sorted(listed) == sorted(on_disk)
    assert len(listed) == len(set(listed))


def test_cmakelists_dependencies_cover_the_types_used():
    match = re.search(r"rosidl_generate_interfaces\((.*?)\)", _cmake_text(), re.S)
    declared = set(match.group(1).split("DEPENDENCIES", 1)[1].split())
    assert packages_used() <= declared <= ALLOWED_DEPENDENCIES
    for package in declared:
        assert f"find_package({package} REQUIRED)" in _cmake_text()


def test_package_xml_is_valid_format_3_and_declares_what_the_messages_use():
    package = ros_module("catkin_pkg.package").parse_package(str(ROOT / "package.xml"))
    package.validate()
    assert package.package_format == 3
    assert package.name == "fo1_ros"
    assert [m.email for m in package.maintainers] == ["maintainers@fo1-ros.dev"]
    assert package.licenses == ["Apache-2.0"]
    assert package.get_build_type() == "ament_cmake"
    build = {d.name for d in package.build_depends}
    run = {d.name for d in package.exec_depends}
    for used in packages_used():
        assert used in build and used in run, used
    assert "rosidl_default_generators" in {d.name for d in package.buildtool_depends}
    assert {"rosidl_default_runtime", "rclpy", "visualization_msgs"} <= run
    assert "rosidl_interface_packages" in [g.name for g in package.member_of_groups]


def test_pip_built_package_carries_the_interface_files(tmp_path):
    # A real non-editable install: the wheel must carry msg/ and srv/ as package data and
    # fo1_ros.msgs must find them there (the run happens outside the checkout).
    target = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", str(ROOT), "--no-deps", "--target", str(target),
         "--quiet", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    code = ("import fo1_ros.msgs as m; print(m.interface_dir()); "
            "print(len(m.interface_files())); m.typestore()")
    env = {k: v for k, v in os.environ.items() if k not in ("AMENT_PREFIX_PATH",
                                                            msgs.INTERFACE_DIR_ENV)}
    env["PYTHONPATH"] = str(target)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    folder, count = result.stdout.split()
    assert Path(folder) == target / "fo1_ros" / "interfaces"
    assert int(count) == len(interface_paths("msg")) + len(interface_paths("srv"))
    # every subpackage of the source (fo1_ros/msgs/, ...) is in the wheel
    source = ROOT / "fo1_ros"
    for init in source.rglob("__init__.py"):
        assert (target / "fo1_ros" / init.relative_to(source)).is_file(), init.relative_to(ROOT)

