#!/usr/bin/env bash
# The demo: in a throwaway sandbox (temp HOME and project, a local mock of the Anthropic API on
# 127.0.0.1 — nothing of yours is read or touched, nothing goes to the internet) the real claude
# gets stuck on "Usage credits required for 1M context", ccrescue rescues the session, and the
# real claude resumes it in Sonnet.
#
#   scripts/demo.sh          # needs cargo and npm; installs the pinned claude into target/claude
#
# On a terminal the wizard asks before each step (press Enter to take the safe default) and ends
# in interactive claude (type /exit to leave). Without a terminal it runs `ccrescue --yes`, and
# exits non-zero unless the rescue happened (CI runs it that way).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
else
  say() { printf '\n== %s\n' "$*" >&2; }
fi
fail() { printf '\ndemo failed: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

say "building ccrescue and the mock API"
cargo build --quiet -p ccrescue --bin ccrescue -p ccrescue-testbench --bin mockapi
ccrescue=$PWD/target/debug/ccrescue
mockapi=$PWD/target/debug/mockapi
say "installing the pinned claude (npm @anthropic-ai/claude-code@$(cat scripts/claude-version))"
claude=$(scripts/install-claude.sh)

sandbox=$(mktemp -d "${TMPDIR:-/tmp}/ccrescue-demo.XXXXXX")
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$sandbox"; }
trap cleanup EXIT
project="$sandbox/my project"
mkdir -p "$sandbox/home" "$sandbox/bin" "$project"
ln -s "$claude" "$sandbox/bin/claude"

# The mock plays the account gate: the first reply says the context holds 260K tokens; the next
# request (still on the 1M window) gets the long-context 429; a compaction in the small
# standard-context model is answered with a summary, and plain Sonnet gets replies again.
"$mockapi" \
  --rule '{"nth":0,"reply":{"kind":"text","text":"Done: I read the whole repository.","input_tokens":260000}}' \
  --rule '{"nth":1,"reply":{"kind":"credits_error","should_retry":false}}' \
  --rule '{"compaction":true,"model":"claude-haiku-4-5-20251001","reply":{"kind":"summary","text":"The user asked to read the whole repository; it was read, and a summary was requested."}}' \
  --rule '{"compaction":false,"model":"claude-sonnet-4-6","reply":{"kind":"text","text":"Back in Sonnet, with the summary of our conversation. Where were we?"}}' \
  --rule '{"reply":{"kind":"credits_error","should_retry":false}}' > "$sandbox/mock.url" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$sandbox/mock.url" ] && break; sleep 0.05; done
url=$(head -1 "$sandbox/mock.url")
[ -n "$url" ] || fail "the mock API did not start"

# A gateway token (unsigned JWT, aud claude-gateway) makes claude print the subscriber wording.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
token="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '{"aud":"claude-gateway","sub":"demo","exp":4000000000}' | b64url)."
real_project=$(cd "$project" && pwd -P)
printf '{"hasCompletedOnboarding":true,"projects":{"%s":{"hasTrustDialogAccepted":true}}}' "$real_project" > "$sandbox/home/.claude.json"

run() {
  env -i PATH="$sandbox/bin:/usr/bin:/bin" HOME="$sandbox/home" TMPDIR="$sandbox" TERM="${TERM:-dumb}" \
    ANTHROPIC_BASE_URL="$url" ANTHROPIC_AUTH_TOKEN="$token" \
    DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1 \
    "$@"
}

cd "$project"
say "claude -p 'read everything in this repo' --model 'claude-sonnet-4-6[1m]'"
run claude -p "read everything in this repo" --model 'claude-sonnet-4-6[1m]' </dev/null
say "claude -p 'now summarise it' --continue      (the session is now past 200K tokens)"
run claude -p "now summarise it" --continue </dev/null && fail "claude was expected to hit the 1M error"
session=$(ls "$sandbox/home/.claude/projects/"*/*.jsonl)
id=$(basename "$session" .jsonl)

if [ -t 0 ] && [ -t 2 ]; then
  say "ccrescue      (the wizard: press Enter to take each default; /exit leaves claude at the end)"
  status=0
  run "$ccrescue" || status=$?
  grep -q '"subtype":"compact_boundary"' "$session" || fail "the session was not compacted (ccrescue exited $status)"
else
  say "ccrescue --yes      (no terminal: every step takes its default)"
  next=$(run "$ccrescue" --yes) || fail "ccrescue --yes exited $?"
  grep -q '"subtype":"compact_boundary"' "$session" || fail "the session was not compacted"
  say "the session, resumed in Sonnet:  $next"
  reply=$(run claude -p "are we back?" --resume "$id" --model claude-sonnet-4-6 </dev/null) \
    || fail "claude could not resume the rescued session"
  printf '%s\n' "$reply"
  case "$reply" in *"Back in Sonnet"*) ;; *) fail "unexpected reply from the resumed session" ;; esac
fi
say "rescued: session $id resumes in claude-sonnet-4-6 ($(( $(date +%s) - started )) s in all)"
