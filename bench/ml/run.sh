#!/usr/bin/env bash
# Rampart's rampart-ml side by side with scikit-learn and shap.
#
# Same encoded data (written by Rampart's feature schema), same folds, same
# hyperparameters, one core each, mean over 5 seeds. Writes
# bench/results/ml.json and refreshes the fixtures in crates/ml/tests/fixtures/.
#
# Usage: bash bench/ml/run.sh [seeds]     (from the repository root or anywhere)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${RAMPART_SHARED_DATA:-$root/../shared/data}"
seeds="${1:-5}"
work="$root/bench/work/ml"
venv="$root/bench/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
# One core for every tool.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 RAYON_NUM_THREADS=1

if [ ! -d "$data/nsl-kdd" ]; then
    echo "shared data not found at $data (set RAMPART_SHARED_DATA)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "scikit-learn==1.9.1" "shap==0.51.0" "numpy>=2"

cargo build --release -p rampart-ml --example ml_bench --manifest-path "$root/Cargo.toml"
mkdir -p "$work"
"$CARGO_TARGET_DIR/release/examples/ml_bench" "$data" "$work" "$root/crates/ml/tests/fixtures" "$seeds"
"$venv/bin/python" "$root/bench/ml/compare.py" "$work" "$root/crates/ml/tests/fixtures" "$root/bench/results/ml.json"
echo "wrote $root/bench/results/ml.json"
