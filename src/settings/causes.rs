//! The late-2026 causes of the 1M error beyond the main model setting (issue 11 point 5), each
//! confirmed against the real claude with the bench's mock (docs/claude-versions.md): a subagent
//! model (`model:` in `.claude/agents/*.md`, `CLAUDE_CODE_SUBAGENT_MODEL`), `opusplan`, a `[1m]`
//! model recorded in the session or in one of its subagents, and the compaction settings
//! (`autoCompactWindow`, `CLAUDE_CODE_AUTO_COMPACT_WINDOW`, `idleCompaction`).
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::aliases::Alias;
use super::{Parsed, is_one_m, parse, redact};
use crate::diagnose::STANDARD_WINDOW;
use crate::ladder::RETURN_MODEL;

/// The process variable that picks the model of every subagent without one of its own.
pub const SUBAGENT_MODEL_VAR: &str = "CLAUDE_CODE_SUBAGENT_MODEL";
/// The process variable that sets the size claude compacts at.
const AUTO_COMPACT_VAR: &str = "CLAUDE_CODE_AUTO_COMPACT_WINDOW";
/// An agent definition larger than this is not read (they are a few KB).
const MAX_AGENT_FILE: u64 = 1 << 20;

/// One finding: where, what it is set to, why it matters, and the fix when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// `subagent_model`, `opusplan`, `session_model`, `compaction_window`, `idle_compaction`.
    pub kind: &'static str,
    /// The file (a settings file, an agent definition, the session), or `env`.
    pub file: String,
    pub key: String,
    pub value: String,
    pub why: String,
    /// What to change, when ccrescue can say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Why a model name may ask for the 1M window, when it may: `[1m]`, or an alias (every alias
/// is a natively 1M-context model from claude 2.1.328 on; the default too).
fn one_m_reason(value: &str) -> Option<String> {
    if is_one_m(value) {
        return Some("[1m] asks for the 1M window".into());
    }
    match Alias::parse(value) {
        Some(Alias::Default) | None => None,
        Some(_) => Some(format!(
            "the alias {} is a natively 1M-context model from claude 2.1.328 on",
            value.trim()
        )),
    }
}

/// The causes in the settings files (their `model`, `env` and compaction keys), in the agent
/// definitions beside them (`<dir>/agents/*.md`, `dir` being each file's folder), and in the
/// process variables `env`.
pub fn in_settings(files: &[PathBuf], env: &[(String, std::ffi::OsString)]) -> Vec<Cause> {
    let mut out = vec![];
    for (name, value) in env {
        let value = value.to_string_lossy();
        one_variable(&mut out, "env", name, &value);
    }
    let mut agent_dirs: Vec<PathBuf> = vec![];
    for file in files {
        if let Some(dir) = file.parent().map(|d| d.join("agents"))
            && !agent_dirs.contains(&dir)
        {
            agent_dirs.push(dir);
        }
        let Parsed::Doc(doc) = parse(file) else {
            continue;
        };
        let name = file.display().to_string();
        if let Some(model) = doc.get("model").and_then(Value::as_str) {
            opusplan(&mut out, &name, "model", model);
        }
        if let Some(window) = doc.get("autoCompactWindow") {
            compaction_window(&mut out, &name, "autoCompactWindow", &window.to_string());
        }
        if let Some(idle) = doc.get("idleCompaction") {
            out.push(Cause {
                kind: "idle_compaction",
                file: name.clone(),
                key: "idleCompaction".into(),
                value: idle.to_string(),
                why: if idle == &Value::Bool(false) {
                    "claude will not compact a long session while it is idle (2.1.3xx; on by \
                     default), so a session left past the standard window stays there"
                        .into()
                } else {
                    "claude compacts a long session while it is idle (2.1.3xx)".into()
                },
                fix: None,
            });
        }
        if let Some(vars) = doc.get("env").and_then(Value::as_object) {
            for (key, value) in vars {
                if let Some(value) = value.as_str() {
                    one_variable(&mut out, &name, &format!("env.{key}"), value);
                }
            }
        }
    }
    for dir in agent_dirs {
        agents(&mut out, &dir);
    }
    out
}

/// A process variable, or an `env` entry of a settings file (`key` is then `env.NAME`).
fn one_variable(out: &mut Vec<Cause>, file: &str, key: &str, value: &str) {
    let name = key.strip_prefix("env.").unwrap_or(key);
    match name {
        SUBAGENT_MODEL_VAR => {
            if let Some(reason) = one_m_reason(value) {
                out.push(Cause {
                    kind: "subagent_model",
                    file: file.into(),
                    key: key.into(),
                    value: redact(name, value),
                    why: format!(
                        "every subagent without a model of its own runs on it ({reason}): a 1M \
                         subagent under a 200K session is refused by the gate \
                         (anthropics/claude-code#68727)"
                    ),
                    fix: Some(format!("set {name} to {RETURN_MODEL}, or remove it")),
                });
            }
        }
        AUTO_COMPACT_VAR => compaction_window(out, file, key, value),
        "ANTHROPIC_MODEL" => opusplan(out, file, key, value),
        _ => {}
    }
}

fn opusplan(out: &mut Vec<Cause>, file: &str, key: &str, value: &str) {
    let base = super::aliases::strip_one_m(value)
        .trim()
        .to_ascii_lowercase();
    if base != "opusplan" {
        return;
    }
    out.push(Cause {
        kind: "opusplan",
        file: file.into(),
        key: key.into(),
        value: value.into(),
        why: "opusplan plans in Opus, a 1M-context request from claude 2.1.172 on, and executes \
              in the alias sonnet, natively 1M from claude 2.1.328 on (anthropics/claude-code#61869)"
            .into(),
        fix: Some(format!("use an explicit standard-context id such as {RETURN_MODEL}")),
    });
}

fn compaction_window(out: &mut Vec<Cause>, file: &str, key: &str, value: &str) {
    let tokens = value.trim().trim_matches('"').parse::<u64>().ok();
    let why = match tokens {
        Some(t) if t > STANDARD_WINDOW => format!(
            "claude is told to compact only at {t} tokens, past the {STANDARD_WINDOW}-token \
             standard window: a session can pass 200K first and be refused"
        ),
        Some(t) => format!(
            "claude is told to compact at {t} tokens, inside the standard window (not confirmed \
             in print mode on 2.1.332: a session at 199K on a 1M model was not compacted)"
        ),
        None => "not a number of tokens: claude says the setting is invalid".to_owned(),
    };
    out.push(Cause {
        kind: "compaction_window",
        file: file.into(),
        key: key.into(),
        value: value.into(),
        fix: tokens
            .is_some_and(|t| t > STANDARD_WINDOW)
            .then(|| "set it to 160000 or less".to_owned()),
        why,
    });
}

/// The `model:` of each agent definition in `dir` (`*.md`, YAML front matter).
fn agents(out: &mut Vec<Cause>, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for path in files {
        let Some(model) = front_matter_model(&path) else {
            continue;
        };
        if let Some(reason) = one_m_reason(&model) {
            out.push(Cause {
                kind: "subagent_model",
                file: path.display().to_string(),
                key: "model".into(),
                value: model,
                why: format!(
                    "this subagent runs on it ({reason}), whatever the session's model: a 1M \
                     subagent under a 200K session is refused by the gate \
                     (anthropics/claude-code#68727)"
                ),
                fix: Some(format!(
                    "change `model:` to {RETURN_MODEL}, or to `inherit` (the session's model)"
                )),
            });
        }
    }
}

/// The `model:` value of a Markdown file's front matter (`---` … `---` at the top).
fn front_matter_model(path: &Path) -> Option<String> {
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_AGENT_FILE)
        .read_to_string(&mut text)
        .ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    for line in lines {
        if line.trim_end() == "---" {
            return None;
        }
        if let Some(value) = line.strip_prefix("model:") {
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            return (!value.is_empty()).then(|| value.to_owned());
        }
    }
    None
}

/// The causes recorded with a session: the `[1m]` model claude recorded in it (a plain
/// `claude --resume` brings it back from 2.1.328 on), and the models its subagents ran on
/// (`<session>/subagents/*.meta.json`, 2.1.3xx).
pub fn in_session(session: &Path, recorded_model: Option<&str>) -> Vec<Cause> {
    let mut out = vec![];
    let file = session.display().to_string();
    if let Some(model) = recorded_model.filter(|m| is_one_m(m)) {
        out.push(Cause {
            kind: "session_model",
            file: file.clone(),
            key: "attachment.model".into(),
            value: model.to_owned(),
            why: "the session recorded that it runs on a 1M model, and claude 2.1.328 and later \
                  resume it on that model unless --model says otherwise \
                  (anthropics/claude-code#93021, #76363)"
                .into(),
            fix: Some(format!(
                "resume with --model {RETURN_MODEL} (the wizard's return does)"
            )),
        });
    }
    let dir = session.with_extension("").join("subagents");
    let Ok(entries) = fs::read_dir(&dir) else {
        return out;
    };
    let mut metas: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".meta.json"))
        .collect();
    metas.sort();
    for meta in metas {
        let model = fs::read(&meta)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned));
        if let Some(model) = model.filter(|m| is_one_m(m)) {
            out.push(Cause {
                kind: "subagent_model",
                file: meta.display().to_string(),
                key: "model".into(),
                value: model,
                why: "a subagent of this session ran on a 1M model; its refusal can hold the \
                      whole claude to 200K (anthropics/claude-code#92456)"
                    .into(),
                fix: Some(
                    "find where its model comes from: `ccrescue settings` lists the agents' \
                     `model:` and CLAUDE_CODE_SUBAGENT_MODEL"
                        .into(),
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_env_opusplan_and_compaction_settings_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let claude_dir = tmp.path().join(".claude");
        fs::create_dir_all(claude_dir.join("agents")).unwrap();
        fs::write(
            claude_dir.join("agents/big.md"),
            "---\nname: big\nmodel: \"claude-sonnet-4-6[1m]\"\n---\nbody model: x\n",
        )
        .unwrap();
        fs::write(
            claude_dir.join("agents/inherit.md"),
            "---\nname: i\nmodel: inherit\n---\n",
        )
        .unwrap();
        fs::write(
            claude_dir.join("agents/none.md"),
            "no front matter\nmodel: opus\n",
        )
        .unwrap();
        let settings = claude_dir.join("settings.json");
        fs::write(
            &settings,
            r#"{"model":"opusplan","autoCompactWindow":500000,"idleCompaction":false,"env":{"CLAUDE_CODE_SUBAGENT_MODEL":"sonnet"}}"#,
        )
        .unwrap();
        let env = vec![(
            SUBAGENT_MODEL_VAR.to_owned(),
            std::ffi::OsString::from("claude-opus-4-8[1m]"),
        )];
        let found = in_settings(std::slice::from_ref(&settings), &env);
        let kinds: Vec<_> = found.iter().map(|c| (c.kind, c.key.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("subagent_model", SUBAGENT_MODEL_VAR),
                ("opusplan", "model"),
                ("compaction_window", "autoCompactWindow"),
                ("idle_compaction", "idleCompaction"),
                ("subagent_model", "env.CLAUDE_CODE_SUBAGENT_MODEL"),
                ("subagent_model", "model"),
            ]
        );
        assert!(found[2].why.contains("past the 200000-token"));
        assert_eq!(found[2].fix.as_deref(), Some("set it to 160000 or less"));
        assert!(found[5].file.ends_with("big.md"));
        assert_eq!(found[5].value, "claude-sonnet-4-6[1m]");
        assert!(found[4].why.contains("the alias sonnet"));
    }

    #[test]
    fn the_session_and_its_subagents_are_looked_at() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join("abc.jsonl");
        fs::write(&session, "").unwrap();
        let subs = tmp.path().join("abc/subagents");
        fs::create_dir_all(&subs).unwrap();
        fs::write(
            subs.join("agent-1.meta.json"),
            r#"{"model":"claude-sonnet-4-6[1m]"}"#,
        )
        .unwrap();
        fs::write(
            subs.join("agent-2.meta.json"),
            r#"{"model":"claude-sonnet-4-6"}"#,
        )
        .unwrap();
        let found = in_session(&session, Some("claude-sonnet-4-6[1m]"));
        let kinds: Vec<_> = found.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["session_model", "subagent_model"]);
        assert!(in_session(&session, Some("claude-sonnet-4-6")).len() == 1);
    }
}
