//! Which session to work on: `--session` (id or path, checked), else the newest of the project —
//! unless a newer session without the error hides a stuck one from the last 24 hours.
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::context::Ctx;
use crate::error::refused;
use crate::paths::{self, SessionFile};
use crate::session::{SessionScan, scan};

/// How far back a stuck session may hide behind a newer one.
pub const STUCK_LOOKBACK: Duration = Duration::from_secs(24 * 60 * 60);

pub struct Chosen {
    pub file: SessionFile,
    pub scan: SessionScan,
    /// Why this session and not the newest, when that is the case.
    pub why: Option<String>,
}

/// The session the command should look at, or `None` when the project has no session.
pub fn choose(ctx: &Ctx) -> Result<Option<Chosen>> {
    if let Some(wanted) = &ctx.args.session {
        let file = requested(ctx, wanted)?;
        let scan = scan(&file.path)?;
        return Ok(Some(Chosen {
            file,
            scan,
            why: None,
        }));
    }
    let sessions = paths::list_sessions(&ctx.sessions_dir)?;
    let Some(newest) = sessions.first() else {
        return Ok(None);
    };
    let newest_scan = scan(&newest.path)?;
    if !newest_scan.blocked_by_long_context() {
        let since = SystemTime::now()
            .checked_sub(STUCK_LOOKBACK)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for other in sessions.iter().skip(1).take_while(|s| s.modified >= since) {
            let Ok(other_scan) = scan(&other.path) else {
                continue;
            };
            if other_scan.blocked_by_long_context() {
                let why = format!(
                    "the newest session {} has no 1M-context error, but {} (modified {}) has one: \
                     a later `claude -p` or /clear must have started the newer one. \
                     Pass --session {} to look at the newest instead.",
                    newest.id,
                    other.id,
                    crate::format::ago(other.modified),
                    newest.id
                );
                return Ok(Some(Chosen {
                    file: other.clone(),
                    scan: other_scan,
                    why: Some(why),
                }));
            }
        }
    }
    Ok(Some(Chosen {
        file: newest.clone(),
        scan: newest_scan,
        why: None,
    }))
}

/// The session file to work on and why (as [`choose`]), without reading it when `--session`
/// names it: for `trim`, which reads the session itself and should read it once (issue 12).
pub fn choose_file(ctx: &Ctx) -> Result<Option<(SessionFile, Option<String>)>> {
    if let Some(wanted) = &ctx.args.session {
        return Ok(Some((requested(ctx, wanted)?, None)));
    }
    Ok(choose(ctx)?.map(|c| (c.file, c.why)))
}

/// Resolves `--session ID|PATH`, refusing ids that are not UUIDs and paths outside the projects folder.
fn requested(ctx: &Ctx, wanted: &str) -> Result<SessionFile> {
    if paths::is_uuid(wanted) {
        let name = format!("{wanted}.jsonl");
        let here = ctx.sessions_dir.join(&name);
        if here.is_file() {
            return Ok(SessionFile::at(here)?);
        }
        // The id may belong to another project (ccrescue run from another folder).
        for dir in paths::list_project_dirs(&ctx.root)? {
            if dir.join(&name).is_file() {
                return Ok(SessionFile::at(dir.join(&name))?);
            }
        }
        return Err(refused(
            format!(
                "no session with id {wanted} under {}",
                ctx.root.join("projects").display()
            ),
            Some(listing(ctx)),
        ));
    }
    let looks_like_path =
        wanted.contains(['/', std::path::MAIN_SEPARATOR]) || wanted.ends_with(".jsonl");
    if !looks_like_path {
        return Err(refused(
            format!(
                "--session {wanted:?} is neither a session id (a UUID) nor a path to a .jsonl file"
            ),
            Some(listing(ctx)),
        ));
    }
    let path = PathBuf::from(wanted);
    if !paths::is_inside_projects(&ctx.root, &path)? {
        return Err(refused(
            format!("{} is not inside {}", path.display(), ctx.root.join("projects").display()),
            Some("ccrescue only works on claude's own session files; pass --config-dir if claude keeps them elsewhere".into()),
        ));
    }
    let path = paths::normalize(&path)?;
    if !paths::is_session_file_name(&path) {
        return Err(refused(
            format!(
                "{} is not a session: claude names its sessions <uuid>.jsonl \
                 (an agent-*.jsonl file is a subagent's transcript, part of its parent session)",
                path.display()
            ),
            Some(listing(ctx)),
        ));
    }
    match SessionFile::at(path.clone()) {
        Ok(f) if f.path.is_file() => Ok(f),
        Ok(f) => Err(refused(format!("{} is not a file", f.path.display()), None)),
        Err(e) => Err(refused(
            format!("cannot open session {}: {e}", path.display()),
            Some(listing(ctx)),
        )),
    }
}

/// The nearest folder above the project that claude has sessions for, if any (issue 16.9: run
/// from `proj/src`, ccrescue should point at `proj`).
pub fn nearest_with_sessions(ctx: &Ctx) -> Option<PathBuf> {
    let dir_name = None; // CLAUDE_CODE_PROJECT_DIR_NAME names one folder, not its parents'
    ctx.project.ancestors().skip(1).find_map(|dir| {
        let sessions = paths::project_sessions_dir(&ctx.root, dir, dir_name).ok()?;
        let found = paths::list_sessions(&sessions).ok()?;
        (!found.is_empty()).then(|| dir.to_owned())
    })
}

/// What to do when the project has no session: the nearest folder up that has some, else how
/// to find them.
pub fn no_session_hint(ctx: &Ctx) -> String {
    match nearest_with_sessions(ctx) {
        Some(dir) => format!(
            "the nearest folder up with claude sessions is {}: run ccrescue there, or pass -C {}",
            dir.display(),
            crate::ladder::quote(&dir.to_string_lossy())
        ),
        None => "if claude ran in another folder, run ccrescue there or pass -C DIR \
                 (`ccrescue sessions --all-projects` lists every project's sessions)"
            .into(),
    }
}

/// "sessions here: …" for error hints.
fn listing(ctx: &Ctx) -> String {
    match paths::list_sessions(&ctx.sessions_dir) {
        Ok(list) if !list.is_empty() => {
            let mut s = format!("sessions of this project ({}):", ctx.sessions_dir.display());
            for f in list.iter().take(10) {
                s.push_str(&format!("\n  {}  {}", f.id, crate::format::ago(f.modified)));
            }
            if list.len() > 10 {
                s.push_str(&format!(
                    "\n  … and {} more (ccrescue sessions)",
                    list.len() - 10
                ));
            }
            s
        }
        _ => format!(
            "this project has no sessions in {}; {}",
            ctx.sessions_dir.display(),
            no_session_hint(ctx)
        ),
    }
}
