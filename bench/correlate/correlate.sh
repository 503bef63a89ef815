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
load="$(cut -d' ' -f1 /proc/loadavg)"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin" --alerts "$alerts" --out "$tmp/run.json" "$@" >/dev/null 2>"$tmp/time.txt"
    max_rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")"
    cpu="$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$tmp/time.txt")"
else
    "$bin" --alerts "$alerts" --out "$tmp/run.json" "$@" >/dev/null
    max_rss=null
    cpu=null
fi

python3 - "$tmp/run.json" "$out" "$max_rss" "$cpu" "$load" "$@" <<'PY'
import json, platform, subprocess, sys
run = json.load(open(sys.argv[1]))
run["time_v_max_rss_kib"] = None if sys.argv[3] == "null" else int(sys.argv[3])
# CPU seconds include generating the synthetic alerts, so alerts per CPU second is a lower
# bound that does not depend on what else the machine was doing.
run["process_cpu_seconds"] = None if sys.argv[4] == "null" else float(sys.argv[4])
if run["process_cpu_seconds"]:
    run["alerts_per_cpu_second_including_generation"] = run["alerts"] / run["process_cpu_seconds"]
run["load_average_at_start"] = float(sys.argv[5])
run["machine"] = {
    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()),
    "cores": int(subprocess.check_output(["nproc"]).strip()),
    "rustc": subprocess.check_output(["rustc", "--version"], text=True).strip(),
}
run["command"] = " ".join(["bench/correlate/correlate.sh", str(run["alerts"])] + sys.argv[6:])
json.dump(run, open(sys.argv[2], "w"), indent=2, sort_keys=True)
open(sys.argv[2], "a").write("\n")
print(json.dumps({k: run.get(k) for k in ("alerts", "alerts_per_second", "alerts_per_cpu_second_including_generation", "incidents", "peak_rss_kib", "time_v_max_rss_kib")}))
PY
