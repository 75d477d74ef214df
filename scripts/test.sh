#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the pinned real claude into target/claude
# (npm registry), then runs the unit tests and the real-claude tier for that version, checks that
# the macOS and Windows code paths compile clean (clippy -D warnings for aarch64-apple-darwin and
# x86_64-pc-windows-gnu; rustup adds the targets), and on Linux tests the npm packages as a user
# installs them (scripts/test-npm.sh). Ends with one summary line ("N passed, N failed").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CCRESCUE_TEST_CLAUDE=$(scripts/install-claude.sh)
export CCRESCUE_TEST_CLAUDE
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?

# Other platforms' code, checked here on every commit (CI also runs it natively). On Windows only
# the library and binaries: the integration tests drive claude through unix ptys and signals.
for target in aarch64-apple-darwin x86_64-pc-windows-gnu; do
  if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
  fi
  what=(--workspace --all-targets)
  [ "$target" = x86_64-pc-windows-gnu ] && what=(-p ccrescue --lib --bins)
  if cargo clippy --quiet --locked --target "$target" "${what[@]}" -- -D warnings; then
    echo "clippy --target $target: clean"
  else
    echo "clippy --target $target: FAILED"
    status=1
  fi
done

if [ "$(uname -s)" = Linux ]; then
  scripts/test-npm.sh 2>&1 | tee -a "$log" || status=1
fi

summary=$(awk '/^test result:/ { p += $4; f += $6 } /^npm: [0-9]+ passed/ { p += $2; f += $4 }
  END { printf "%d passed, %d failed", p, f }' "$log")
echo
echo "all tests: $summary"
exit "$status"
