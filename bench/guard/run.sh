#!/usr/bin/env bash
# Prompt-injection detection on held-back splits of the shared development data.
#
# Trains Rampart's guard on the train side of a seeded, group-aware split (the same code and
# seed that produced the shipped model, so `model.matches_shipped_pin` must come out true),
# evaluates it on the held-out test side, measures scan latency on one core, then trains and
# evaluates a scikit-learn TF-IDF + logistic-regression reference on the very same split.
# Writes bench/results/guard.json.
#
# Needs: the shared data (../shared/data or $RAMPART_SHARED_DATA), Rust, Python 3.11 + pip.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
work=bench/work/guard
mkdir -p "$work" bench/results

cargo build --release -p rampart-guard --example guard_eval
# taskset pins the scan-latency measurement to one core when available.
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi
"${pin[@]}" "$CARGO_TARGET_DIR/release/examples/guard_eval" \
    --out "$work/rampart.json" --dump-split "$work/split.jsonl"

if [ ! -x bench/.venv/bin/python ]; then
    python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install --quiet "scikit-learn==1.9.1"
"${pin[@]}" bench/.venv/bin/python bench/guard/reference.py \
    --split "$work/split.jsonl" --out "$work/reference.json"

bench/.venv/bin/python - "$work/rampart.json" "$work/reference.json" bench/results/guard.json <<'PY'
import json, platform, subprocess, sys
rampart, reference, out = sys.argv[1:]
r = json.load(open(rampart))
ref = json.load(open(reference))
r["reference_tfidf_lr"] = ref
r["machine"] = {
    "cpu": platform.processor() or platform.machine(),
    "load_average_at_end": open("/proc/loadavg").read().split()[:3],
    "note": "shared 2-core machine: *_cpu latencies are the scanning thread's own CPU time (robust to other jobs); the others are wall-clock on one pinned core under whatever load other jobs put on it",
}
r["command"] = "bench/guard/run.sh"
json.dump(r, open(out, "w"), indent=2)
open(out, "a").write("\n")
d, i = r["rampart"]["direct"], r["rampart"]["indirect"]
rd, ri = ref["direct"], ref["indirect"]
print(f"direct   TPR@1%FPR rampart {d['tpr_at_1pct_fpr']:.3f} (macro {d['tpr_at_1pct_macro_fpr']:.3f}) vs tfidf-lr {rd['tpr_at_1pct_fpr']:.3f} (macro {rd['tpr_at_1pct_macro_fpr']:.3f})")
print(f"indirect TPR@1%FPR rampart {i['tpr_at_1pct_fpr']:.3f} (macro {i['tpr_at_1pct_macro_fpr']:.3f}) vs tfidf-lr {ri['tpr_at_1pct_fpr']:.3f} (macro {ri['tpr_at_1pct_macro_fpr']:.3f})")
lat = r["latency_us_per_kb"]
print(f"latency (wall) {lat['alert_1kb']:.1f} us/KB on a 1 KB alert, {lat['test_split']:.1f} us/KB over the test split; CPU time {lat['alert_1kb_cpu']} / {lat['test_split_cpu']}")
print(f"wrote {out}")
PY
