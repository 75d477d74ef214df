# Sourced by the benchmarks (scripts/bench-*.sh): GNU time for the peak RSS, and the generated
# session they measure, cached under target/bench/ keyed by size, seed, huge line and image share
# (a config-root layout: target/bench/claude/projects/-bench/<uuid>.jsonl). Reads SIZE, SEED,
# HUGE_LINE, IMAGE_SHARE, REGEN; sets say, GEN, ROOT, FILE, SUMMARY, LONGEST, BYTES, LONGEST_LINE
# and SHARE. Run from the repository root.
# shellcheck shell=bash
SIZE=${SIZE:-1G}
SEED=${SEED:-1}
HUGE_LINE=${HUGE_LINE:-}
IMAGE_SHARE=${IMAGE_SHARE:-0.75}

say() { printf '%s\n' "$*" >&2; }

# /usr/bin/time (GNU time) reports the peak RSS; install it if this machine lacks it.
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
    say "bench: installing GNU time"
    sudo=""
    ((EUID == 0)) || sudo="sudo"
    if command -v apt-get >/dev/null; then
        $sudo apt-get update -qq && $sudo apt-get install -y -qq time >/dev/null
    elif command -v dnf >/dev/null; then
        $sudo dnf install -y -q time
    elif command -v apk >/dev/null; then
        $sudo apk add -q gnu-time 2>/dev/null || $sudo apk add -q time
    else
        say "bench: need GNU time at /usr/bin/time (install the 'time' package)"
        exit 1
    fi
fi

say "bench: building (release)"
cargo build --release --quiet -p ccrescue-testbench --bin gen_session
GEN=target/release/gen_session

BENCH=target/bench
ROOT=$BENCH/claude
PROJ=$ROOT/projects/-bench
mkdir -p "$PROJ"
# A stable session uuid per (size, seed, huge line, image share): the cache key.
key=$(printf 'ccrescue-bench|%s|%s|%s|%s' "$SIZE" "$SEED" "${HUGE_LINE:-0}" "$IMAGE_SHARE" | md5sum)
uuid=$(sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-a\4-\5/' <<<"$key")
FILE=$PROJ/$uuid.jsonl
SUMMARY=$BENCH/$uuid.summary.json
LONGEST=$BENCH/$uuid.longest

if [[ -n ${REGEN:-} || ! -s $FILE || ! -s $SUMMARY || ! -s $LONGEST ]]; then
    rm -f "$FILE" "$SUMMARY" "$LONGEST"
    gen_args=(--size "$SIZE" --seed "$SEED" --image-share "$IMAGE_SHARE" --session-id "$uuid")
    [[ -z $HUGE_LINE ]] || gen_args+=(--huge-line "$HUGE_LINE")
    say "bench: generating $SIZE session (seed $SEED) -> $FILE"
    "$GEN" "${gen_args[@]}" --out "$BENCH/$uuid.tmp" >"$SUMMARY.tmp"
    "$GEN" --longest-line "$BENCH/$uuid.tmp" >"$LONGEST.tmp"
    mv "$BENCH/$uuid.tmp" "$FILE"
    mv "$LONGEST.tmp" "$LONGEST"
    mv "$SUMMARY.tmp" "$SUMMARY"
else
    say "bench: reusing $FILE"
fi
BYTES=$(stat -c %s "$FILE")
LONGEST_LINE=$(cat "$LONGEST")
SHARE=$(sed -nE 's/^ *"image_share": *([0-9.]+).*/\1/p' "$SUMMARY")
