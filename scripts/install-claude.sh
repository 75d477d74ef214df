#!/usr/bin/env bash
# Installs the real Claude Code (npm @anthropic-ai/claude-code) into the project's own cache folder
# and prints the path of its `claude` binary. Idempotent: a version already installed is reused.
#
#   scripts/install-claude.sh            # the pinned version (scripts/claude-version)
#   scripts/install-claude.sh 2.1.150    # any published version
#
# Cache: $CCRESCUE_CLAUDE_CACHE, else <repo>/target/claude. Progress goes to stderr; stdout is
# only the binary's path, so callers can do `claude=$(scripts/install-claude.sh)`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
version=${1:-$(tr -d '[:space:]' < "$here/claude-version")}
cache=${CCRESCUE_CLAUDE_CACHE:-$repo/target/claude}
dir=$cache/$version
bin=$dir/node_modules/.bin/claude

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$version "; then
  echo "$bin"
  exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed to install claude $version (install Node.js)" >&2; exit 1; }
echo "installing @anthropic-ai/claude-code@$version into $dir ..." >&2
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.install-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The package's postinstall links the platform's native binary into place; npm 11 runs it. npm's
# own download cache goes in the temp folder and is deleted with it: the installed folder is the
# cache that counts, and a second copy of a ~360 MB package in ~/.npm only fills the disk.
npm install --prefix "$tmp" --cache "$tmp/.npm-cache" --no-audit --no-fund --loglevel=error \
  --engine-strict=false "@anthropic-ai/claude-code@$version" >&2
rm -rf "$tmp/.npm-cache"
got=$("$tmp/node_modules/.bin/claude" --version 2>/dev/null || true)
case "$got" in
  "$version "*) ;;
  *) echo "error: installed claude reports '$got', expected $version" >&2; exit 1 ;;
esac
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$bin"
