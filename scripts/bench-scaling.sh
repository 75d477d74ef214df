#!/usr/bin/env bash
# Benchmark (not a test): how trim and diagnose scale with the session's size (issue 12). For each
# size, on a generated realistic session (≈75% base64 images), in one run and alternating:
#   `cat FILE >/dev/null`                against  `ccrescue diagnose --json`   (target <= 1.5x)
#   `cp FILE X && sync X`                against  `ccrescue trim --all --yes`  (target <= 0.9x)
# and the peak RSS of both (target <= 64 MiB + the largest line). Prints a table of seconds, MB/s
# and ratios (medians of RUNS), then the targets met or missed.
#
#   scripts/bench-scaling.sh                          # 32M 128M 512M 1G 4G, 3 runs each
#   SIZES="512M 1G" RUNS=5 scripts/bench-scaling.sh
#   HUGE_LINE=100M SIZES=256M scripts/bench-scaling.sh   # a session with one 100 MiB line
#   BASE=/path/to/old/ccrescue scripts/bench-scaling.sh  # also time another build, same run
#   STRACE=1 scripts/bench-scaling.sh                 # also count read(2) calls (strace -c)
#
# Env: SIZES, RUNS, SEED, HUGE_LINE, IMAGE_SHARE, BASE, STRACE, KEEP=1 (keep generated sessions;
# by default sessions of 1 GiB and more are deleted after their row, they are large).
# The machine may be shared: every figure is a median, the spread is printed beside it.
# The page cache matters as much: the same 512 MiB read by `cat` in 0.03 s right after it was
# written and 0.08 s once it had been in the cache a while (seen here, Linux 6.x: large folios
# from the write, split later). cat and diagnose read the same file in the same state, so their
# ratio is fair; ratios of different sizes (generated at different times) compare less well.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZES=${SIZES:-32M 128M 512M 1G 4G}
RUNS=${RUNS:-3}
((RUNS >= 1)) || RUNS=1
BASE=${BASE:-}

say() { printf '%s\n' "$*" >&2; }
cargo build --release --quiet -p ccrescue --bin ccrescue
NEW=target/release/ccrescue
BENCH=target/bench
mkdir -p "$BENCH"
WORK=$BENCH/claude/projects/-bench-scaling
COPY_ID=00000000-0000-4000-8000-00000000cafe
COPY=$WORK/$COPY_ID.jsonl
OUT=$BENCH/scaling-cp-out.jsonl
cleanup() { rm -rf "$WORK" "$OUT"; }
trap cleanup EXIT

# One timed run: "<wall ns> <peak RSS KiB>". Output goes to /dev/null: the baseline is
# `cat FILE >/dev/null` (an earlier version sent it to a file, so "cat" also wrote the whole
# session to the page cache and took 5x longer, which flattered every ratio against it).
# Timed with bash's $EPOCHREALTIME, not two `date` processes.
measure() {
    local t0 t1 rc=0
    t0=${EPOCHREALTIME/[.,]/}
    /usr/bin/time -f %M -o "$BENCH/scaling.rss" "$@" >/dev/null 2>"$BENCH/scaling.stderr" || rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    if ((rc != 0)); then
        say "bench: '$*' exited $rc:"
        sed -n 1,20p "$BENCH/scaling.stderr" >&2
        exit 1
    fi
    echo "$(((t1 - t0) * 1000)) $(tail -n 1 "$BENCH/scaling.rss")"
}
# "median min max" of the numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'; }
fresh_copy() {
    rm -rf "$WORK" "$OUT"
    mkdir -p "$WORK"
    cp "$FILE" "$COPY"
    sync
    cat "$FILE" "$COPY" >/dev/null
}
# read(2) calls of one command, by strace -c.
reads() {
    strace -f -c -e trace=read,pread64,readv -o "$BENCH/scaling.strace" "$@" >/dev/null 2>&1 || true
    awk '$NF == "read" || $NF == "pread64" || $NF == "readv" { n += $4 } END { print n + 0 }' "$BENCH/scaling.strace"
}

ROWS=$BENCH/scaling.rows
: >"$ROWS"
for SIZE in $SIZES; do
    # shellcheck disable=SC1091
    eval "$(SIZE=$SIZE bash -c '. scripts/bench-session.sh >&2; printf "FILE=%q BYTES=%q LONGEST_LINE=%q ROOT=%q\n" "$FILE" "$BYTES" "$LONGEST_LINE" "$ROOT"')"
    DIAG=(diagnose --json --config-dir "$ROOT" --session "$FILE" --claude "$BENCH/no-claude")
    TRIM=(trim --all --yes --config-dir "$ROOT" --session "$COPY")
    for f in cat diag cp trim base_diag base_trim; do : >"$BENCH/scaling.$f"; done
    : >"$BENCH/scaling.rss_diag"
    : >"$BENCH/scaling.rss_trim"
    cat "$FILE" >/dev/null
    for ((i = 1; i <= RUNS; i++)); do
        cat "$FILE" >/dev/null # the copies and syncs of the last run may have evicted it
        measure cat "$FILE" | cut -d' ' -f1 >>"$BENCH/scaling.cat"
        out=$(measure "$NEW" "${DIAG[@]}")
        echo "${out% *}" >>"$BENCH/scaling.diag"
        echo "${out#* }" >>"$BENCH/scaling.rss_diag"
        if [[ -n $BASE ]]; then
            cat "$FILE" >/dev/null
            measure "$BASE" "${DIAG[@]}" | cut -d' ' -f1 >>"$BENCH/scaling.base_diag"
        fi
        fresh_copy
        measure bash -c 'cp "$1" "$2" && sync "$2"' _ "$FILE" "$OUT" | cut -d' ' -f1 >>"$BENCH/scaling.cp"
        fresh_copy
        out=$(measure "$NEW" "${TRIM[@]}")
        echo "${out% *}" >>"$BENCH/scaling.trim"
        echo "${out#* }" >>"$BENCH/scaling.rss_trim"
        AFTER=$(stat -c %s "$COPY")
        if [[ -n $BASE ]]; then
            fresh_copy
            measure "$BASE" "${TRIM[@]}" | cut -d' ' -f1 >>"$BENCH/scaling.base_trim"
        fi
        say "bench: $SIZE run $i/$RUNS done"
    done
    reads_new="-"
    reads_base="-"
    if [[ -n ${STRACE:-} ]] && command -v strace >/dev/null; then
        fresh_copy
        reads_new="$(reads "$NEW" "${DIAG[@]}")/$(reads "$NEW" "${TRIM[@]}")"
        if [[ -n $BASE ]]; then
            fresh_copy
            reads_base="$(reads "$BASE" "${DIAG[@]}")/$(reads "$BASE" "${TRIM[@]}")"
        fi
    fi
    base_diag="- - -"
    base_trim="- - -"
    [[ -z $BASE ]] || base_diag=$(stats <"$BENCH/scaling.base_diag")
    [[ -z $BASE ]] || base_trim=$(stats <"$BENCH/scaling.base_trim")
    echo "$SIZE $BYTES $LONGEST_LINE $AFTER $(stats <"$BENCH/scaling.cat") $(stats <"$BENCH/scaling.diag") \
$(stats <"$BENCH/scaling.cp") $(stats <"$BENCH/scaling.trim") $(sort -n "$BENCH/scaling.rss_diag" | tail -n 1) \
$(sort -n "$BENCH/scaling.rss_trim" | tail -n 1) $base_diag $base_trim $reads_new $reads_base" >>"$ROWS"
    if [[ -z ${KEEP:-} && $BYTES -ge 1000000000 ]]; then
        rm -f "$FILE"
    fi
done

awk -v runs="$RUNS" -v base="$BASE" '
function verdict(ok) { return ok ? "PASS" : "MISS" }
BEGIN {
    mib = 1048576
    printf "medians of %d runs (min-max in brackets); MB/s = session bytes / wall time; page cache warm\n", runs
    printf "%-5s %10s | %-22s %-30s %6s | %-22s %-30s %6s | %8s %8s %8s\n", "size", "MB", "cat s", "diagnose --json s (MB/s)", "x cat", "cp+sync s", "trim --all --yes s (MB/s)", "x cp", "RSS diag", "RSS trim", "budget"
}
{
    size = $1; bytes = $2; longest = $3
    cat = $5 / 1e9; diag = $8 / 1e9; cp = $11 / 1e9; trim = $14 / 1e9
    rd = $17 / 1024; rt = $18 / 1024; budget = 64 + longest / mib
    rdiag = diag / cat; rtrim = trim / cp
    printf "%-5s %10.1f | %6.3f [%.3f-%.3f]   %6.3f (%6.0f) [%.3f-%.3f]   %6.2f | %6.3f [%.3f-%.3f]   %6.3f (%6.0f) [%.3f-%.3f]   %6.2f | %6.1fM %6.1fM %6.1fM\n", \
        size, bytes / 1e6, cat, $6 / 1e9, $7 / 1e9, diag, bytes / 1e6 / diag, $9 / 1e9, $10 / 1e9, rdiag, \
        cp, $12 / 1e9, $13 / 1e9, trim, bytes / 1e6 / trim, $15 / 1e9, $16 / 1e9, rtrim, rd, rt, budget
    line[NR] = sprintf("%-5s diagnose %.2fx cat (<= 1.5: %s)  trim %.2fx cp+sync (<= 0.9: %s)  RSS %.1f/%.1f MiB (<= %.1f: %s)", \
        size, rdiag, verdict(rdiag <= 1.5), rtrim, verdict(rtrim <= 0.9), rd, rt, budget, verdict(rd <= budget && rt <= budget))
    if (base != "" && $19 != "-") {
        bline[NR] = sprintf("%-5s base build: diagnose %.3f s (%.2fx cat), trim %.3f s (%.2fx cp+sync)", size, $19 / 1e9, $19 / 1e9 / cat, $22 / 1e9, $22 / 1e9 / cp)
    }
    if ($25 != "-") {
        rline[NR] = sprintf("%-5s read(2) calls diagnose/trim: this build %s, base %s", size, $25, $26)
    }
    n = NR
}
END {
    print ""
    for (i = 1; i <= n; i++) print line[i]
    for (i = 1; i <= n; i++) if (i in bline) print bline[i]
    for (i = 1; i <= n; i++) if (i in rline) print rline[i]
}' "$ROWS"
