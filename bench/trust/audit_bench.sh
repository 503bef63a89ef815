#!/usr/bin/env bash
# Criterion benchmarks of the rampart-audit transparency log (in memory): appends/s in batches
# of 1000 and one at a time (checkpoint every 1000 entries), and proof generation and
# verification at 1,000,000 entries, summarised into bench/results/audit.json. Then runs the
# third-party proof check (audit_third_party.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
cargo bench -p rampart-audit --bench log -- --warm-up-time 1 --measurement-time "${SECONDS_PER_BENCH:-5}" >/dev/null
python3 - "$CARGO_TARGET_DIR/criterion" bench/results/audit.json <<'PY'
import json, os, platform, sys
root, out = sys.argv[1], sys.argv[2]
def median_ns(group, name):
    with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]
r = {
    "machine": f"{os.cpu_count()} cpus, {platform.machine()}",
    "load_average_1m_after": os.getloadavg()[0],
    "note": "criterion medians of wall-clock time on a shared 2-core machine; compare runs at similar load",
    "command": "bash bench/trust/audit_bench.sh",
    "appends_per_s_batch_1000_checkpoint_every_1000": 1000 / median_ns("append", "batch1000_ckpt1000") * 1e9,
    "appends_per_s_single_checkpoint_every_1000": 1e9 / median_ns("append", "single_record_ckpt1000"),
    "inclusion_proof_generate_us_at_1M": median_ns("proof_1M_entries", "inclusion_generate") / 1e3,
    "inclusion_proof_verify_us_at_1M": median_ns("proof_1M_entries", "inclusion_verify") / 1e3,
    "consistency_proof_generate_us_at_1M": median_ns("proof_1M_entries", "consistency_generate") / 1e3,
    "consistency_proof_verify_us_at_1M": median_ns("proof_1M_entries", "consistency_verify") / 1e3,
    "verify_entries_per_s_at_100k": 100_000 / median_ns("verify_100k_entries", "verify") * 1e9,
}
r = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}
with open(out, "w") as f:
    json.dump(r, f, indent=2)
    f.write("\n")
print(json.dumps(r, indent=2))
PY
bash bench/trust/audit_third_party.sh
