#!/usr/bin/env bash
# Streams 1,000,000 alerts through rampart-correlate (release build) and records throughput
# and peak memory in bench/results/correlate.json.
#
#   bench/correlate/correlate.sh [ALERTS] [--input alerts.jsonl]
#
# Alerts are generated on the fly (crates/pipeline/correlate/benches/common/synthetic.rs:
# 2000 workstations, 20 roaming admins, 300 rules with skewed rates, hub entities, attack chains
# with ATT&CK v18.1 techniques from ../shared/data when present) so the process holds only what
# the correlator keeps. Peak RSS is read twice: by the program (VmHWM) and by /usr/bin/time -v
# when it is installed.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
alerts="${1:-1000000}"
shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
out="$root/bench/results/correlate.json"
mkdir -p "$root/bench/results"

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p rampart-correlate --example correlate_stream
bin="$CARGO_TARGET_DIR/release/examples/correlate_stream"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin" --alerts "$alerts" --out "$tmp/run.json" "$@" >/dev/null 2>"$tmp/time.txt"
    max_rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")"
else
    "$bin" --alerts "$alerts" --out "$tmp/run.json" "$@" >/dev/null
    max_rss=null
fi

python3 - "$tmp/run.json" "$out" "$max_rss" <<'PY'
import json, platform, subprocess, sys
run = json.load(open(sys.argv[1]))
run.pop("rss_samples", None)
run["time_v_max_rss_kib"] = None if sys.argv[3] == "null" else int(sys.argv[3])
run["machine"] = {
    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()),
    "cores": int(subprocess.check_output(["nproc"]).strip()),
    "rustc": subprocess.check_output(["rustc", "--version"], text=True).strip(),
}
run["command"] = "bench/correlate/correlate.sh " + " ".join(sys.argv[4:] if len(sys.argv) > 4 else [])
json.dump(run, open(sys.argv[2], "w"), indent=2, sort_keys=True)
open(sys.argv[2], "a").write("\n")
print(json.dumps({k: run[k] for k in ("alerts", "alerts_per_second", "incidents", "peak_rss_kib", "time_v_max_rss_kib")}))
PY
