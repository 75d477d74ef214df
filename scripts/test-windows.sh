#!/usr/bin/env bash
# ccrescue's Windows build, run under wine: cross-builds for x86_64-pc-windows-gnu (Debian's
# mingw-w64), runs the unit tests under wine (the integration tests drive claude through unix ptys
# and signals, and there is no Windows claude here), then a user's round trip with ccrescue.exe on a
# session under %USERPROFILE%\.claude: diagnose, sessions, trim --yes (the original bytes must be
# in the backup), restore --yes (the original bytes must be back), and trim --yes refused while
# another program holds the session open (scripts/wine/hold.c). Ends with one line,
# "windows (wine): N passed, N failed".
#
#   scripts/test-windows.sh                # installs mingw-w64 and wine with apt-get when missing (root)
#
# Debian's wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std imports, so no Rust
# program starts there; scripts/wine/bcryptprimitives.c is a stand-in, built with mingw and put in
# the test's own wine prefix (target/wine/prefix; ~/.wine is not touched).
#
# What wine cannot tell: how real Windows shares files (wine's sharing checks are its own; an
# antivirus or indexer holding a file open does not exist here), NTFS ACLs, the real console
# (Ctrl-C, colors, the wizard's keys), PowerShell, and paths that only real Windows produces
# (\\?\ prefixes, OneDrive-redirected profiles, 8.3 names).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
target=x86_64-pc-windows-gnu
say() { echo "test-windows: $*" >&2; }

if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Only the x86-64 C compiler (the linker Rust uses, and the shim's compiler): the
    # `mingw-w64` metapackage adds i686, C++ and a second thread model, about 1 GB more on disk.
    say "apt-get install gcc-mingw-w64-x86-64-win32 wine wine64"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc-mingw-w64-x86-64-win32 wine wine64 >&2
    apt-get clean >&2 # the downloaded .deb files (hundreds of MB) are not needed once installed
  else
    say "needs mingw-w64's gcc and wine (Debian/Ubuntu: apt-get install gcc-mingw-w64-x86-64-win32 wine wine64, as root)"
    exit 1
  fi
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx $target; then
  rustup target add $target >&2
fi

export WINEPREFIX=$root/target/wine/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating the wine prefix $WINEPREFIX"
  mkdir -p "$(dirname "$WINEPREFIX")" # wine makes the prefix, not its parents (a fresh clone's target/)
  wineboot -i >/dev/null 2>&1
fi
x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c -ladvapi32
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# 1. The unit tests, under wine.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --target $target -p ccrescue --lib --bins ${CCRESCUE_WINDOWS_TESTS:-} -- "$@" 2>&1 | tee "$log" || status=$?
read -r p f < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")
passed=$((passed + p))
failed=$((failed + f))
[ "$status" = 0 ] || [ "$f" != 0 ] || bad "cargo test under wine exited $status (see above)"

# 2. A user's round trip with ccrescue.exe, on a session in %USERPROFILE%\.claude (wine maps C:
#    to the prefix's drive_c and the profile to C:\users\<user>).
cargo build --quiet --locked --target $target --bin ccrescue
cargo build --quiet --locked -p ccrescue-testbench --bin gen_session
exe=$root/target/$target/debug/ccrescue.exe
profile_win=$(wine cmd /c 'echo %USERPROFILE%' 2>/dev/null | tr -d '\r')
profile=$(winepath -u "$profile_win" 2>/dev/null)
project_win='C:\ccrescue test\project'
project=$(winepath -u "$project_win" 2>/dev/null)
slug=$(printf %s "$project_win" | sed 's/[^A-Za-z0-9]/-/g')
id=5b0a4c1e-0000-4000-8000-0000000000aa
sessions=$profile/.claude/projects/$slug
session=$sessions/$id.jsonl
rm -rf "$profile/.claude" "$(dirname "$project")"
mkdir -p "$project" "$sessions"
target/debug/gen_session --size 400K --image-share 0.8 --session-id "$id" --cwd "$project_win" --out "$session" >/dev/null 2>&1
original=$(mktemp)
cp "$session" "$original"
win() { (cd "$project" && NO_COLOR=1 wine "$exe" "$@" 2>&1 | tr -d '\r') || true; } # its status: not checked, its effects are
expect() { # expect NAME OUTPUT NEEDLE...: passes when OUTPUT holds every NEEDLE
  local name=$1 out=$2 needle
  shift 2
  for needle in "$@"; do
    if ! grep -qF -- "$needle" <<<"$out"; then
      bad "$name: no \"$needle\" in:"
      printf '%s\n' "$out" | sed 's/^/     | /'
      return 0
    fi
  done
  ok "$name"
}
expect "diagnose finds the session in %USERPROFILE%\\.claude" "$(win diagnose)" "$id" "$profile_win\\.claude\\projects\\$slug"
expect "sessions lists it" "$(win sessions)" "${id:0:8}"
out=$(win trim --yes)
backups=$(find "$sessions" -name "$id.jsonl.bak*" | sort)
if grep -q "removed by ccrescue" "$session" && [ "$(wc -l <<<"$backups")" = 1 ] && cmp -s "$backups" "$original"; then
  ok "trim --yes trims the session and its backup holds the original bytes"
else
  bad "trim --yes: session trimmed: $(grep -c "removed by ccrescue" "$session"); backups: ${backups:-none}; it said:"
  printf '%s\n' "$out" | sed 's/^/     | /'
fi
out=$(win restore --yes)
if cmp -s "$session" "$original"; then
  ok "restore --yes puts the original bytes back"
else
  bad "restore --yes: the session differs from the original; it said:"
  printf '%s\n' "$out" | sed 's/^/     | /'
fi

# 3. Another program holds the session open (no delete sharing, like most Windows programs): trim
#    must refuse, say so, and leave the bytes as they are.
x86_64-w64-mingw32-gcc -O2 -o "$root/target/wine/hold.exe" scripts/wine/hold.c
cp "$session" "$original"
fifo=$(mktemp -u)
mkfifo "$fifo"
wine "$root/target/wine/hold.exe" "$(winepath -w "$session" 2>/dev/null)" <"$fifo" >"$fifo.out" 2>&1 &
holder=$!
exec 3>"$fifo"
for _ in $(seq 300); do grep -q held "$fifo.out" 2>/dev/null && break; sleep 0.1; done
out=$(win trim --yes)
exec 3>&-
wait $holder || true
if cmp -s "$session" "$original" && grep -q "another program has it open" <<<"$out"; then
  ok "trim --yes on a session another program holds open refuses, says so, changes nothing"
else
  bad "trim --yes with the session held open (holder: $(cat "$fifo.out")); session unchanged: $(cmp -s "$session" "$original" && echo yes || echo no); it said:"
  printf '%s\n' "$out" | sed 's/^/     | /'
fi
rm -f "$original" "$fifo" "$fifo.out"
# wine's server outlives the programs by a few seconds and still writes in the prefix: wait for it,
# so that nothing of this script runs on (and the prefix can be deleted) once it has returned.
wineserver -w 2>/dev/null || true

echo
echo "windows (wine): $passed passed, $failed failed"
[ "$failed" = 0 ]
