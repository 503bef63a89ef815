#!/usr/bin/env bash
# End-to-end ingest throughput: 1,000,000 Suricata EVE alerts (the 548 real alerts of
# suricata-eve-alerts replayed with shifted timestamps and flow ids, see gen_eve.py) through
# `rampart run --json` into a fresh SQLite data dir, timed with /usr/bin/time -v. Writes
# events/s and peak RSS to bench/results/ingest.json. Target: 100,000 events/s.
#
# The parse throughput of the readers alone (no store) is measured by the criterion bench:
#   cargo bench -p rampart-ingest --bench ingest
#
# Environment: RECORDS (default 1000000), RAMPART_SHARED_DATA (default ../shared/data beside
# the workspace), INGEST_BIN (default: the release build, built if missing). The binary reads
# RAMPART_* variables as configuration overrides, so it runs with the data-set variable unset.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
RECORDS="${RECORDS:-1000000}"
DATA="${RAMPART_SHARED_DATA:-$ROOT/../shared/data}"
WORK="$ROOT/bench/work/ingest"
RESULT="$ROOT/bench/results/ingest.json"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
BIN="${INGEST_BIN:-$CARGO_TARGET_DIR/release/rampart}"

mkdir -p "$WORK" "$(dirname "$RESULT")"
INPUT="$WORK/eve-$RECORDS.json"
if [ ! -s "$INPUT" ]; then
    python3 bench/ingest/gen_eve.py "$DATA" "$RECORDS" "$INPUT"
fi
if [ -z "${INGEST_BIN:-}" ]; then
    cargo build --release -p rampart --quiet
fi
[ -x "$BIN" ] || { echo "no rampart binary at $BIN" >&2; exit 1; }

# Warm the page cache so the figure measures Rampart, not the disk.
cat "$INPUT" >/dev/null
rm -rf "$WORK/data-dir"
/usr/bin/time -v env -u RAMPART_SHARED_DATA "$BIN" --json --log warn --data-dir "$WORK/data-dir" run --input "$INPUT" \
    >"$WORK/run.json" 2>"$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }

python3 - "$WORK/run.json" "$WORK/time.txt" "$INPUT" "$RECORDS" "$RESULT" <<'PY'
import json, os, platform, re, sys
run_path, time_path, input_path, records, result_path = sys.argv[1:]
run = json.load(open(run_path))
time_text = open(time_path).read()

def field(name):
    match = re.search(rf"{re.escape(name)}: (.+)", time_text)
    return match.group(1).strip() if match else None

def seconds(text):
    parts = [float(p) for p in text.split(":")]
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total

wall = seconds(field("Elapsed (wall clock) time (h:mm:ss or m:ss)"))
rss_kb = int(field("Maximum resident set size (kbytes)"))
read = run.get("records_read", int(records))
stored = run.get("events_stored")
result = {
    "benchmark": "rampart run --json on replayed Suricata EVE alerts (NDJSON)",
    "records": int(records),
    "input_bytes": os.path.getsize(input_path),
    "records_read": read,
    "events_stored": stored,
    "dead_letters": run.get("dead_letters"),
    "wall_seconds": wall,
    "events_per_second": round(read / wall) if wall else None,
    "megabytes_per_second": round(os.path.getsize(input_path) / wall / 1e6, 1) if wall else None,
    "peak_rss_mib": round(rss_kb / 1024, 1),
    "user_seconds": float(field("User time (seconds)")),
    "system_seconds": float(field("System time (seconds)")),
    "cpu_percent": field("Percent of CPU this job got"),
    "target_events_per_second": 100000,
    "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average_after": os.getloadavg()},
}
json.dump(result, open(result_path, "w"), indent=2)
open(result_path, "a").write("\n")
print(json.dumps(result, indent=2))
PY
