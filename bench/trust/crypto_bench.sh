#!/usr/bin/env bash
# Criterion micro-benchmarks of rampart-crypto (hashing MB/s, envelope MB/s and fields/s,
# pseudonyms/s), summarised from criterion's median estimates into bench/results/crypto.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
cargo bench -p rampart-crypto --bench crypto -- --warm-up-time 1 --measurement-time "${SECONDS_PER_BENCH:-5}" >/dev/null
python3 - "$CARGO_TARGET_DIR/criterion" bench/results/crypto.json <<'PY'
import json, os, platform, sys
root, out = sys.argv[1], sys.argv[2]
def median_ns(group, name):
    with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]
mib = 1 << 20
r = {
    "machine": f"{os.cpu_count()} cpus, {platform.machine()}",
    "load_average_1m_after": os.getloadavg()[0],
    "note": "criterion medians of wall-clock time on a shared 2-core machine; compare runs at similar load",
    "command": "bash bench/trust/crypto_bench.sh",
    "sha256_MiB_per_s": 8 * mib / median_ns("hash_8MiB", "sha256") * 1e9 / mib,
    "blake3_MiB_per_s": 8 * mib / median_ns("hash_8MiB", "blake3") * 1e9 / mib,
    "envelope_seal_MiB_per_s": 1e9 / median_ns("envelope_1MiB_value", "seal"),
    "envelope_open_MiB_per_s": 1e9 / median_ns("envelope_1MiB_value", "open"),
    "envelope_seal_fields_per_s": 1e9 / median_ns("envelope_field", "seal_17B"),
    "envelope_open_fields_per_s": 1e9 / median_ns("envelope_field", "open_17B"),
    "envelope_new_batch_per_s": 1e9 / median_ns("envelope_field", "new_batch"),
    "pseudonym_tokens_per_s": 1e9 / median_ns("pseudonym", "token"),
    "pseudonym_ipv4_per_s": 1e9 / median_ns("pseudonym", "ipv4"),
    "pseudonym_ipv6_per_s": 1e9 / median_ns("pseudonym", "ipv6"),
}
r = {k: (round(v) if isinstance(v, float) and not k.startswith("load") else v) for k, v in r.items()}
with open(out, "w") as f:
    json.dump(r, f, indent=2)
    f.write("\n")
print(json.dumps(r, indent=2))
PY
