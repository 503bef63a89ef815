#!/usr/bin/env bash
# Builds every fuzz target and runs each briefly on its committed corpus plus fresh inputs.
# cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP lets the stable toolchain
# accept them, since this project builds with one stable toolchain only.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-10}"

if ! command -v cargo-fuzz >/dev/null; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
# The fuzz crate has its own target dir so its instrumented build does not evict the
# workspace's cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}-fuzz"

targets=$(cargo fuzz list)
cargo fuzz build --dev >/dev/null
for target in $targets; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    echo "fuzz $target for ${SECONDS_PER_TARGET}s"
    # A scratch copy keeps new inputs found during the smoke run out of the committed corpus.
    scratch=$(mktemp -d)
    cp -r "$corpus"/. "$scratch"/ 2>/dev/null || true
    cargo fuzz run --dev "$target" "$scratch" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -max_len=1048576 \
        -print_final_stats=0 2>&1 | tail -n 3
    rm -rf "$scratch"
done
