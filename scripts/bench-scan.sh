#!/usr/bin/env bash
# Benchmark (not a test): `ccrescue diagnose` on a generated, realistic session of ${SIZE:-1G}
# against `cat FILE >/dev/null`, plus diagnose's peak RSS. Targets (issue 2): time <= 2x cat,
# peak RSS <= 64 MiB + the largest line.
#
#   scripts/bench-scan.sh                      # 1 GiB, seed 1, 5 runs each
#   SIZE=256M RUNS=9 scripts/bench-scan.sh
#   HUGE_LINE=100M scripts/bench-scan.sh       # with one 100 MiB line in the session
#   BENCH_CMD='wc -l "$FILE"' scripts/bench-scan.sh   # time a stand-in instead of diagnose
#
# Env: SIZE (K/M/G), SEED, HUGE_LINE, IMAGE_SHARE, RUNS (>= 5), REGEN=1 (ignore the cached file),
# BENCH_CLAUDE (claude binary passed to diagnose; by default a missing path, so the time is the
# scan's and not claude's start-up), BENCH_CMD (shell command run instead of diagnose; $FILE and
# $ROOT are exported). The session is cached under target/bench/ keyed by size, seed, huge line
# and image share, at target/bench/claude/projects/-bench/<uuid>.jsonl (a config root layout).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-5}
((RUNS >= 5)) || RUNS=5

. scripts/bench-session.sh
[[ -n ${BENCH_CMD:-} ]] || cargo build --release --quiet -p ccrescue --bin ccrescue

export FILE ROOT
if [[ -n ${BENCH_CMD:-} ]]; then
    DIAG=(bash -c "$BENCH_CMD")
    LABEL="stand-in: $BENCH_CMD"
else
    CLAUDE=${BENCH_CLAUDE:-$BENCH/no-claude}
    DIAG=(target/release/ccrescue diagnose --config-dir "$ROOT" --session "$FILE" --claude "$CLAUDE" --json)
    LABEL="ccrescue diagnose --json"
fi

# One timed run: prints "<wall ns> <peak RSS KiB>"; fails loudly if the command fails.
measure() {
    local t0 t1 rc=0
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$BENCH/rss" "$@" >/dev/null 2>"$BENCH/stderr" || rc=$?
    t1=$(date +%s%N)
    if ((rc != 0)); then
        say "bench: '$*' exited $rc:"
        sed -n 1,20p "$BENCH/stderr" >&2
        exit 1
    fi
    echo "$((t1 - t0)) $(tail -n 1 "$BENCH/rss")"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

say "bench: warming the page cache"
cat "$FILE" >/dev/null
measure cat "$FILE" >/dev/null
measure "${DIAG[@]}" >/dev/null

: >"$BENCH/cat.times"
: >"$BENCH/diag.times"
: >"$BENCH/diag.rss"
for ((i = 1; i <= RUNS; i++)); do
    out=$(measure cat "$FILE")
    echo "${out% *}" >>"$BENCH/cat.times"
    out=$(measure "${DIAG[@]}")
    echo "${out% *}" >>"$BENCH/diag.times"
    echo "${out#* }" >>"$BENCH/diag.rss"
    say "bench: run $i/$RUNS done"
done

CAT_NS=$(median <"$BENCH/cat.times")
DIAG_NS=$(median <"$BENCH/diag.times")
RSS_KIB=$(sort -n "$BENCH/diag.rss" | tail -n 1)

awk -v bytes="$BYTES" -v longest="$LONGEST_LINE" -v share="$SHARE" -v cat_ns="$CAT_NS" \
    -v diag_ns="$DIAG_NS" -v rss_kib="$RSS_KIB" -v runs="$RUNS" -v label="$LABEL" -v file="$FILE" '
function verdict(ok) { return ok ? "PASS" : "MISS" }
BEGIN {
    mib = 1048576
    ratio = diag_ns / cat_ns
    rss = rss_kib / 1024
    budget = 64 + longest / mib
    printf "session       %s\n", file
    printf "size          %d bytes (%.1f MiB), largest line %d bytes (%.1f MiB), base64 share %s\n", bytes, bytes / mib, longest, longest / mib, share
    printf "runs          %d each, alternating, page cache warm; medians below\n", runs
    printf "cat           %8.3f s  (%.2f GiB/s)\n", cat_ns / 1e9, bytes / 1073741824 / (cat_ns / 1e9)
    printf "diagnose      %8.3f s  (%.2f GiB/s)  [%s]\n", diag_ns / 1e9, bytes / 1073741824 / (diag_ns / 1e9), label
    printf "ratio         %8.2f x cat      target <= 2.00          %s\n", ratio, verdict(ratio <= 2.0)
    printf "peak RSS      %8.1f MiB        target <= %.1f MiB (64 + largest line)  %s\n", rss, budget, verdict(rss <= budget)
}'
