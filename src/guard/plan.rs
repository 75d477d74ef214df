//! What `guard install` adds to a settings file and how `guard uninstall` finds it again, as pure
//! functions from the file's bytes to its new bytes (the writing is `guard::command`'s job).
//!
//! Everything guard adds is recognised by its command (`<ccrescue> hook EVENT …` or
//! `<ccrescue> statusline --guard`), and the compaction window it set is named by the hook command's
//! `--compact-window N`: a window the user set is never taken for guard's.
use std::path::Path;

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde_json::{Value, json};

use super::edit::{self, Child};
use crate::session::json_span;

/// The settings key claude reads the compaction window from (observed 2.1.150–2.1.332).
pub const WINDOW_SETTING: &str = "autoCompactWindow";
/// The environment variable with the same effect (an entry of the settings file's `env` block).
pub const WINDOW_ENV: &str = "CLAUDE_CODE_AUTO_COMPACT_WINDOW";
/// The status line guard sets: `statusline` with a marker of its own (the flag changes nothing).
const GUARD_STATUSLINE: &str = "statusline --guard";
/// Seconds claude gives each hook before giving up on it (ccrescue stops itself well before).
pub const HOOK_TIMEOUT_SECS: u64 = 10;

/// The thresholds, in context tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub warn_at: u64,
    pub block_at: u64,
}

/// Where the compaction window goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKey {
    /// The top-level `autoCompactWindow` setting.
    Setting,
    /// `env.CLAUDE_CODE_AUTO_COMPACT_WINDOW`.
    Env,
}

/// What to install.
#[derive(Debug, Clone)]
pub struct Install<'a> {
    pub exe: &'a Path,
    pub events: &'a [&'a str],
    pub thresholds: Thresholds,
    pub window: u64,
    pub window_key: WindowKey,
    pub statusline: bool,
    /// guard creates the file (or did, at an earlier install): uninstall deletes it again when
    /// nothing else is left in it (a project's `.claude/settings.json` is not left behind).
    pub made_file: bool,
}

/// What a settings file holds of guard's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Found {
    /// Events with a `ccrescue hook` entry.
    pub events: Vec<String>,
    pub thresholds: Option<Thresholds>,
    /// The window guard set (from its hook command), and whether the file still holds it.
    pub window: Option<u64>,
    /// The compaction window the file sets, whoever set it: (key, value).
    pub window_setting: Option<(String, String)>,
    pub statusline: bool,
    /// The file sets a status line that is not ccrescue's.
    pub other_statusline: bool,
    /// guard's hook says it created the file (`--made file`).
    #[serde(skip)]
    pub made_file: bool,
}

/// The shell command claude runs for `args` of this ccrescue (its path quoted when needed).
pub fn command_line(exe: &Path, args: &str) -> String {
    let p = exe.to_string_lossy();
    let plain = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:\\".contains(c));
    if plain {
        format!("{p} {args}")
    } else {
        format!("'{}' {args}", p.replace('\'', r"'\''"))
    }
}

/// The program and the rest of a shell `command` (a quoted program unquoted).
fn split_program(command: &str) -> Option<(&str, &str)> {
    let c = command.trim_start();
    if let Some(q) = c.strip_prefix('\'') {
        let end = q.find("' ")?;
        Some((&q[..end], &q[end + 2..]))
    } else if let Some(q) = c.strip_prefix('"') {
        let end = q.find("\" ")?;
        Some((&q[..end], &q[end + 2..]))
    } else {
        c.split_once(' ')
    }
}

/// The arguments after the program when `command` runs ccrescue, else `None`.
pub fn ccrescue_args(command: &str) -> Option<&str> {
    let (program, rest) = split_program(command)?;
    let name = program.rsplit(['/', '\\']).next()?;
    let name = name.strip_suffix(".exe").unwrap_or(name);
    let known = rest.starts_with("hook ") || matches!(rest.trim(), "statusline" | GUARD_STATUSLINE);
    (name == "ccrescue" && known).then_some(rest)
}

/// True when the status line `command` is the one guard install set: it says `--guard`. Any
/// other `ccrescue statusline` is the user's, and stays, whatever path runs it (an unmarked one
/// run by guard's own path may be the user's too: the same Homebrew path, say). Only builds
/// before the marker wrote one unmarked, and none of those was published.
fn is_guard_statusline(command: &str) -> bool {
    ccrescue_args(command).map(str::trim) == Some(GUARD_STATUSLINE)
}

fn hook_args(event: &str, t: Thresholds, window: Option<u64>, made: &[&str]) -> String {
    let mut a = format!(
        "hook {event} --warn-at {} --block-at {}",
        t.warn_at, t.block_at
    );
    if let Some(w) = window {
        a.push_str(&format!(" --compact-window {w}"));
    }
    if !made.is_empty() {
        a.push_str(&format!(" --made {}", made.join(",")));
    }
    a
}

/// The hook entry guard adds for `event`; `made` names the containers this install created
/// (`hooks`, `env`, `list` for the event's array), which uninstall removes again once empty.
fn entry(exe: &Path, event: &str, t: Thresholds, window: Option<u64>, made: &[&str]) -> Value {
    let mut e = json!({"hooks": [{
        "type": "command",
        "command": command_line(exe, &hook_args(event, t, window, made)),
        "timeout": HOOK_TIMEOUT_SECS,
    }]});
    if event == "SessionStart" {
        // Only a resumed session arrives with a context to measure.
        e["matcher"] = json!("resume");
    }
    e
}

/// `bytes` with guard installed as `plan` says (anything of guard's already there is replaced).
pub fn install(bytes: &[u8], plan: &Install<'_>) -> Result<Vec<u8>> {
    let mut b = uninstall(bytes)?;
    let top = edit::top(&b)?;
    let window = window_setting(&b, &top).is_none().then_some(plan.window);
    let mut made_env = false;
    if window.is_some() {
        b = match plan.window_key {
            WindowKey::Setting => {
                edit::insert_member(&b, &top, WINDOW_SETTING, &json!(plan.window))?
            }
            WindowKey::Env => {
                let value = json!(plan.window.to_string());
                match edit::member(&b, &top, "env") {
                    Some(env) if b[env.start] == b'{' => {
                        edit::insert_member(&b, &env, WINDOW_ENV, &value)?
                    }
                    Some(_) => return Err(anyhow!("its `env` is not an object")),
                    None => {
                        made_env = true;
                        edit::insert_member(&b, &top, "env", &json!({ WINDOW_ENV: value }))?
                    }
                }
            }
        };
    }
    for (i, event) in plan.events.iter().enumerate() {
        let top = edit::top(&b)?;
        let hooks = edit::member(&b, &top, "hooks");
        if hooks.as_ref().is_some_and(|h| b[h.start] != b'{') {
            return Err(anyhow!("its `hooks` is not an object"));
        }
        let list = hooks.as_ref().and_then(|h| edit::member(&b, h, event));
        if list.as_ref().is_some_and(|l| b[l.start] != b'[') {
            return Err(anyhow!("its `hooks.{event}` is not an array"));
        }
        let mut made = vec![];
        if i == 0 && plan.made_file {
            made.push("file");
        }
        if hooks.is_none() {
            made.push("hooks");
        }
        if i == 0 && made_env {
            made.push("env");
        }
        if list.is_none() {
            made.push("list");
        }
        // The window's owner is written on the first event's command only.
        let e = entry(
            plan.exe,
            event,
            plan.thresholds,
            window.filter(|_| i == 0),
            &made,
        );
        b = match (hooks, list) {
            (None, _) => edit::insert_member(&b, &top, "hooks", &json!({ *event: [e] }))?,
            (Some(h), None) => edit::insert_member(&b, &h, event, &json!([e]))?,
            (Some(_), Some(l)) => edit::append_item(&b, &l, &e)?,
        };
    }
    if plan.statusline {
        let top = edit::top(&b)?;
        if edit::member(&b, &top, "statusLine").is_none() {
            let line =
                json!({"type": "command", "command": command_line(plan.exe, GUARD_STATUSLINE)});
            b = edit::insert_member(&b, &top, "statusLine", &line)?;
        }
    }
    Ok(b)
}

/// `bytes` without anything guard added: its hook entries (and the containers it created for
/// them, once empty), the window its hook command names (when the file still has that value),
/// and its status line. Byte-identical to the file before `install` when nothing else changed.
pub fn uninstall(bytes: &[u8]) -> Result<Vec<u8>> {
    if is_blank(bytes) {
        return Ok(bytes.to_vec());
    }
    let found = find(bytes)?;
    let mut b = bytes.to_vec();
    let mut made_all: Vec<String> = vec![];
    while let Some((event, index, made)) = next_entry(&b)? {
        let list = event_list(&b, &event)?;
        b = edit::remove_child(&b, &list, index)?;
        let list = event_list(&b, &event)?;
        if made.iter().any(|m| m == "list") && edit::children(&b, &list)?.is_empty() {
            b = remove_member(&b, &["hooks"], &event)?;
        }
        made_all.extend(made);
    }
    let made = |what: &str| made_all.iter().any(|m| m == what);
    if made("hooks") {
        let top = edit::top(&b)?;
        if edit::member(&b, &top, "hooks")
            .is_some_and(|h| edit::children(&b, &h).is_ok_and(|c| c.is_empty()))
        {
            b = remove_member(&b, &[], "hooks")?;
        }
    }
    if let Some(w) = found.window {
        let top = edit::top(&b)?;
        let kids = edit::children(&b, &top)?;
        if last_index(&kids, WINDOW_SETTING).is_some_and(|i| holds(&b, &kids[i], w)) {
            b = remove_member(&b, &[], WINDOW_SETTING)?;
        } else if let Some(env) = edit::member(&b, &top, "env").filter(|e| b[e.start] == b'{') {
            let ekids = edit::children(&b, &env)?;
            if last_index(&ekids, WINDOW_ENV).is_some_and(|i| holds(&b, &ekids[i], w)) {
                b = remove_member(&b, &["env"], WINDOW_ENV)?;
                let top = edit::top(&b)?;
                let env = edit::member(&b, &top, "env").expect("env is still there");
                if made("env") && edit::children(&b, &env)?.is_empty() {
                    b = remove_member(&b, &[], "env")?;
                }
            }
        }
    }
    let top = edit::top(&b)?;
    let kids = edit::children(&b, &top)?;
    let guards_line = |span: &json_span::Span| {
        serde_json::from_slice::<Value>(&b[span.clone()])
            .ok()
            .and_then(|v| v.get("command")?.as_str().map(str::to_owned))
            .is_some_and(|c| is_guard_statusline(&c))
    };
    if last_index(&kids, "statusLine").is_some_and(|i| guards_line(&kids[i].value)) {
        b = remove_member(&b, &[], "statusLine")?;
    }
    Ok(b)
}

/// `b` without the last member `key` of the object at `path` (keys from the top).
fn remove_member(b: &[u8], path: &[&str], key: &str) -> Result<Vec<u8>> {
    let mut obj = edit::top(b)?;
    for k in path {
        obj = edit::member(b, &obj, k).ok_or_else(|| anyhow!("no `{k}`"))?;
    }
    let kids = edit::children(b, &obj)?;
    let i = last_index(&kids, key).ok_or_else(|| anyhow!("no `{key}`"))?;
    edit::remove_child(b, &obj, i)
}

/// The span of `hooks.<event>`.
fn event_list(b: &[u8], event: &str) -> Result<json_span::Span> {
    let top = edit::top(b)?;
    edit::member(b, &top, "hooks")
        .and_then(|h| edit::member(b, &h, event))
        .ok_or_else(|| anyhow!("no hooks.{event}"))
}

/// The next guard hook entry: its event, index in the event's array, and its `--made` list.
fn next_entry(b: &[u8]) -> Result<Option<(String, usize, Vec<String>)>> {
    let top = edit::top(b)?;
    let Some(hooks) = edit::member(b, &top, "hooks").filter(|h| b[h.start] == b'{') else {
        return Ok(None);
    };
    for ev in edit::children(b, &hooks)? {
        // Only the array JSON.parse keeps for a repeated event key is the live one.
        let key = ev.key.clone().unwrap_or_default();
        if b[ev.value.start] != b'[' || edit::member(b, &hooks, &key) != Some(ev.value.clone()) {
            continue;
        }
        for (i, it) in edit::children(b, &ev.value)?.iter().enumerate() {
            if is_ours(b, &it.value) {
                return Ok(Some((key, i, made_of(&b[it.value.clone()]))));
            }
        }
    }
    Ok(None)
}

/// The `--made` list of a guard hook entry's command.
fn made_of(entry: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(entry).unwrap_or_default();
    let command = v
        .pointer("/hooks/0/command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .iter()
        .position(|w| *w == "--made")
        .and_then(|i| words.get(i + 1))
        .map(|list| list.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// True when the object at `v` is a guard hook entry (every command in it runs `ccrescue hook`).
fn is_ours(b: &[u8], v: &json_span::Span) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(&b[v.clone()]) else {
        return false;
    };
    match value.get("hooks").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list.iter().all(|h| {
            h.get("command")
                .and_then(Value::as_str)
                .and_then(ccrescue_args)
                .is_some_and(|a| a.starts_with("hook "))
        }),
        _ => false,
    }
}

fn last_index(kids: &[Child], key: &str) -> Option<usize> {
    kids.iter().rposition(|k| k.key.as_deref() == Some(key))
}

/// The child's value is the number `w` or the string of it.
fn holds(b: &[u8], kid: &Child, w: u64) -> bool {
    match serde_json::from_slice::<Value>(&b[kid.value.clone()]) {
        Ok(Value::Number(n)) => n.as_u64() == Some(w),
        Ok(Value::String(s)) => s.trim() == w.to_string(),
        _ => false,
    }
}

fn window_setting(b: &[u8], top: &json_span::Span) -> Option<(String, String)> {
    let raw = |s: json_span::Span| String::from_utf8_lossy(&b[s]).into_owned();
    if let Some(v) = edit::member(b, top, WINDOW_SETTING) {
        return Some((WINDOW_SETTING.into(), raw(v)));
    }
    let env = edit::member(b, top, "env").filter(|e| b[e.start] == b'{')?;
    edit::member(b, &env, WINDOW_ENV).map(|v| (format!("env.{WINDOW_ENV}"), raw(v)))
}

pub(crate) use crate::settings::is_blank;

/// What of guard's the file holds.
pub fn find(bytes: &[u8]) -> Result<Found> {
    if is_blank(bytes) {
        return Ok(Found::default());
    }
    let top = edit::top(bytes)?;
    let v: Value = serde_json::from_slice(crate::settings::without_bom(bytes))?;
    let mut found = Found {
        window_setting: window_setting(bytes, &top),
        ..Found::default()
    };
    if let Some(events) = v.get("hooks").and_then(Value::as_object) {
        for (event, list) in events {
            let commands = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("hooks")?.as_array())
                .flatten()
                .filter_map(|h| h.get("command")?.as_str());
            for c in commands {
                let Some(args) = ccrescue_args(c).filter(|a| a.starts_with("hook ")) else {
                    continue;
                };
                if !found.events.contains(event) {
                    found.events.push(event.clone());
                }
                let words: Vec<&str> = args.split_whitespace().collect();
                let flag = |name: &str| {
                    words
                        .iter()
                        .position(|w| *w == name)
                        .and_then(|i| words.get(i + 1)?.parse::<u64>().ok())
                };
                if let (Some(warn_at), Some(block_at)) = (flag("--warn-at"), flag("--block-at")) {
                    found.thresholds = Some(Thresholds { warn_at, block_at });
                }
                if let Some(w) = flag("--compact-window") {
                    found.window = Some(w);
                }
                let made = words.iter().position(|w| *w == "--made");
                if let Some(list) = made.and_then(|i| words.get(i + 1)) {
                    found.made_file |= list.split(',').any(|m| m == "file");
                }
            }
        }
    }
    match v.get("statusLine").and_then(|s| s.get("command")) {
        Some(Value::String(c)) if is_guard_statusline(c) => found.statusline = true,
        Some(_) => found.other_statusline = true,
        None => found.other_statusline = v.get("statusLine").is_some(),
    }
    Ok(found)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
