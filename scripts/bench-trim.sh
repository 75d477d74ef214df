#!/usr/bin/env bash
# Benchmark (not a test): `ccrescue trim --all --yes` of a generated, realistic session of
# ${SIZE:-1G} (≈75% base64 images) against `cp FILE OUT && sync OUT` of the same file, in the same
# run, plus trim's peak RSS. Targets (issue 4): time <= 1.2x cp+sync, peak RSS <= 64 MiB + the
# largest line.
#
#   scripts/bench-trim.sh                      # 1 GiB, seed 1, 3 runs each
#   SIZE=256M RUNS=5 scripts/bench-trim.sh
#   HUGE_LINE=100M scripts/bench-trim.sh       # with one 100 MiB line in the session
#
# Env: SIZE (K/M/G), SEED, HUGE_LINE, IMAGE_SHARE, RUNS (>= 1), REGEN=1 (ignore the cached file).
# The session is generated once with the testbench's gen_session (the same cache as
# scripts/bench-scan.sh, under target/bench/), copied before every trim (untimed, then synced) so
# each trim starts from the untrimmed file, page cache warm for both sides.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-3}
((RUNS >= 1)) || RUNS=1

. scripts/bench-session.sh
cargo build --release --quiet -p ccrescue --bin ccrescue

# The trim works on a copy in its own project folder (a session id of its own).
WORK=$ROOT/projects/-bench-trim
COPY_ID=00000000-0000-4000-8000-00000000beef
COPY=$WORK/$COPY_ID.jsonl
OUT=$BENCH/cp-out.jsonl
mkdir -p "$WORK"
cleanup() { rm -rf "$WORK" "$OUT"; }
trap cleanup EXIT

TRIM=(target/release/ccrescue trim --all --yes --config-dir "$ROOT" --session "$COPY")

# One timed run: prints "<wall ns> <peak RSS KiB>"; fails loudly if the command fails.
measure() {
    local t0 t1 rc=0
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$BENCH/rss" "$@" >"$BENCH/stdout" 2>"$BENCH/stderr" || rc=$?
    t1=$(date +%s%N)
    if ((rc != 0)); then
        say "bench: '$*' exited $rc:"
        sed -n 1,20p "$BENCH/stderr" "$BENCH/stdout" >&2
        exit 1
    fi
    echo "$((t1 - t0)) $(tail -n 1 "$BENCH/rss")"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Before each side: a fresh untrimmed copy, every dirty page written out, the input cached.
prepare() {
    rm -rf "$WORK" "$OUT"
    mkdir -p "$WORK"
    cp "$FILE" "$COPY"
    sync
    cat "$FILE" "$COPY" >/dev/null
}

: >"$BENCH/cp.times"
: >"$BENCH/trim.times"
: >"$BENCH/trim.rss"
for ((i = 1; i <= RUNS; i++)); do
    prepare
    out=$(measure bash -c 'cp "$1" "$2" && sync "$2"' _ "$FILE" "$OUT")
    echo "${out% *}" >>"$BENCH/cp.times"
    prepare
    out=$(measure "${TRIM[@]}")
    echo "${out% *}" >>"$BENCH/trim.times"
    echo "${out#* }" >>"$BENCH/trim.rss"
    TRIMMED=$(stat -c %s "$COPY")
    say "bench: run $i/$RUNS done ($(tail -n 1 "$BENCH/stdout"))"
done

CP_NS=$(median <"$BENCH/cp.times")
TRIM_NS=$(median <"$BENCH/trim.times")
RSS_KIB=$(sort -n "$BENCH/trim.rss" | tail -n 1)

awk -v bytes="$BYTES" -v after="$TRIMMED" -v longest="$LONGEST_LINE" -v share="$SHARE" -v cp_ns="$CP_NS" \
    -v trim_ns="$TRIM_NS" -v rss_kib="$RSS_KIB" -v runs="$RUNS" -v file="$FILE" '
function verdict(ok) { return ok ? "PASS" : "MISS" }
BEGIN {
    mib = 1048576
    ratio = trim_ns / cp_ns
    rss = rss_kib / 1024
    budget = 64 + longest / mib
    printf "session       %s\n", file
    printf "size          %d bytes (%.1f MiB) -> %d bytes trimmed, largest line %d bytes (%.1f MiB), base64 share %s\n", bytes, bytes / mib, after, longest, longest / mib, share
    printf "runs          %d each, alternating, input in the page cache; medians below\n", runs
    printf "cp && sync    %8.3f s  (%.2f GiB/s)\n", cp_ns / 1e9, bytes / 1073741824 / (cp_ns / 1e9)
    printf "trim --all    %8.3f s  (%.2f GiB/s)\n", trim_ns / 1e9, bytes / 1073741824 / (trim_ns / 1e9)
    printf "ratio         %8.2f x cp+sync  target <= 1.20          %s\n", ratio, verdict(ratio <= 1.2)
    printf "peak RSS      %8.1f MiB        target <= %.1f MiB (64 + largest line)  %s\n", rss, budget, verdict(rss <= budget)
}'
