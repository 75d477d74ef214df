#!/usr/bin/env bash
# Runs the real-claude test tier against several claude versions and prints a table
# test × version → pass / FAIL(why) / ign / - (not run).
#
#   scripts/matrix.sh                          # the pinned version and the five older ones
#   scripts/matrix.sh 2.1.185 2.1.328          # these versions only
#   scripts/matrix.sh 2.1.150 -- --test bench_terminal    # other `cargo test` selection
#
# For each version: CCRESCUE_TEST_CLAUDE=$(scripts/install-claude.sh V), then
# `cargo test --workspace --no-fail-fast <selection> -- --test-threads=$MATRIX_THREADS`.
# The default selection is every integration test target (`--test '*'`): the tier that runs
# claude; unit tests do not depend on the claude version. "why" is the first line of the panic
# message. Raw logs: target/matrix/<version>.log; all results: target/matrix/results.tsv
# (version, test, status, why); the table: target/matrix/table.txt.
#
# Environment: MATRIX_THREADS (default 2), MATRIX_TIMEOUT seconds per version (default 3600),
# MATRIX_WHY_WIDTH (default 60) cuts the "why" in the table (results.tsv keeps it whole);
# MATRIX_REPARSE=1 runs nothing and rebuilds the table from the logs of an earlier run.
# Exit status: 0 when every test passed on every version, 1 otherwise.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cd "$repo" || exit 2

versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
selection=("$@")
[ ${#selection[@]} -eq 0 ] && selection=(--test '*')
pinned=$(tr -d '[:space:]' < "$here/claude-version")
# The pinned version plus the five older versions the tests were written against.
[ ${#versions[@]} -eq 0 ] && versions=(2.1.156 2.1.172 2.1.185 2.1.212 2.1.328 "$pinned")
threads=${MATRIX_THREADS:-2}
limit=${MATRIX_TIMEOUT:-3600}
width=${MATRIX_WHY_WIDTH:-60}

out=$repo/target/matrix
mkdir -p "$out"
results=$out/results.tsv
: > "$results"

# Reads a `cargo test` log; prints "test<TAB>status<TAB>why" lines. A test is named
# <target>::<name>, the target being the test binary (`bench_terminal`, `ccrescue_testbench`).
parse_log() {
  awk '
    function target_of(line,   p) {
      # "     Running tests/bench_terminal.rs (target/debug/deps/bench_terminal-0123abcd)"
      p = line; sub(/.*\(/, "", p); sub(/\).*/, "", p); sub(/.*\//, "", p); sub(/-[0-9a-f]+$/, "", p)
      return p
    }
    # A terminal escape a test left on its output (the cursor shown again) can come first.
    { gsub(/\033\[[0-9;?]*[A-Za-z]/, "") }
    /^ *Running / { target = target_of($0); next }
    /^test .* \.\.\. (ok|FAILED|ignored)/ {
      name = $0; sub(/^test /, "", name); sub(/ \.\.\. .*/, "", name)
      st = $0; sub(/.* \.\.\. /, "", st); sub(/ .*/, "", st)
      key = target "::" name
      status[key] = (st == "ok" ? "pass" : (st == "FAILED" ? "FAIL" : "ign"))
      order[++n] = key
      next
    }
    /^---- .* stdout ----$/ { cur = $0; sub(/^---- /, "", cur); sub(/ stdout ----$/, "", cur); cur = target "::" cur; want = 0; next }
    cur != "" && /^thread .* panicked at / { want = 1; next }
    # The first line of the message; for assert_eq!/assert_ne! without a message, add the values.
    want == 1 {
      if (!(cur in why)) why[cur] = $0
      want = ($0 ~ /^assertion `left [!=]= right` failed$/) ? 2 : 0; next
    }
    want == 2 && /^ *(left|right): / { w = $0; sub(/^ */, "", w); why[cur] = why[cur] "; " w; next }
    want == 2 { want = 0 }
    /^test result: / { cur = "" }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]; w = (k in why) ? why[k] : ""
        gsub(/\t/, " ", w)
        printf "%s\t%s\t%s\n", k, status[k], w
      }
    }
  ' "$1"
}

reparse=${MATRIX_REPARSE:-}
[ -z "$reparse" ] && echo "building the test targets once ..." >&2
[ -n "$reparse" ] || cargo test --workspace --no-run "${selection[@]}" >"$out/build.log" 2>&1 \
  || { echo "error: the tests do not build; see $out/build.log" >&2; tail -20 "$out/build.log" >&2; exit 2; }

for v in "${versions[@]}"; do
  log=$out/$v.log
  if [ -n "$reparse" ]; then
    [ -f "$log" ] || { echo "no log for $v at $log" >&2; continue; }
    parse_log "$log" | while IFS=$'\t' read -r t s w; do
      printf '%s\t%s\t%s\t%s\n' "$v" "$t" "$s" "$w" >> "$results"
    done
    continue
  fi
  echo "== claude $v" >&2
  if ! bin=$("$here/install-claude.sh" "$v" 2>"$out/$v.install.log"); then
    echo "   install failed (see $out/$v.install.log)" >&2
    printf '%s\t%s\t%s\t%s\n' "$v" "(install)" "FAIL" "$(tail -1 "$out/$v.install.log")" >> "$results"
    continue
  fi
  start=$(date +%s)
  CCRESCUE_TEST_CLAUDE=$bin timeout -k 30 "$limit" \
    cargo test --workspace --no-fail-fast "${selection[@]}" -- --test-threads="$threads" \
    >"$log" 2>&1
  rc=$?
  echo "   exit $rc in $(( $(date +%s) - start ))s, log $log" >&2
  parse_log "$log" | while IFS=$'\t' read -r t s w; do
    printf '%s\t%s\t%s\t%s\n' "$v" "$t" "$s" "$w" >> "$results"
  done
  [ "$rc" = 124 ] && printf '%s\t%s\t%s\t%s\n' "$v" "(timeout)" "FAIL" "stopped after ${limit}s" >> "$results"
  if ! grep -q $'^'"$v"$'\t' "$results"; then
    printf '%s\t%s\t%s\t%s\n' "$v" "(run)" "FAIL" "no test ran (exit $rc; see $log)" >> "$results"
  fi
done

# The table: one row per test (first-seen order), one column per version.
awk -F'\t' -v width="$width" -v vlist="${versions[*]}" '
  BEGIN { nv = split(vlist, vs, " ") }
  {
    k = $2
    if (!(k in seen)) { seen[k] = 1; tests[++nt] = k; if (length(k) > tw) tw = length(k) }
    cell = $3
    if ($3 == "FAIL" && $4 != "") {
      # Shorter in the table: assert_eq! values only; a timed-out run without its command line.
      w = $4; sub(/^assertion `left [!=]= right` failed; /, "", w); sub(/: cd ".*/, "", w)
      if (length(w) > width) w = substr(w, 1, width - 1) "…"; cell = "FAIL(" w ")" }
    c[$1, k] = cell
    if ($3 != "pass" && $3 != "ign") bad = 1
  }
  END {
    if (tw < 4) tw = 4
    line = sprintf("%-" tw "s", "test")
    for (j = 1; j <= nv; j++) line = line " | " vs[j]
    print line
    for (i = 1; i <= nt; i++) {
      line = sprintf("%-" tw "s", tests[i])
      for (j = 1; j <= nv; j++) {
        cell = ((vs[j], tests[i]) in c) ? c[vs[j], tests[i]] : "-"
        line = line " | " sprintf("%-" length(vs[j]) "s", cell)
      }
      print line
    }
    exit bad
  }
' "$results" | tee "$out/table.txt"
status=${PIPESTATUS[0]}
echo "results: $results, logs: $out/<version>.log" >&2
exit "$status"
