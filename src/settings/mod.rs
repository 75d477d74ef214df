//! Settings layers and environment variables that choose claude's model: finds `[1m]` pins and
//! the standard-context knobs, never showing a secret. The layers and who wins live in `layers`,
//! what a name means per claude version in `aliases`, the in-place edit in `fix`, the lines for
//! the user's shell in `shell`, and the `ccrescue settings` command in `command`.
pub mod aliases;
pub mod causes;
pub mod command;
pub mod fix;
pub mod layers;
pub mod shell;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// The suffix that asks for the 1M-context window.
pub const ONE_M_SUFFIX: &str = "[1m]";
/// Process variables that choose or map models (the subagents' one too: issue 11 point 5).
pub const MODEL_VARS: [&str; 5] = [
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    causes::SUBAGENT_MODEL_VAR,
];
/// Variables that switch standard context or early compaction on.
pub const KNOB_VARS: [&str; 2] = [
    "CLAUDE_CODE_DISABLE_1M_CONTEXT",
    "CLAUDE_CODE_AUTO_COMPACT_WINDOW",
];

/// One model-related setting found in a settings file or the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The settings file, or `env` for a process variable.
    pub file: String,
    /// `model`, `env.NAME`, or the variable's name.
    pub key: String,
    pub value: String,
}

/// A setting that asks for the 1M window.
pub type Pin = Setting;
/// A standard-context switch that is set somewhere.
pub type Knob = Setting;

/// A settings file ccrescue could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsProblem {
    pub file: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsFindings {
    pub pins: Vec<Pin>,
    pub knobs: Vec<Knob>,
    pub problems: Vec<SettingsProblem>,
    /// Subagent models, `opusplan`, compaction settings (see `causes`).
    pub causes: Vec<causes::Cause>,
}

/// The settings files claude reads, highest precedence first (managed settings override all).
pub fn settings_files(root: &Path, project: &Path) -> Vec<PathBuf> {
    vec![
        managed_settings_path(),
        project.join(".claude").join("settings.local.json"),
        project.join(".claude").join("settings.json"),
        root.join("settings.json"),
    ]
}

/// Where the administrator's managed settings live on this platform.
pub fn managed_settings_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode/managed-settings.json")
    } else if cfg!(windows) {
        PathBuf::from(r"C:\ProgramData\ClaudeCode\managed-settings.json")
    } else {
        PathBuf::from("/etc/claude-code/managed-settings.json")
    }
}

/// True when a model id asks for the 1M window.
pub fn is_one_m(model: &str) -> bool {
    model.to_ascii_lowercase().contains(ONE_M_SUFFIX)
}

/// Looks through `files` and the process variables `env` (name, value) for pins and knobs.
pub fn find(files: &[PathBuf], env: &[(String, OsString)]) -> SettingsFindings {
    let mut out = SettingsFindings::default();
    for (name, value) in env {
        let value = value.to_string_lossy();
        if MODEL_VARS.contains(&name.as_str()) && is_one_m(&value) {
            out.pins.push(Pin {
                file: "env".into(),
                key: name.clone(),
                value: redact(name, &value),
            });
        }
        if KNOB_VARS.contains(&name.as_str()) {
            out.knobs.push(Knob {
                file: "env".into(),
                key: name.clone(),
                value: redact(name, &value),
            });
        }
    }
    for file in files {
        read_file(file, &mut out);
    }
    out.causes = causes::in_settings(files, env);
    out
}

/// A settings file as read from disk.
pub(crate) enum Parsed {
    Absent,
    /// Unreadable or invalid: what is wrong, in words (with line and column for bad JSON).
    Problem(String),
    Doc(Value),
}

/// `bytes` without a leading UTF-8 byte-order mark. Editors on Windows write one; claude reads
/// such a settings file as if it were not there (observed on 2.1.328, test
/// `settings_real::a_settings_file_with_a_byte_order_mark_is_read_and_fixed`), so ccrescue must too.
pub(crate) fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// True for a settings file that is empty or only whitespace (after a BOM), which claude reads as
/// no settings at all, silently (2.1.332), as ccrescue does.
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    without_bom(bytes).iter().all(u8::is_ascii_whitespace)
}

/// The largest settings file ccrescue reads (claude's are a few KiB).
pub(crate) const SETTINGS_CAP: u64 = 4 << 20;

/// The bytes of a settings file: a regular file of at most [`SETTINGS_CAP`] bytes, read without
/// hanging on a FIFO (issue 17 point 10).
pub(crate) fn read_settings(path: &Path) -> io::Result<Vec<u8>> {
    crate::fsx::read_small(path, SETTINGS_CAP)
}

/// Reads and parses one settings file; never fails.
pub(crate) fn parse(path: &Path) -> Parsed {
    let text = match read_settings(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Parsed::Absent,
        Err(e) => return Parsed::Problem(format!("cannot read it: {e}")),
    };
    if is_blank(&text) {
        return Parsed::Doc(Value::Object(Default::default()));
    }
    match serde_json::from_slice(without_bom(&text)) {
        Ok(doc) => Parsed::Doc(doc),
        Err(e) => {
            let hint = if text.windows(2).any(|w| w == b"//" || w == b"/*") {
                " (comments are not JSON)"
            } else {
                ""
            };
            Parsed::Problem(format!(
                "invalid JSON at line {}, column {}: {e}{hint}; left as it is",
                e.line(),
                e.column()
            ))
        }
    }
}

fn read_file(path: &Path, out: &mut SettingsFindings) {
    let name = path.display().to_string();
    let doc = match parse(path) {
        Parsed::Absent => return,
        Parsed::Problem(problem) => {
            out.problems.push(SettingsProblem {
                file: name,
                problem,
            });
            return;
        }
        Parsed::Doc(doc) => doc,
    };
    if let Some(model) = doc
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| is_one_m(m))
    {
        out.pins.push(Pin {
            file: name.clone(),
            key: "model".into(),
            value: redact("model", model),
        });
    }
    let Some(env) = doc.get("env").and_then(Value::as_object) else {
        return;
    };
    for (key, value) in env {
        let Some(value) = value.as_str() else {
            continue;
        };
        if is_one_m(value) {
            out.pins.push(Pin {
                file: name.clone(),
                key: format!("env.{key}"),
                value: redact(key, value),
            });
        }
        if KNOB_VARS.contains(&key.as_str()) {
            out.knobs.push(Knob {
                file: name.clone(),
                key: format!("env.{key}"),
                value: redact(key, value),
            });
        }
    }
}

/// The value as it may be shown: anything whose name or shape looks like a secret is hidden.
pub fn redact(key: &str, value: &str) -> String {
    let secret_name = is_secret_name(key);
    let secret_shape =
        value.starts_with("sk-") || value.starts_with("eyJ") || value.starts_with("Bearer ");
    if secret_name || secret_shape {
        "<redacted>".into()
    } else {
        value.to_owned()
    }
}

/// True when a setting's name says it holds a secret (`…KEY`, `…TOKEN`, `apiKeyHelper`, …).
pub fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH"]
        .iter()
        .any(|w| k.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn finds_pins_in_model_and_env_entries_and_in_process_variables() {
        let tmp = tempfile::tempdir().unwrap();
        let user = write(
            tmp.path(),
            "user.json",
            r#"{"model":"claude-sonnet-4-6[1m]","env":{"ANTHROPIC_DEFAULT_SONNET_MODEL":"sonnet[1M]","CLAUDE_CODE_DISABLE_1M_CONTEXT":"1","ANTHROPIC_API_KEY":"sk-ant-secret[1m]"}}"#,
        );
        let proj = write(tmp.path(), "proj.json", r#"{"model":"claude-sonnet-4-6"}"#);
        let env = vec![
            ("ANTHROPIC_MODEL".to_owned(), OsString::from("opus[1m]")),
            ("HOME".to_owned(), OsString::from("/h")),
        ];
        let f = find(&[proj, user.clone()], &env);
        let keys: Vec<_> = f
            .pins
            .iter()
            .map(|p| (p.file.as_str(), p.key.as_str(), p.value.as_str()))
            .collect();
        let user = user.display().to_string();
        assert_eq!(
            keys,
            vec![
                ("env", "ANTHROPIC_MODEL", "opus[1m]"),
                (user.as_str(), "model", "claude-sonnet-4-6[1m]"),
                (user.as_str(), "env.ANTHROPIC_API_KEY", "<redacted>"),
                (
                    user.as_str(),
                    "env.ANTHROPIC_DEFAULT_SONNET_MODEL",
                    "sonnet[1M]"
                ),
            ]
        );
        assert_eq!(f.knobs.len(), 1);
        assert_eq!(f.knobs[0].key, "env.CLAUDE_CODE_DISABLE_1M_CONTEXT");
        assert!(f.problems.is_empty());
    }

    #[test]
    fn invalid_json_is_a_problem_with_a_position_not_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let bad = write(
            tmp.path(),
            "bad.json",
            "{\n  // my model\n  \"model\": \"x[1m]\"\n}",
        );
        let f = find(&[bad.clone(), tmp.path().join("missing.json")], &[]);
        assert!(f.pins.is_empty());
        assert_eq!(f.problems.len(), 1);
        assert!(
            f.problems[0].problem.contains("line 2, column"),
            "{:?}",
            f.problems
        );
        assert!(
            f.problems[0].problem.contains("comments"),
            "{:?}",
            f.problems
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        assert_eq!(redact("ANTHROPIC_AUTH_TOKEN", "abc"), "<redacted>");
        assert_eq!(redact("apiKeyHelper", "x"), "<redacted>");
        assert_eq!(redact("SOMETHING", "sk-ant-123"), "<redacted>");
        assert_eq!(redact("SOMETHING", "eyJhbGciOi"), "<redacted>");
        // A key pasted where the model goes is not shown as a pin either.
        let tmp = tempfile::tempdir().unwrap();
        let pasted = write(tmp.path(), "s.json", r#"{"model":"sk-ant-api03-x[1m]"}"#);
        assert_eq!(find(&[pasted], &[]).pins[0].value, "<redacted>");
        assert_eq!(
            redact("ANTHROPIC_MODEL", "claude-sonnet-4-6[1m]"),
            "claude-sonnet-4-6[1m]"
        );
    }
}
