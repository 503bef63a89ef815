#!/usr/bin/env bash
# Checks Rampart audit-log output with nothing but Python: hashlib for the RFC 6962 / 9162
# inclusion and consistency proofs, and `cryptography` for the Ed25519 checkpoint signature
# (C2SP signed note). This is the procedure in docs/formats/audit-log.md, run against real
# output of the `proof_demo` example. Exit status 0 = every check passed, including the
# negative ones (a tampered entry, proof hash or checkpoint is rejected).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK="$ROOT/bench/work/audit"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"

PY=python3
if ! "$PY" -c 'import cryptography' 2>/dev/null; then
    VENV="$ROOT/bench/.venv"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet cryptography
    PY="$VENV/bin/python"
fi

rm -rf "$WORK" && mkdir -p "$WORK"
cargo run --quiet -p rampart-audit --example proof_demo -- "$WORK" "${ENTRIES:-1000}" "${ENTRY:-333}"

"$PY" - "$WORK" <<'EOF'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

work = sys.argv[1]
H = lambda b: hashlib.sha256(b).digest()

def root_from_inclusion(leaf, index, size, path):
    fn, sn, r = index, size - 1, leaf
    for x in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = H(b"\x01" + x + r)
            while not fn & 1 and fn:
                fn >>= 1; sn >>= 1
        else:
            r = H(b"\x01" + r + x)
        fn >>= 1; sn >>= 1
    return r if sn == 0 else None

def consistent(size1, size2, root1, root2, path):
    if size1 == 0 or size1 > size2:
        return False
    if size1 == size2:
        return not path and root1 == root2
    if size1 & (size1 - 1) == 0:
        path = [root1] + path
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1; sn >>= 1
    if not path:
        return False
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = H(b"\x01" + c + fr); sr = H(b"\x01" + c + sr)
            while not fn & 1 and fn:
                fn >>= 1; sn >>= 1
        else:
            sr = H(b"\x01" + sr + c)
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == root1 and sr == root2

def parse_vkey(text):
    name, key_id, b64 = text.strip().split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 1, "not an Ed25519 verifier key"
    assert H(name.encode() + b"\n" + raw)[:4].hex() == key_id, "key id does not match"
    return name, bytes.fromhex(key_id), Ed25519PublicKey.from_public_bytes(raw[1:])

def verify_checkpoint(note, vkey):
    name, key_id, pub = vkey
    text, sigs = note.rsplit("\n\n", 1)
    text += "\n"
    ok = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 ")
        signer, b64 = line[2:].split(" ", 1)
        raw = base64.b64decode(b64)
        if signer == name and raw[:4] == key_id:
            pub.verify(raw[4:], text.encode())  # raises on a bad signature
            ok = True
    assert ok, "no signature by the trusted key"
    origin, size, root = text.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)

def check_inclusion(p, vkey):
    leaf = H(b"\x00" + p["entry"].encode())
    assert leaf.hex() == p["leaf_hash"], "entry does not hash to leaf_hash"
    r = root_from_inclusion(leaf, p["leaf_index"], p["tree_size"], [bytes.fromhex(x) for x in p["hashes"]])
    assert r is not None and r.hex() == p["root_hash"], "path does not lead to root_hash"
    origin, size, root = verify_checkpoint(p["checkpoint"], vkey)
    assert (origin, size, root.hex()) == (p["origin"], p["tree_size"], p["root_hash"]), "checkpoint does not match"

vkey = parse_vkey(open(f"{work}/vkey.txt").read())
proof = json.load(open(f"{work}/proof.json"))
check_inclusion(proof, vkey)
entry = json.loads(proof["entry"])
rebuilt = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
assert rebuilt == proof["entry"], "canonical entry bytes are not reproducible with json.dumps"
print(f"inclusion of entry {proof['leaf_index']} in {proof['tree_size']}: ok")

c = json.load(open(f"{work}/consistency.json"))
old = verify_checkpoint(open(f"{work}/old-checkpoint.txt").read(), vkey)
new = verify_checkpoint(open(f"{work}/checkpoint.txt").read(), vkey)
assert (old[1], new[1]) == (c["first_size"], c["second_size"])
assert consistent(old[1], new[1], old[2], new[2], [bytes.fromhex(x) for x in c["hashes"]])
print(f"consistency {old[1]} -> {new[1]}: ok")

# Negative checks: every kind of tampering must be rejected.
def rejected(fn):
    try:
        fn()
    except Exception:
        return True
    return False

bad = dict(proof, entry=proof["entry"].replace("notify", "ignore"))
bad["leaf_hash"] = H(b"\x00" + bad["entry"].encode()).hex()
assert rejected(lambda: check_inclusion(bad, vkey)), "changed entry accepted"
bad = dict(proof, hashes=[proof["hashes"][0][:-1] + ("0" if proof["hashes"][0][-1] != "0" else "1")] + proof["hashes"][1:])
assert rejected(lambda: check_inclusion(bad, vkey)), "changed proof hash accepted"
bad = dict(proof, checkpoint=proof["checkpoint"].replace(f"\n{proof['tree_size']}\n", f"\n{proof['tree_size'] + 1}\n"))
assert rejected(lambda: check_inclusion(bad, vkey)), "changed checkpoint accepted"
assert not consistent(old[1], new[1], H(b"x"), new[2], [bytes.fromhex(x) for x in c["hashes"]])
print("tampered entry, proof and checkpoint: rejected")
EOF
