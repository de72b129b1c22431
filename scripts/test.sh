#!/usr/bin/env bash
# Runs the test suite (CPU) and lists the 25 slowest tests. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -k sparse -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest -q --durations=25 "$@"
