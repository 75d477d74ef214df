#!/usr/bin/env bash
# The npm packages as a user gets them (Linux): scripts/package-npm.sh builds the tarballs, then
# `npm install --global --offline` of them into a temp prefix (an empty npm cache: nothing may come
# from a registry), and through the installed `ccrescue` launcher: --version, `diagnose` on a
# sandbox session, exit statuses and death by a signal passed through, CCRESCUE_BINARY, Ctrl-C at
# the wizard's first question on a terminal (the shell sees 130), and SIGINT sent to the launcher
# alone. The main package installed without its platform package says what to run. The Linux
# binary is static (ldd) and runs in a chroot holding nothing but itself. Ends with one line,
# "npm: N passed, N failed".
#
# Needs: cargo, node/npm, script(1) (util-linux), chroot and root (CI runs as root, else sudo -n).
# The wizard's question needs a claude on PATH: the pinned real one, from scripts/install-claude.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { # check NAME EXPECTED_STATUS ACTUAL_STATUS OUTPUT NEEDLE...
  local name=$1 want=$2 got=$3 out=$4 needle
  shift 4
  if [ "$got" != "$want" ]; then
    bad "$name: exit status $got, expected $want; output:"
    printf '%s\n' "$out" | sed 's/^/     | /'
    return
  fi
  for needle in "$@"; do
    if ! grep -qF -- "$needle" <<<"$out"; then
      bad "$name: output lacks \"$needle\"; output:"
      printf '%s\n' "$out" | sed 's/^/     | /'
      return
    fi
  done
  ok "$name"
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
claude=$(scripts/install-claude.sh)
cargo build --quiet --locked -p ccrescue-testbench --bin gen_session

mapfile -t tarballs < <(scripts/package-npm.sh)
[ ${#tarballs[@]} -ge 2 ] || { echo "package-npm.sh printed ${#tarballs[@]} tarball(s), expected the main package and this platform's"; exit 1; }
main=${tarballs[0]}
case $(basename "$main") in ccrescue-"$version".tgz) ok "package-npm.sh prints the main package first" ;; *) bad "first tarball is $main" ;; esac

t=$(mktemp -d "${TMPDIR:-/tmp}/ccrescue-npm.XXXXXX")
cleanup() { exec 3>&- 2>/dev/null || true; rm -rf "$t"; }
trap cleanup EXIT
npm_offline() { npm install --global --offline --no-audit --no-fund --cache "$t/npm-cache" --prefix "$@"; }

# 1. Install both tarballs offline, as `npm i -g` would from the registry.
npm_offline "$t/global" "${tarballs[@]}" >"$t/npm.log" 2>&1 || { cat "$t/npm.log"; echo "npm install --offline failed"; exit 1; }
shim=$t/global/bin/ccrescue
binary=$(find "$t/global/lib/node_modules/@ccrescue" -path '*/bin/ccrescue' -type f | head -n1)
[ -x "$shim" ] && [ -x "$binary" ] && ok "npm install --offline of the tarballs gives bin/ccrescue and an executable platform binary" \
  || bad "after npm install: launcher '$shim', binary '$binary'"

status=0; out=$("$shim" --version 2>&1) || status=$?
check "ccrescue --version through the launcher" 0 $status "$out" "ccrescue $version"

# 2. diagnose on a sandbox session (synthetic, with the 1M error), in a HOME of its own.
mkdir -p "$t/home" "$t/project" "$t/bin"
ln -s "$claude" "$t/bin/claude"
project=$(cd "$t/project" && pwd -P)
slug=$(printf %s "$project" | sed 's/[^A-Za-z0-9]/-/g')
id=5b0a4c1e-0000-4000-8000-00000000000e
mkdir -p "$t/home/.claude/projects/$slug"
target/debug/gen_session --size 300K --session-id "$id" --cwd "$project" \
  --out "$t/home/.claude/projects/$slug/$id.jsonl" >/dev/null 2>&1
sandbox() { (cd "$project" && env -i PATH="$t/bin:/usr/bin:/bin" HOME="$t/home" TERM=xterm "$@"); }
status=0; out=$(sandbox "$shim" diagnose 2>&1) || status=$?
check "ccrescue diagnose on a sandbox session" 0 $status "$out" "$id" "Usage credits required for 1M context" "Next: "

# 3. Exit statuses: ccrescue's own, any status of the binary, and death by a signal.
status=0; out=$(sandbox "$shim" diagnose --session 00000000-0000-4000-8000-000000000000 2>&1) || status=$?
check "a refusal's exit status 2 comes through" 2 $status "$out" "00000000-0000-4000-8000-000000000000"
status=0; out=$(sandbox "$shim" --no-such-flag 2>&1) || status=$?
check "a usage error's exit status 2 comes through" 2 $status "$out" "--no-such-flag"
printf '#!/bin/sh\necho "args: $*"\nexit 7\n' >"$t/exit7"
printf '#!/bin/sh\nkill -TERM $$\n' >"$t/term"
chmod +x "$t/exit7" "$t/term"
status=0; out=$(CCRESCUE_BINARY=$t/exit7 "$shim" a 'b c' 2>&1) || status=$?
check "CCRESCUE_BINARY runs that binary with the arguments; its status 7 comes through" 7 $status "$out" "args: a b c"
status=0; out=$(CCRESCUE_BINARY=$t/term "$shim" 2>&1) || status=$?
check "a binary killed by SIGTERM ends the launcher by SIGTERM (143)" 143 $status "$out"
status=0; out=$(CCRESCUE_BINARY=$t/missing "$shim" 2>&1) || status=$?
check "a CCRESCUE_BINARY that does not exist is named, exit 1" 1 $status "$out" "$t/missing" "unset it"

# 4. Ctrl-C at the wizard's first question, on a terminal (script(1) gives it one): the terminal
#    sends SIGINT to launcher and ccrescue alike; the shell must see 130. Then SIGINT sent to the
#    launcher alone (kill, not the terminal) must reach ccrescue and end both the same way.
wizard() { # wizard NAME HOW: runs the wizard on a pty, interrupts it at the question
  local name=$1 how=$2 log=$t/$1.log status=0 i
  rm -f "$t/in" "$log"
  mkfifo "$t/in"
  sandbox script -qefc "exec '$shim'" "$log" <"$t/in" >/dev/null 2>&1 &
  local pid=$!
  exec 3>"$t/in"
  for i in $(seq 600); do grep -q "What do you see?" "$log" 2>/dev/null && break; sleep 0.1; done
  if [ "$how" = tty ]; then
    printf '\003' >&3
  else
    kill -INT "$(pgrep -f "^node $shim\$")"
  fi
  for i in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then # a failure, not a hang: end launcher and ccrescue, by pid
    for node in $(pgrep -f "^node $shim\$"); do
      pkill -KILL -P "$node" || true
      kill -KILL "$node" || true
    done
    wait $pid || true
    exec 3>&-
    bad "$name: still running a minute after the interrupt; it printed:"
    tr -d '\r' <"$log" | sed 's/^/     | /'
    return
  fi
  wait $pid || status=$?
  exec 3>&-
  check "$name" 130 $status "$(tr -d '\r' <"$log")" "What do you see?" "Nothing was changed."
}
wizard "Ctrl-C at the wizard's question ends the launcher with 130" tty
wizard "SIGINT to the launcher alone reaches ccrescue; 130" kill

# 5. The main package alone (no platform package, as under --omit=optional).
npm_offline "$t/alone" "$main" >"$t/npm-alone.log" 2>&1 || { cat "$t/npm-alone.log"; echo "npm install of the main package alone failed"; exit 1; }
status=0; out=$("$t/alone/bin/ccrescue" --version 2>&1) || status=$?
check "the main package alone says which package is missing and what to run" 1 $status "$out" \
  "@ccrescue/linux-" "npm install -g ccrescue --include=optional" "CCRESCUE_BINARY"

# 6. The Linux binary is static and runs where there is nothing else: a chroot holding only it,
#    a HOME and a session (no /proc, no /etc, no loader, no libc).
if ldd "$binary" 2>&1 | grep -qE "not a dynamic executable|statically linked"; then
  ok "ldd: the Linux binary is static"
else
  bad "ldd: the Linux binary is dynamic: $(ldd "$binary" 2>&1 | tr '\n' ' ')"
fi
chroot=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot)
jail=$t/jail
mkdir -p "$jail/home/.claude/projects/-project" "$jail/project"
cp "$binary" "$jail/ccrescue"
cp "$t/home/.claude/projects/$slug/$id.jsonl" "$jail/home/.claude/projects/-project/"
status=0; out=$(as_root env -i HOME=/home "$chroot" "$jail" /ccrescue --version 2>&1) || status=$?
check "the binary runs alone in a chroot: --version" 0 $status "$out" "ccrescue $version"
status=0; out=$(as_root env -i HOME=/home "$chroot" "$jail" /ccrescue diagnose -C /project 2>&1) || status=$?
check "the binary runs alone in a chroot: diagnose" 0 $status "$out" "$id"

echo
echo "npm: $passed passed, $failed failed"
[ "$failed" = 0 ]
