#!/usr/bin/env bash
# OMS interoperability check between Rampart and the reference implementation,
# `model_signing` 1.1.1 (PyPI), in both directions:
#   - a model signed by Rampart verifies with `model_signing verify key`,
#   - a model signed by `model_signing sign key` verifies with Rampart,
#   - after one changed byte, one added file or one removed file, BOTH verifiers
#     reject BOTH signatures.
# Rampart is driven through the `oms` example of rampart-registry.
# Exits non-zero on any disagreement. CI (.ci/run) runs this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VENV="$ROOT/bench/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"

if [ ! -x "$VENV/bin/model_signing" ] || ! "$VENV/bin/python" -c 'import OpenSSL' 2>/dev/null; then
    echo "installing model-signing 1.1.1 into $VENV"
    python3 -m venv "$VENV"
    # pyOpenSSL is an undeclared dependency of model-signing 1.1.1: without it the CLI crashes on import.
    "$VENV/bin/pip" install --quiet "model-signing==1.1.1" pyOpenSSL
fi
MS="$VENV/bin/model_signing"
"$MS" --version | grep -q "1.1.1" || { echo "model_signing is not version 1.1.1"; exit 1; }

# RAMPART_OMS may point at an already built `oms` example (for example a release build).
if [ -z "${RAMPART_OMS:-}" ]; then
    cargo build --quiet -p rampart-registry --example oms
fi
OMS="${RAMPART_OMS:-$CARGO_TARGET_DIR/debug/examples/oms}"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

# Keys: PKCS#8 for Rampart's signer, SEC1 ("EC PRIVATE KEY", what openssl ecparam writes) for
# model_signing's, so both private key encodings are exercised.
"$VENV/bin/python" - "$WORK" <<'PY'
import sys, pathlib
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
out = pathlib.Path(sys.argv[1])
for name, fmt in (("rampart", s.PrivateFormat.PKCS8), ("python", s.PrivateFormat.TraditionalOpenSSL)):
    key = ec.generate_private_key(ec.SECP256R1())
    (out / f"{name}-key.pem").write_bytes(key.private_bytes(s.Encoding.PEM, fmt, s.NoEncryption()))
    (out / f"{name}-pub.pem").write_bytes(key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
PY

make_model() {  # make_model DIR
    mkdir -p "$1/tokenizer" "$1/.git"
    printf '{"architecture":"gbdt","trees":3}\n' > "$1/config.json"
    head -c 1048576 /dev/urandom > "$1/weights.bin"
    printf 'alpha\nbeta\n' > "$1/tokenizer/vocab.txt"
    : > "$1/tokenizer/empty.txt"
    echo "ref: refs/heads/main" > "$1/.git/HEAD"    # ignored by both implementations
}

check() {  # check EXPECT(ok|fail) LABEL COMMAND...
    local expect=$1 label=$2; shift 2
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if { [ "$expect" = ok ] && [ $rc -eq 0 ]; } || { [ "$expect" = fail ] && [ $rc -ne 0 ]; }; then
        echo "  ok    $label"
    else
        echo "  FAIL  $label (expected $expect, exit $rc)"
        echo "$out" | sed 's/^/        /' | tail -n 5
        failures=$((failures + 1))
    fi
}

sign_rampart() { "$OMS" sign "$1" "$WORK/rampart-key.pem" "$2"; }
sign_python()  { "$MS" sign key "$1" --private_key "$WORK/python-key.pem" --signature "$2"; }
verify_rampart() { "$OMS" verify "$1" "$3" "$2"; }
verify_python()  { "$MS" verify key "$1" --signature "$2" --public_key "$3"; }

# run_case SIGNER SIG_LOCATION(inside|outside)
run_case() {
    local signer=$1 where=$2
    local base="$WORK/$signer-$where"
    local model="$base/model" sig pub
    make_model "$model"
    if [ "$where" = inside ]; then sig="$model/model.sig"; else sig="$base/model.sig"; fi
    pub="$WORK/$signer-pub.pem"
    echo "signed by $signer, signature $where the model directory"
    check ok "$signer signs" "sign_$signer" "$model" "$sig"
    check ok "rampart verifies" verify_rampart "$model" "$sig" "$pub"
    check ok "model_signing verifies" verify_python "$model" "$sig" "$pub"

    # Tampering: each variant works on a fresh copy so one case cannot mask another.
    local variant copy csig
    for variant in changed-byte added-file removed-file; do
        copy="$base/$variant"
        cp -r "$model" "$copy"
        if [ "$where" = inside ]; then csig="$copy/model.sig"; else csig="$sig"; fi
        case $variant in
            # Invert the byte rather than writing a fixed value: a fixed value equals the random
            # original one time in 256, and then nothing has changed.
            changed-byte) "$VENV/bin/python" -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(4096); b = f.read(1)[0]; f.seek(4096); f.write(bytes([b ^ 0xFF]))' "$copy/weights.bin" ;;
            added-file) echo extra > "$copy/tokenizer/extra.txt" ;;
            removed-file) rm "$copy/tokenizer/empty.txt" ;;
        esac
        check fail "$variant: rampart rejects" verify_rampart "$copy" "$csig" "$pub"
        check fail "$variant: model_signing rejects" verify_python "$copy" "$csig" "$pub"
    done

    # The wrong public key fails both.
    local other=python; [ "$signer" = python ] && other=rampart
    check fail "wrong key: rampart rejects" verify_rampart "$model" "$sig" "$WORK/$other-pub.pem"
    check fail "wrong key: model_signing rejects" verify_python "$model" "$sig" "$WORK/$other-pub.pem"
}

run_case rampart inside
run_case rampart outside
run_case python inside
run_case python outside

# Rampart records provenance.json in ignore_paths, so provenance written after signing does not
# break verification by either implementation.
echo "provenance.json beside a Rampart-signed model"
model="$WORK/rampart-inside/model"
echo '{}' > "$model/provenance.json"
check ok "rampart verifies" verify_rampart "$model" "$model/model.sig" "$WORK/rampart-pub.pem"
check ok "model_signing verifies" verify_python "$model" "$model/model.sig" "$WORK/rampart-pub.pem"

if [ "$failures" -ne 0 ]; then
    echo "interop: $failures check(s) failed"
    exit 1
fi
echo "interop: all checks passed"
