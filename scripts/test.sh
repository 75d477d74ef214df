#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the pinned real claude into target/claude
# (npm registry), then runs the unit tests and the real-claude tier for that version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CCRESCUE_TEST_CLAUDE=$(scripts/install-claude.sh)
export CCRESCUE_TEST_CLAUDE
cargo test --workspace --locked "$@"
