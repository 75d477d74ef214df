#!/usr/bin/env bash
# For each claude version and model name, which model id claude sends and whether it adds the
# 1M-context beta header (context-1m-2025-08-07), with and without CLAUDE_CODE_DISABLE_1M_CONTEXT=1.
# Everything runs against the bench's mock API on 127.0.0.1, in a throwaway HOME.
#
#   scripts/alias-table.sh [VERSIONS…]     # default: the matrix versions
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.1.156 2.1.172 2.1.185 2.1.212 2.1.328 "$(tr -d '[:space:]' < scripts/claude-version)")
models=(default sonnet haiku opus "sonnet[1m]" "opus[1m]" claude-sonnet-4-6 "claude-sonnet-4-6[1m]")

cargo build --release --quiet -p ccrescue-testbench --bin mockapi
work=$(mktemp -d)
mock_pid=
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$work"' EXIT
target/release/mockapi --log "$work/log.jsonl" > "$work/url" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(head -1 "$work/url")
mkdir -p "$work/home" "$work/project"
echo '{"hasCompletedOnboarding":true}' > "$work/home/.claude.json"

printf '%-8s  %-22s  %-26s  %-26s\n' version model "sent (1M beta?)" "sent with DISABLE_1M=1"
for v in "${versions[@]}"; do
  claude=$(scripts/install-claude.sh "$v")
  for m in "${models[@]}"; do
    cells=()
    for disable in 0 1; do
      args=(-p hi)
      [ "$m" = default ] || args+=(--model "$m")
      extra=()
      [ "$disable" = 1 ] && extra=(CLAUDE_CODE_DISABLE_1M_CONTEXT=1)
      before=$(wc -l < "$work/log.jsonl" 2>/dev/null || echo 0)
      (cd "$work/project" && env -i PATH=/usr/bin:/bin HOME="$work/home" ANTHROPIC_BASE_URL="$url" \
        ANTHROPIC_API_KEY=sk-ant-alias-table DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1 \
        "${extra[@]}" timeout 120 "$claude" "${args[@]}" </dev/null >/dev/null 2>&1) || true
      cells+=("$(tail -n +"$((before + 1))" "$work/log.jsonl" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
rows = [r for r in rows if r.get("path", "").startswith("/v1/messages") and "count_tokens" not in r["path"]]
if not rows: print("(no request)")
else:
    r = rows[-1]
    print(r.get("model"), "+1M" if "context-1m" in (r.get("beta") or "") else "")
')")
    done
    printf '%-8s  %-22s  %-26s  %-26s\n' "$v" "$m" "${cells[0]}" "${cells[1]}"
  done
done
