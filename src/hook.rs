//! `ccrescue hook EVENT`: what claude runs for the guard's hook entries. Reads the hook's JSON on
//! stdin, measures the session, and answers on stdout: nothing under `--warn-at`; one
//! `systemMessage` per session and threshold past it; past `--block-at`, a refused prompt
//! (`UserPromptSubmit` only; slash commands always pass). A prompt sent after the long-context
//! error gets one line naming `ccrescue` as the way out (claude ignores a `StopFailure` hook's
//! output, so the next prompt is where the user can be told).
//!
//! A broken guard never locks the user out: any failure of ccrescue itself lets the prompt
//! through with one line on stderr (exit 1, which claude treats as a non-blocking error), and the
//! work runs under a hard time limit far below claude's hook timeout.
use std::io::{self, Read as _, Write as _};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::cli::HookArgs;
use crate::guard::measure::measure;
use crate::guard::state::{self, SEND_ANYWAY_WITHIN, SessionState};

/// ccrescue gives up (and lets the prompt through) after this long; claude waits 10 s.
const LIMIT: Duration = Duration::from_secs(3);
/// Most hook input ccrescue reads (claude's is a few KB; the prompt is in it).
const MAX_INPUT: u64 = 16 << 20;
/// The variable that turns the guard off for one claude (`CCRESCUE_GUARD=off claude`).
pub const OFF_VAR: &str = "CCRESCUE_GUARD";
/// The standard context window the thresholds protect.
pub const STANDARD_WINDOW: u64 = 200_000;

/// True when `CCRESCUE_GUARD=off` (or `0`) turns the guard off for this claude.
pub fn turned_off() -> bool {
    std::env::var(OFF_VAR).is_ok_and(|v| v == "off" || v == "0")
}

/// Runs the hook; returns the exit code (never fails: failures are reported and let through).
pub fn run(args: &HookArgs) -> u8 {
    if turned_off() {
        return 0;
    }
    let (tx, rx) = mpsc::channel();
    let a = args.clone();
    // A bug must not print a backtrace into claude's screen: one line, below.
    std::panic::set_hook(Box::new(|_| {}));
    std::thread::spawn(move || {
        let done = std::panic::catch_unwind(|| {
            let mut input = vec![];
            io::stdin()
                .take(MAX_INPUT)
                .read_to_end(&mut input)
                .context("cannot read the hook input")?;
            decide(&a, &input)
        });
        let _ = tx.send(done);
    });
    let failed = |why: String| {
        let _ = writeln!(
            io::stderr(),
            "ccrescue guard: {why}; let through (turn it off with `ccrescue guard uninstall`)"
        );
        1
    };
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(Ok(None))) => 0,
        Ok(Ok(Ok(Some(answer)))) => {
            let mut out = io::stdout().lock();
            match writeln!(out, "{answer}").and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(e) => failed(format!("cannot answer claude ({e})")),
            }
        }
        Ok(Ok(Err(e))) => failed(format!("{e:#}")),
        Ok(Err(_)) => failed("internal error".into()),
        Err(_) => failed(format!("no answer within {} s", LIMIT.as_secs())),
    }
}

/// About `n` tokens, in thousands.
pub fn kilo(n: u64) -> String {
    format!("~{}K", (n + 500) / 1000)
}

/// The answer to one hook call, as claude's hook JSON; `None`: nothing to say.
pub fn decide(args: &HookArgs, input: &[u8]) -> Result<Option<Value>> {
    let v: Value = serde_json::from_slice(input).context("the hook input is not JSON")?;
    let event = v
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or(&args.event);
    let str_of = |k: &str| v.get(k).and_then(Value::as_str);
    let session = str_of("session_id").context("the hook input has no session_id")?;
    let prompt = str_of("prompt");
    if event == "UserPromptSubmit" && prompt.is_some_and(|p| p.trim_start().starts_with('/')) {
        return Ok(None); // /compact, /clear and every other command always pass
    }
    let (tokens, stuck) = match v.get("context_tokens").and_then(Value::as_u64) {
        Some(t) => (t, false),
        None => {
            let path =
                str_of("transcript_path").context("the hook input has no transcript_path")?;
            match measure(std::path::Path::new(path))? {
                Some(m) => (m.tokens, m.stuck),
                None => return Ok(None),
            }
        }
    };
    if tokens < args.warn_at && !stuck {
        return Ok(None);
    }
    let dir = state::folder()?;
    let mut st = state::load(&dir, session)?;
    let answer = if stuck {
        // Once per refusal: a new error after a rescue is told again.
        if st.stuck_at == Some(tokens) {
            return Ok(None);
        }
        st.stuck_at = Some(tokens);
        Some(json!({ "systemMessage": STUCK }))
    } else if tokens >= args.block_at && event == "UserPromptSubmit" {
        block(args, &mut st, tokens, prompt.unwrap_or_default())
    } else {
        let level = if tokens >= args.block_at {
            args.block_at
        } else {
            args.warn_at
        };
        if st.said.contains(&level) {
            return Ok(None);
        }
        st.said.push(level);
        Some(json!({ "systemMessage": warning(tokens, level == args.block_at) }))
    };
    state::save(&dir, session, &st)?;
    Ok(answer)
}

/// Said on the next prompt after claude was refused for needing the 1M tier.
const STUCK: &str = "ccrescue guard: this session was refused for needing the 1M tier (\"Usage credits required for 1M context\"), and the next request will be too. Leave claude (/exit) and run `ccrescue` in this project: it compacts the session in a standard-context model and brings you back.";

fn warning(tokens: u64, past_block: bool) -> String {
    let when = if past_block { "now" } else { "soon" };
    format!(
        "ccrescue guard: this session holds {} tokens; /compact {when} keeps it under the 200K standard window (past it claude needs the 1M tier: \"Usage credits required for 1M context\").",
        kilo(tokens)
    )
}

/// Refuses the prompt, unless it is the one refused last, sent again within ten minutes.
fn block(args: &HookArgs, st: &mut SessionState, tokens: u64, prompt: &str) -> Option<Value> {
    let hash = state::prompt_hash(prompt);
    let now = state::now_secs();
    if let Some((h, at)) = st.refused
        && h == hash
        && now.saturating_sub(at) <= SEND_ANYWAY_WITHIN.as_secs()
    {
        st.refused = None;
        return Some(json!({
            "systemMessage": format!("ccrescue guard: sent anyway at {} tokens, as asked.", kilo(tokens))
        }));
    }
    st.refused = Some((hash, now));
    Some(json!({
        "decision": "block",
        "reason": format!(
            "ccrescue guard: this session holds {} tokens (limit set: {}K), close to the {}K standard window; past it claude needs the 1M tier (\"Usage credits required for 1M context\"). Run /compact, then send your prompt again. To send it anyway, send the same prompt again within {} minutes (or start claude with {OFF_VAR}=off).",
            kilo(tokens),
            args.block_at / 1000,
            STANDARD_WINDOW / 1000,
            SEND_ANYWAY_WITHIN.as_secs() / 60,
        )
    }))
}
