#!/usr/bin/env bash
# Fuzzes trim's line rewriter (fuzz/fuzz_targets/trim_line.rs) for SECONDS (default 600) on the
# stable toolchain, and prints the executions and the time. Needs `cargo install cargo-fuzz`.
# The corpus starts from the lines of a generated session (payloads cut short so the fuzzer stays
# fast) and grows in fuzz/corpus/trim_line; a crash is saved under fuzz/artifacts/trim_line.
#
#   scripts/fuzz-trim.sh [SECONDS]
set -euo pipefail
secs=${1:-600}
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || { echo "error: cargo-fuzz is missing" >&2; echo "hint: cargo install cargo-fuzz" >&2; exit 2; }

corpus=fuzz/corpus/trim_line
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    echo "seeding $corpus from a generated session" >&2
    session=$(mktemp)
    trap 'rm -f "$session"' EXIT
    cargo run -q --release -p ccrescue-testbench --bin gen_session -- \
        --size 8M --seed 7 --out "$session" >/dev/null
    n=0
    # Cut base64 payloads and long strings short; keep lines a fuzzer can mutate quickly.
    sed -E -e 's/"data":"([A-Za-z0-9+\/]{0,64})[A-Za-z0-9+\/=]*"/"data":"\1"/g' \
           -e 's/([^"\\]{300})[^"\\]{300,}/\1/g' "$session" |
        awk 'length($0) < 16384' |
        while IFS= read -r line; do
            n=$((n + 1))
            # The first byte picks the rewriter's options (see the target).
            printf '%b%s' "\\x$(printf '%02x' $((n % 256)))" "$line" > "$corpus/seed-$n"
        done
fi

log=$(mktemp)
start=$(date +%s)
set +e
cargo fuzz run --sanitizer none trim_line "$corpus" -- \
    -dict=fuzz/trim_line.dict -max_len=65536 -max_total_time="$secs" -print_final_stats=1 \
    2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
took=$(( $(date +%s) - start ))
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
rm -f "$log"
echo "fuzz-trim: ${runs:-?} executions in ${took} s (target ${secs} s), corpus $(ls "$corpus" | wc -l) inputs, exit ${status}"
exit "$status"
