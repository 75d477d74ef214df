#!/usr/bin/env bash
# Benchmark (not a test): the fixed cost of `ccrescue diagnose` on a tiny (10 KB) generated
# session — the prevention guard runs ccrescue on every prompt, so it must start fast (issue 12:
# <= 5 ms wall, median of 20). Also prints `true`'s time in the same run (the cost of starting
# any process here) and the CPU time per run (user + sys, from the shell's `times`): on a loaded
# machine the wall time is mostly waiting for a CPU, for `true` as much as for ccrescue.
#
#   scripts/bench-startup.sh            # 20 runs
#   RUNS=50 scripts/bench-startup.sh
#
# Env: RUNS, BENCH_CLAUDE (the claude binary diagnose is given; by default a missing path, so
# the time is ccrescue's own and not claude's start-up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-20}
SIZE=1M
# shellcheck source=scripts/bench-session.sh
. scripts/bench-session.sh
cargo build --release --quiet -p ccrescue --bin ccrescue
# The generator makes no session smaller than ~300 KB: keep its first short lines, 10 KB of them.
SMALL_DIR=$ROOT/projects/-bench-startup
SMALL=$SMALL_DIR/00000000-0000-4000-8000-0000000005ad.jsonl
mkdir -p "$SMALL_DIR"
awk 'length($0) < 4096 { n += length($0) + 1; if (n > 10240) exit; print }' "$FILE" >"$SMALL"
FILE=$SMALL
BYTES=$(stat -c %s "$FILE")
CLAUDE=${BENCH_CLAUDE:-$BENCH/no-claude}
DIAG=(target/release/ccrescue diagnose --config-dir "$ROOT" --session "$FILE" --claude "$CLAUDE")
"${DIAG[@]}" >/dev/null # warm the caches

# Wall microseconds of each run, one per line. The clock is bash's own $EPOCHREALTIME: a
# `$(date +%s%N)` around each run would time two more process starts with it (about 2 ms here).
walls() {
    local t0 t1
    for ((i = 1; i <= RUNS; i++)); do
        t0=${EPOCHREALTIME/[.,]/}
        "$@" >/dev/null 2>&1 || true
        t1=${EPOCHREALTIME/[.,]/}
        echo $((t1 - t0))
    done
}
stats() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f ms (min %.2f, max %.2f)", m / 1000, v[1] / 1000, v[NR] / 1000 }'; }
# CPU milliseconds per run (user + sys of the children, from the shell's `times`).
cpu() {
    (
        for ((i = 1; i <= RUNS; i++)); do "$@" >/dev/null 2>&1 || true; done
        times
    ) | awk -v runs="$RUNS" 'NR == 2 { split($0, t, /[ ms]+/); printf "%.2f", (t[1] * 60 + t[2] + t[3] * 60 + t[4]) * 1000 / runs }'
}
diag=$(walls "${DIAG[@]}" | stats)
base=$(walls /bin/true | stats)
diag_cpu=$(cpu "${DIAG[@]}")
base_cpu=$(cpu /bin/true)
median_ms=${diag%% ms*}
printf 'session   %s (%s bytes)\n' "$FILE" "$BYTES"
printf 'runs      %d each\n' "$RUNS"
printf 'true      %s wall, %s ms CPU per run\n' "$base" "$base_cpu"
printf 'diagnose  %s wall, %s ms CPU per run\n' "$diag" "$diag_cpu"
printf 'target    wall median <= 5 ms: %s\n' "$(awk -v m="$median_ms" 'BEGIN { print (m <= 5) ? "PASS" : "MISS" }')"
