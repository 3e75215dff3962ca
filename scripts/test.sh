#!/usr/bin/env bash
# Install everything the tests need (scripts/setup.sh --test) and run the default test suite.
# Fails when any test fails or when no test was collected (pytest exit status 5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --test
cd "$ROOT"
# Everything that starts rclpy stays on this machine; a fixed domain keeps parallel runs apart.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "${FO1_VENV:-$ROOT/.venv}/bin/python" -m pytest -q -p no:cacheprovider "$@"
