#!/usr/bin/env bash
# The demo: the real claude gets stuck on "Usage credits required for 1M context" in a throwaway
# sandbox (temp HOME and project, a local mock of the Anthropic API on 127.0.0.1 — nothing of
# yours is read or touched, nothing goes to the internet), then ccrescue looks at it.
#
#   scripts/demo.sh          # needs cargo and npm; installs the pinned claude into target/claude
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "building ccrescue and the mock API"
cargo build --release --quiet -p ccrescue --bin ccrescue && cargo build --release --quiet -p ccrescue-testbench --bin mockapi
ccrescue=$PWD/target/release/ccrescue
mockapi=$PWD/target/release/mockapi
say "installing the pinned claude (npm @anthropic-ai/claude-code@$(cat scripts/claude-version))"
claude=$(scripts/install-claude.sh)

sandbox=$(mktemp -d "${TMPDIR:-/tmp}/ccrescue-demo.XXXXXX")
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$sandbox"; }
trap cleanup EXIT
project="$sandbox/my project"
mkdir -p "$sandbox/home" "$sandbox/bin" "$project"
ln -s "$claude" "$sandbox/bin/claude"

# The mock: the first reply says the context holds 260K tokens; every later request gets the
# long-context 429 that the account gate sends.
"$mockapi" --rule '{"nth":0,"reply":{"kind":"text","text":"Done: I read the whole repository.","input_tokens":260000}}' \
           --rule '{"from_nth":1,"reply":{"kind":"credits_error"}}' > "$sandbox/mock.url" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$sandbox/mock.url" ] && break; sleep 0.05; done
url=$(head -1 "$sandbox/mock.url")

# A gateway token (unsigned JWT, aud claude-gateway) makes claude print the subscriber wording.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
token="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '{"aud":"claude-gateway","sub":"demo","exp":4000000000}' | b64url)."
real_project=$(cd "$project" && pwd -P)
printf '{"hasCompletedOnboarding":true,"projects":{"%s":{"hasTrustDialogAccepted":true}}}' "$real_project" > "$sandbox/home/.claude.json"

run() {
  env -i PATH="$sandbox/bin:/usr/bin:/bin" HOME="$sandbox/home" TMPDIR="$sandbox" \
    ANTHROPIC_BASE_URL="$url" ANTHROPIC_AUTH_TOKEN="$token" \
    DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1 \
    "$@"
}

cd "$project"
say "claude -p 'read everything in this repo' --model 'claude-sonnet-4-6[1m]'"
run claude -p "read everything in this repo" --model 'claude-sonnet-4-6[1m]' </dev/null
say "claude -p 'now summarise it' --continue      (the session is now past 200K tokens)"
run claude -p "now summarise it" --continue </dev/null || echo "(claude exited with $?)" >&2
say "ccrescue"
run "$ccrescue"
