//! The recovery ladder as data: for each symptom, the steps in the order to try them, each with
//! the exact command (when there is one to run) and why. Nothing here runs anything.
use std::collections::BTreeMap;

use serde::Serialize;

/// The small standard-context model to compact with: an explicit 200K id, because the aliases
/// resolve to natively-1M models in recent claude versions.
pub const COMPACT_MODEL: &str = "claude-haiku-4-5-20251001";
/// The standard-context model to return to after compacting.
pub const RETURN_MODEL: &str = "claude-sonnet-4-6";

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A stable name: `quit_claude`, `compact`, `trim`, `return`, `clear`, `fix_settings`,
    /// `standard_model`, `account`.
    pub step: &'static str,
    /// The argv to run, or `None` when the step is something the user does.
    pub command: Option<Vec<String>>,
    /// Environment variables the command needs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The folder to run it in (the session's recorded working directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    pub why: String,
}

impl Step {
    fn says(step: &'static str, why: String) -> Step {
        Step {
            step,
            command: None,
            env: BTreeMap::new(),
            cwd: None,
            why,
        }
    }

    /// A step that runs `claude ARGS` in the session's folder, with the config dir passed on.
    pub(crate) fn runs(step: &'static str, i: &LadderInput, args: &[&str], why: String) -> Step {
        let mut env = BTreeMap::new();
        if let Some(dir) = i.config_dir {
            env.insert("CLAUDE_CONFIG_DIR".to_owned(), dir.to_owned());
        }
        let command = std::iter::once(i.claude)
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect();
        Step {
            step,
            command: Some(command),
            env,
            cwd: i.cwd.map(str::to_owned),
            why,
        }
    }

    /// The command as a person would type it, in the step's folder: `cd DIR && VAR=1 claude …`
    /// (PowerShell syntax on Windows).
    pub fn shell_line(&self) -> Option<String> {
        let argv = self.command.as_ref()?;
        let mut parts: Vec<String> = vec![];
        if let Some(cwd) = &self.cwd {
            parts.push(format!("cd {}", quote(cwd)));
        }
        let env = self.env.iter().map(|(k, v)| {
            if cfg!(windows) {
                // A bare word after `=` is a command to PowerShell: the value is always a string.
                format!("$env:{k}='{}'", v.replace('\'', "''"))
            } else {
                format!("{k}={}", quote(v))
            }
        });
        let command = argv.iter().map(|a| quote(a));
        if cfg!(windows) {
            parts.extend(env);
            let command = command.collect::<Vec<_>>().join(" ");
            // PowerShell runs a quoted program path only through its call operator.
            let call = if command.starts_with('\'') { "& " } else { "" };
            parts.push(format!("{call}{command}"));
            Some(parts.join("; "))
        } else {
            parts.push(env.chain(command).collect::<Vec<_>>().join(" "));
            Some(parts.join(" && "))
        }
    }
}

/// Quotes an argument for display when a shell would split or expand it (single quotes, which
/// POSIX shells and PowerShell both take; only the escaping of a quote inside differs).
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b));
    if plain {
        arg.to_owned()
    } else if cfg!(windows) {
        format!("'{}'", arg.replace('\'', "''"))
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// What the ladder needs to know about the situation.
pub struct LadderInput<'a> {
    /// How to name claude in commands (`claude`, or the path given).
    pub claude: &'a str,
    pub session_id: &'a str,
    pub cwd: Option<&'a str>,
    /// `--config-dir`, which every claude command must get as `CLAUDE_CONFIG_DIR`.
    pub config_dir: Option<&'a str>,
    pub live_pid: Option<u32>,
    pub images: u64,
    pub media_tokens: u64,
    pub pins: usize,
    /// The model to compact with ([`COMPACT_MODEL`] unless `--compact-model` says otherwise).
    pub compact_model: &'a str,
    /// The model to return to ([`RETURN_MODEL`] unless `--model` says otherwise).
    pub return_model: &'a str,
    /// Text tool outputs over this many bytes are the second trim (`--tool-output-over`).
    pub tool_output_over: u64,
}

/// `--resume=<id>` in one argument, so that no session id can ever be read as a flag of its own
/// (issue 17.5); every claude from 2.1.150 to 2.1.332 takes this form (docs/claude-versions.md).
/// The id itself is a UUID: `paths::list_sessions` and `--session` admit no other session.
fn resume(i: &LadderInput) -> String {
    format!("--resume={}", i.session_id)
}

/// The overflow ladder: compact in a small standard-context model, trim media if that fails,
/// return to Sonnet; `/clear` last.
pub fn overflow(i: &LadderInput) -> Vec<Step> {
    let mut steps = vec![];
    if let Some(pid) = i.live_pid {
        steps.push(Step::says(
            "quit_claude",
            format!("claude (pid {pid}) is running on this session: quit it first (type /exit, or press Ctrl-C twice)"),
        ));
    }
    let mut compact = Step::runs(
        "compact",
        i,
        &["-p", "/compact", &resume(i), "--model", i.compact_model],
        format!(
            "summarise the conversation with {}, a 200K-context model that is not gated; the session keeps its id",
            i.compact_model
        ),
    );
    compact
        .env
        .insert("CLAUDE_CODE_DISABLE_1M_CONTEXT".into(), "1".into());
    steps.push(compact);
    let media = if i.images > 0 {
        format!(
            "{} image(s), about {} tokens",
            i.images,
            crate::format::thousands(i.media_tokens)
        )
    } else {
        "images and large tool outputs".to_owned()
    };
    steps.push(Step::says(
        "trim",
        format!("if the compaction is refused for its size (whatever the estimate says): take every image and document after the last compaction ({media}) out of the session file (after a backup) and compact again; if it is still refused, shorten the text tool outputs over {} and compact again", crate::format::human_bytes(i.tool_output_over)),
    ));
    steps.push(Step::says(
        "pieces",
        format!("if the conversation itself is too long for {} to read in one request: summarise it in parts that each fit (one `claude -p` each, the latest turns kept verbatim) and write the summaries into the session as a compaction (after a backup); `ccrescue compact` on its own", i.compact_model),
    ));
    steps.push(Step::runs(
        "return",
        i,
        &[&resume(i), "--model", i.return_model],
        format!("carry on in {}, a standard-context model", i.return_model),
    ));
    steps.push(Step::says(
        "clear",
        "last resort: /clear in claude starts a new session without the conversation (the old one stays on disk, resumable with --resume)".into(),
    ));
    steps
}

/// The brand-new-session case: mostly account-side; check pins, pick a standard model explicitly.
pub fn fresh_session(i: &LadderInput) -> Vec<Step> {
    let mut steps = vec![];
    if i.pins > 0 {
        steps.push(Step::says(
            "fix_settings",
            format!("{} setting(s) ask for the 1M window ([1m]): `ccrescue settings --fix` changes them to standard-context ids such as {RETURN_MODEL} (it asks before each file and keeps a backup)", i.pins),
        ));
    }
    steps.push(Step::runs(
        "standard_model",
        i,
        &[&resume(i), "--model", i.return_model],
        format!(
            "ask for {} explicitly: a 200K-context model the gate does not apply to",
            i.return_model
        ),
    ));
    steps.push(Step::says(
        "account",
        "if the error comes back on a new session with a standard model, it is account-side (tracked in anthropics/claude-code#63060): turn on usage credits at claude.ai/settings/usage, or wait for a fix".into(),
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> LadderInput<'static> {
        LadderInput {
            claude: "claude",
            session_id: "55fc",
            cwd: Some("/p q"),
            config_dir: None,
            live_pid: None,
            images: 3,
            media_tokens: 6000,
            pins: 0,
            compact_model: COMPACT_MODEL,
            return_model: RETURN_MODEL,
            tool_output_over: 10_000,
        }
    }

    /// The expected line: POSIX shell syntax, or PowerShell's on Windows.
    fn line<'a>(posix: &'a str, powershell: &'a str) -> &'a str {
        if cfg!(windows) { powershell } else { posix }
    }

    #[test]
    fn overflow_ladder_order_and_commands() {
        let steps = overflow(&input());
        let names: Vec<_> = steps.iter().map(|s| s.step).collect();
        assert_eq!(names, ["compact", "trim", "pieces", "return", "clear"]);
        assert_eq!(
            steps[0].shell_line().unwrap(),
            line(
                "cd '/p q' && CLAUDE_CODE_DISABLE_1M_CONTEXT=1 claude -p /compact --resume=55fc --model claude-haiku-4-5-20251001",
                "cd '/p q'; $env:CLAUDE_CODE_DISABLE_1M_CONTEXT='1'; claude -p /compact --resume=55fc --model claude-haiku-4-5-20251001"
            )
        );
        assert_eq!(steps[0].cwd.as_deref(), Some("/p q"));
        assert!(steps[1].why.contains("3 image(s), about 6,000 tokens"));
        assert!(steps[1].why.contains("whatever the estimate says"));
        assert!(steps[1].why.contains("text tool outputs over 10.0 KB"));
        assert_eq!(
            steps[3].shell_line().unwrap(),
            line(
                "cd '/p q' && claude --resume=55fc --model claude-sonnet-4-6",
                "cd '/p q'; claude --resume=55fc --model claude-sonnet-4-6"
            )
        );
        let elsewhere = overflow(&LadderInput {
            config_dir: Some("/cfg"),
            cwd: None,
            ..input()
        });
        assert_eq!(
            elsewhere[3].shell_line().unwrap(),
            line(
                "CLAUDE_CONFIG_DIR=/cfg claude --resume=55fc --model claude-sonnet-4-6",
                "$env:CLAUDE_CONFIG_DIR='/cfg'; claude --resume=55fc --model claude-sonnet-4-6"
            ),
            "claude must look in the same config root as ccrescue did"
        );
        let live = overflow(&LadderInput {
            live_pid: Some(42),
            ..input()
        });
        assert_eq!(live[0].step, "quit_claude");
        assert!(live[0].why.contains("pid 42"));
    }

    #[test]
    fn fresh_session_mentions_pins_only_when_there_are_some() {
        assert_eq!(fresh_session(&input())[0].step, "standard_model");
        assert_eq!(
            fresh_session(&LadderInput { pins: 2, ..input() })[0].step,
            "fix_settings"
        );
        assert!(
            fresh_session(&LadderInput { pins: 2, ..input() })[0]
                .why
                .contains("ccrescue settings --fix")
        );
    }

    #[test]
    fn a_quoted_claude_path_is_called_in_powershell() {
        let steps = overflow(&LadderInput {
            claude: r"C:\Program Files\claude.exe",
            cwd: None,
            ..input()
        });
        assert_eq!(
            steps[3].shell_line().unwrap(),
            line(
                r"'C:\Program Files\claude.exe' --resume=55fc --model claude-sonnet-4-6",
                r"& 'C:\Program Files\claude.exe' --resume=55fc --model claude-sonnet-4-6"
            )
        );
    }

    #[test]
    fn quoting_for_display() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), line(r"'it'\''s'", "'it''s'"));
        assert_eq!(quote("/compact"), "/compact");
        assert_eq!(quote(""), "''");
    }
}
