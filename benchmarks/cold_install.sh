#!/usr/bin/env bash
# Cold install of the tool from a checkout, as the GitHub Action installs it: pip against uv, each
# in a fresh virtual environment with no package cache. Network-bound: run it a few times.
# Usage: bash benchmarks/cold_install.sh [CHECKOUT] [ROUNDS]
set -euo pipefail
src=$(cd "${1:-.}" && pwd)
rounds=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# pip cannot take hashes in a constraints file next to a directory requirement: same pins, no hashes.
grep -v -- '--hash' "$src/requirements/dev.txt" | sed 's/ \\$//' > "$work/pins.txt"
seconds() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$@"; }
for round in $(seq "$rounds"); do
    start=$(date +%s.%N)
    python3 -m venv "$work/pip"
    PIP_NO_CACHE_DIR=1 "$work/pip/bin/python" -m pip install --quiet --disable-pip-version-check \
        --constraint "$work/pins.txt" "$src"
    echo "pip, round $round: $(seconds "$start" "$(date +%s.%N)") s"
    "$work/pip/bin/reconciler" --version > /dev/null

    start=$(date +%s.%N)
    python3 -m venv "$work/uv"
    awk '/^[a-z]/ { keep = /^uv==/ } keep' "$src/requirements/dev.txt" > "$work/uv.txt"
    PIP_NO_CACHE_DIR=1 "$work/uv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r "$work/uv.txt"
    UV_NO_CACHE=1 "$work/uv/bin/uv" pip install --quiet --python "$work/uv/bin/python" \
        --constraint "$src/requirements/dev.txt" "$src"
    echo "uv (uv itself installed by pip first), round $round: $(seconds "$start" "$(date +%s.%N)") s"
    "$work/uv/bin/reconciler" --version > /dev/null
    rm -rf "$work/pip" "$work/uv"
done
