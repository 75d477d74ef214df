//! Bare `ccrescue guard`: where guard is installed (user, project, local settings), with what
//! thresholds and window, and what the installed claude supports. What it prints from a
//! settings file (event names, values) is escaped: the file may hold anything.
use std::io::{self, Write};

use anyhow::Result;
use serde_json::{Value, json};

use super::command::{read, scope_name, scope_path};
use super::plan::{self, Found};
use super::{state, support};
use crate::cli::GuardScope;
use crate::context::Ctx;
use crate::error::EXIT_OK;
use crate::{claude, format};

/// Bare `guard`: in which settings files it is installed, with what, and what the installed
/// claude supports.
pub(super) fn status(ctx: &Ctx) -> Result<u8> {
    let info = claude::inspect(&ctx.claude_env, ctx.claude.clone(), false);
    let version = info.version.as_ref().ok().copied();
    let sup = support(version);
    let mut rows = vec![];
    for scope in [GuardScope::User, GuardScope::Project, GuardScope::Local] {
        let path = scope_path(ctx, scope);
        let found = match read(&path) {
            Ok(Some(b)) => plan::find(&b).map_err(|e| format!("{e:#}")),
            Ok(None) => Ok(Found::default()),
            Err(e) => Err(format!("{e:#}")),
        };
        rows.push((scope, path, found));
    }
    let mut out = io::stdout().lock();
    if ctx.args.json {
        let scopes: Vec<Value> = rows
            .iter()
            .map(|(s, p, f)| match f {
                Ok(f) => json!({"scope": scope_name(*s), "file": p, "guard": found_json(f)}),
                Err(e) => json!({"scope": scope_name(*s), "file": p, "problem": e}),
            })
            .collect();
        let doc = json!({"scopes": scopes, "claude_version": version.map(|v| v.to_string()), "support": sup, "state_folder": state::folder().ok()});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(EXIT_OK);
    }
    let mut any = false;
    for (scope, path, found) in &rows {
        match found {
            Ok(f) if !f.events.is_empty() || f.statusline => {
                any = true;
                writeln!(
                    out,
                    "Installed ({}) in {}:",
                    scope_name(*scope),
                    path.display()
                )?;
                for line in describe(f) {
                    writeln!(out, "  {line}")?;
                }
            }
            Ok(_) => writeln!(
                out,
                "Not installed ({}) in {}",
                scope_name(*scope),
                path.display()
            )?,
            Err(e) => writeln!(
                out,
                "Unreadable ({}) {}: {}",
                scope_name(*scope),
                path.display(),
                format::safe(e)
            )?,
        }
    }
    let claude_line = match (&info.version, version) {
        (_, Some(v)) => format!(
            "claude {v}: hook events {}; compaction window via {}",
            sup.events.join(", "),
            if sup.window_setting {
                "the autoCompactWindow setting"
            } else {
                "the env entry CLAUDE_CODE_AUTO_COMPACT_WINDOW"
            }
        ),
        (Err(why), None) => format!(
            "claude: {why} (install would use the conservative choice: UserPromptSubmit and SessionStart, env entry)"
        ),
        (Ok(_), None) => unreachable!("a version is Some"),
    };
    writeln!(out, "{claude_line}")?;
    if !any {
        writeln!(
            out,
            "Install it with `ccrescue guard install` (asks first; `ccrescue guard uninstall` removes it)."
        )?;
    }
    Ok(EXIT_OK)
}

/// What of guard's a file holds, in lines (escaped: they quote the file).
pub(super) fn describe(f: &Found) -> Vec<String> {
    let mut lines = vec![];
    if let Some(t) = f.thresholds {
        lines.push(format!(
            "hooks {}: warn past {} tokens, refuse prompts past {}",
            format::safe(&f.events.join(", ")),
            format::thousands(t.warn_at),
            format::thousands(t.block_at)
        ));
    }
    match (&f.window, &f.window_setting) {
        (Some(_), Some((k, v))) => lines.push(format!(
            "{k}: {} (claude compacts itself past it)",
            format::safe(v)
        )),
        (None, Some((k, v))) => lines.push(format!("{k}: {} (yours; kept)", format::safe(v))),
        _ => {}
    }
    if f.statusline {
        lines.push("statusLine: ccrescue statusline (tokens against the 200K window)".into());
    }
    lines
}

pub(super) fn found_json(f: &Found) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}
