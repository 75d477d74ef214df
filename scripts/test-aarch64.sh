#!/usr/bin/env bash
# The session reader's unit tests built for 64-bit ARM (aarch64-unknown-linux-musl, linked with
# rust-lld) and run under qemu's user-mode emulator: the NEON masks that Apple Silicon uses, and
# the scans in parts, checked against byte loops and the corpus on an ARM build. Correctness only:
# qemu's timings say nothing about a real ARM CPU. Not part of .ci/run (GitHub's macos-latest job
# runs the whole suite on ARM natively). By default the `session::` tests only: `live`'s test
# starts the test binary itself as a child, which qemu-user cannot run without binfmt (the
# session tests that do so take CCRESCUE_TEST_RUNNER, set below).
# Ends with cargo's "test result" line.
#
#   scripts/test-aarch64.sh               # installs qemu-user-static with apt-get when missing (root)
#   scripts/test-aarch64.sh string_end    # another test filter
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=aarch64-unknown-linux-musl
say() { echo "test-aarch64: $*" >&2; }

if ! command -v qemu-aarch64-static >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "apt-get install qemu-user-static"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
    apt-get clean >&2
  else
    say "needs qemu-aarch64-static (Debian/Ubuntu: apt-get install qemu-user-static, as root)"
    exit 1
  fi
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx $target; then
  rustup target add $target >&2
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64-static
# Tests that start the test binary again as a child (the mapped scan's SIGBUS tests) start it
# through qemu too.
export CCRESCUE_TEST_RUNNER=qemu-aarch64-static
cargo test --lib --target $target "${1:-session::}"
