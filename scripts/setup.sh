#!/usr/bin/env bash
# Set up fo1_ros on a fresh machine (Python 3.11, no GPU needed, no ROS needed).
#
#   scripts/setup.sh           core: a venv in .venv with the CPU build of torch 2.13 and fo1_ros
#   scripts/setup.sh --test    torch 2.14.1 + torchvision 0.29.1, fo1_ros with the test/eval extras,
#                              ROS 2 Kilted wheels, colcon build
#
# torchvision (the reference RoIAlign and NMS are checked against, and their kernels at run time)
# has no wheel that works beside the CPU build of torch: the test set-up takes the PyPI pair, a
# CUDA build that also runs on the CPU. Measured here: the core venv is 1.9 GB (2.5 min); the
# pair alone adds 4.5 GB (77 s from the local package cache), the test venv is 6.9 GB (~7 min
# with the ROS wheels and the colcon build). The core stays on the CPU build: moving it would
# make the README's first command 3.4x larger for nothing a CPU machine uses. The test set-up leaves
# a marker file in the venv (TEST_MARKER below) by which the tests know that torchvision and the
# rest of the test set-up must be there (test/setup_mode.py): there a missing piece fails its
# tests instead of skipping them.
#
# Idempotent: re-running only installs what is missing. Environment: FO1_VENV (default .venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FO1_VENV:-$ROOT/.venv}"
MODE="${1:-core}"

# open3d (3-D boxes) needs libusb from Debian; without it fo1_ros falls back to numpy geometry.
if ! ldconfig -p 2>/dev/null | grep -q libusb-1.0.so.0; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends libusb-1.0-0 >/dev/null) \
      || echo "fo1_ros setup: could not install libusb-1.0-0; open3d will be unavailable (numpy fallback)"
  else
    echo "fo1_ros setup: libusb-1.0-0 missing and not root; run 'sudo apt-get install libusb-1.0-0' for open3d"
  fi
fi

[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
TEST_MARKER="$VENV/fo1_ros-test-setup"  # read by test/setup_mode.py
if [[ "$MODE" == "--test" ]]; then
  # The pinned pair comes first, so that the extras below keep it.
  "$VENV/bin/python" -c "import torchvision.ops" 2>/dev/null \
    || "${PIP[@]}" "torch==2.14.1" "torchvision==0.29.1"
  "${PIP[@]}" -e "$ROOT[test]"
  bash "$ROOT/scripts/ros_build.sh" || status=$?
  if [[ "${status:-0}" -ne 0 && "${status:-0}" -ne 2 ]]; then
    echo "fo1_ros setup: colcon build failed (status $status)"; exit "$status"
  fi
  echo "scripts/setup.sh --test built this venv: torchvision, the test extras and the reference vectors are required" \
    >"$TEST_MARKER"
else
  # The CPU build of torch must come first: an unpinned torch would pull a multi-GB CUDA build.
  "$VENV/bin/python" -c "import torch" 2>/dev/null || "${PIP[@]}" "torch==2.13.0"
  "${PIP[@]}" -e "$ROOT[3d]"
fi
echo "fo1_ros setup: done ($VENV)"
