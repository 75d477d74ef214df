//! The `--json` documents: their shapes are a contract with scripts (the README lists the fields),
//! so they are built here from the domain types instead of serialising those directly.
use std::path::Path;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::claude::ClaudeInfo;
use crate::claude::Version;
use crate::diagnose::Diagnosis;
use crate::live::LiveClaude;
use crate::paths::SessionFile;
use crate::session::SessionScan;
use crate::session::scan::ErrorRecord;
use crate::settings::SettingsFindings;
use crate::settings::command::Outcome;
use crate::settings::fix::Plan;
use crate::settings::layers::{Effective, Layers};
use crate::settings::shell::EnvFix;

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn error_json(e: &Option<ErrorRecord>) -> Value {
    match e {
        None => Value::Null,
        Some(e) => json!({
            "kind": e.kind,
            "text": e.text,
            "line": e.line,
            "status": e.status,
            "api_error": e.api_error,
            "during_compaction": e.during_compaction,
            "resolved": e.resolved,
        }),
    }
}

/// The `session` object of `diagnose --json`.
pub fn session(
    file: &SessionFile,
    scan: &SessionScan,
    live: Option<&LiveClaude>,
    why: Option<&str>,
) -> Value {
    json!({
        "id": file.id,
        "path": file.path.to_string_lossy(),
        "bytes": scan.bytes,
        "modified": rfc3339(file.modified),
        "records": scan.records,
        "context_tokens": scan.context.map(|c| c.tokens),
        "context_source": scan.context.map(|c| c.source),
        "images": scan.media.images,
        "image_bytes": scan.media.image_bytes,
        "documents": scan.media.documents,
        "document_bytes": scan.media.document_bytes,
        "media_tokens": scan.media.est_tokens,
        "largest_media": scan.media.largest,
        "last_error": error_json(&scan.last_error),
        "long_context_error": error_json(&scan.last_long_context_error),
        "blocked": scan.blocked_by_long_context(),
        "compactions": scan.compactions,
        "last_boundary_line": scan.last_boundary_line,
        "failed_compactions": scan.failed_compactions,
        "conversation_records": scan.conversation_records,
        "request_copies": scan.request_copies,
        "other_records": scan.other_records,
        "live": live.is_some(),
        "live_pid": live.map(|l| l.pid),
        "model": scan.last_model,
        "entrypoint": scan.last_entrypoint,
        "cwd": scan.cwd,
        "version": scan.version,
        "first_prompt": scan.first_prompt,
        "malformed_lines": scan.malformed,
        "malformed_examples": scan.malformed_examples,
        "non_utf8_lines": scan.non_utf8_lines,
        "torn_last_line": scan.torn_last_line,
        "is_symlink": file.is_symlink,
        "why_chosen": why,
    })
}

fn claude_json(c: &ClaudeInfo) -> Value {
    json!({
        "path": c.path.as_ref().ok().map(|p| p.to_string_lossy()),
        "version": c.version.as_ref().ok().map(|v| v.to_string()),
        "problem": c.version.as_ref().err(),
        "capabilities": c.capabilities,
    })
}

/// The whole `diagnose --json` document.
pub fn diagnose(
    claude: &ClaudeInfo,
    config_dir: &Path,
    project: &Path,
    session: Value,
    settings: &SettingsFindings,
    d: &Diagnosis,
) -> Value {
    json!({
        "claude": claude_json(claude),
        "config_dir": config_dir.to_string_lossy(),
        "project": project.to_string_lossy(),
        "session": session,
        "pins": settings.pins,
        "knobs": settings.knobs,
        "causes": settings.causes.iter().chain(&d.causes).collect::<Vec<_>>(),
        "settings_problems": settings.problems,
        "symptom": d.symptom,
        "evidence": d.evidence,
        "plan": d.plan,
        "notes": d.notes,
        "subagents": crate::session::subagents::Summary::of(&d.subagents),
    })
}

/// One entry of `sessions --json`.
pub fn session_entry(
    file: &SessionFile,
    scan: Option<&SessionScan>,
    problem: Option<String>,
    project: &str,
    live: bool,
) -> Value {
    json!({
        "id": file.id,
        "path": file.path.to_string_lossy(),
        "project": project,
        "modified": rfc3339(file.modified),
        "bytes": file.bytes,
        "context_tokens": scan.and_then(|s| s.context.map(|c| c.tokens)),
        "last_error": scan.map_or(Value::Null, |s| error_json(&s.last_error)),
        "blocked": scan.is_some_and(SessionScan::blocked_by_long_context),
        "live": live,
        "first_prompt": scan.and_then(|s| s.first_prompt.clone()),
        "problem": problem,
    })
}

/// The `settings --json` document: `pins`/`knobs`/`settings_problems` as in `diagnose --json`,
/// plus the layers, the model claude will use, and (with `--fix`) what was changed.
pub fn settings(
    findings: &SettingsFindings,
    layers: &Layers,
    effective: &Effective,
    version: Option<Version>,
    plan: Option<&Plan>,
    outcomes: &[Outcome],
    env_fixes: &[EnvFix],
) -> Value {
    let fixes: Vec<Value> = outcomes
        .iter()
        .flat_map(|o| {
            o.fixes.iter().map(move |f| {
                json!({
                    "file": f.file.to_string_lossy(),
                    "scope": f.scope,
                    "key": f.key,
                    "before": f.before,
                    "after": f.after,
                    "line": f.line,
                    "column": f.column,
                    "applied": matches!(o.result, Some(Ok(_))),
                    "backup": match &o.result {
                        Some(Ok(Some(b))) => Value::from(b.to_string_lossy()),
                        _ => Value::Null,
                    },
                    "error": match &o.result {
                        Some(Err(e)) => Value::from(e.as_str()),
                        _ => Value::Null,
                    },
                })
            })
        })
        .collect();
    json!({
        "claude_version": version.map(|v| v.to_string()),
        "layers": layers.layers,
        "model": {
            "value": effective.winner.as_ref().map(|w| &w.value),
            "source": effective.winner,
            "mapped_by": effective.mapped_by.as_ref().map(|(s, v)| json!({"scope": s, "value": v})),
            "resolved": effective.meaning.model,
            "window": effective.meaning.window,
            "why": effective.meaning.why,
        },
        "pins": findings.pins,
        "knobs": findings.knobs,
        "causes": findings.causes,
        "settings_problems": findings.problems,
        "fixes": plan.map(|_| Value::from(fixes)),
        "untouched": plan.map(|p| &p.untouched),
        "env_fixes": plan.map(|_| env_fixes),
    })
}
