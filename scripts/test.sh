#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the pinned real claude into target/claude
# (npm registry), then runs the unit tests and the real-claude tier for that version, and ends
# with one summary line ("N passed, N failed").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CCRESCUE_TEST_CLAUDE=$(scripts/install-claude.sh)
export CCRESCUE_TEST_CLAUDE
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
summary=$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$log")
echo
echo "all tests: $summary"
exit "$status"
