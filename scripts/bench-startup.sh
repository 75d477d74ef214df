#!/usr/bin/env bash
# Benchmark (not a test): the fixed cost of `ccrescue diagnose` on a tiny (10 KB) generated
# session — the prevention guard runs ccrescue on every prompt, so it must start fast (issue 12:
# <= 5 ms wall, median of 20). Also prints `true`'s time in the same run: the cost of starting
# any process on this machine, which a loaded machine inflates for both.
#
#   scripts/bench-startup.sh            # 20 runs
#   RUNS=50 scripts/bench-startup.sh
#
# Env: RUNS, BENCH_CLAUDE (the claude binary diagnose is given; by default a missing path, so
# the time is ccrescue's own and not claude's start-up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-20}
SIZE=10K
# shellcheck source=scripts/bench-session.sh
. scripts/bench-session.sh
cargo build --release --quiet -p ccrescue --bin ccrescue
CLAUDE=${BENCH_CLAUDE:-$BENCH/no-claude}
DIAG=(target/release/ccrescue diagnose --config-dir "$ROOT" --session "$FILE" --claude "$CLAUDE")
"${DIAG[@]}" >/dev/null # warm the caches

# Wall microseconds of each run, one per line.
times() {
    local t0 t1
    for ((i = 1; i <= RUNS; i++)); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
    done
}
stats() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f ms (min %.2f, max %.2f)", m / 1000, v[1] / 1000, v[NR] / 1000 }'; }
diag=$(times "${DIAG[@]}" | stats)
base=$(times true | stats)
median_ms=${diag%% ms*}
printf 'session   %s (%s bytes)\n' "$FILE" "$BYTES"
printf 'runs      %d each\n' "$RUNS"
printf 'true      %s\n' "$base"
printf 'diagnose  %s  target <= 5 ms: %s\n' "$diag" "$(awk -v m="$median_ms" 'BEGIN { print (m <= 5) ? "PASS" : "MISS" }')"
