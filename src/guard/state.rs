//! The hook's memory per session (which thresholds it already announced, which prompt it last
//! refused), in ccrescue's own state folder — never in the project — pruned after two weeks.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use serde::{Deserialize, Serialize};

/// State files older than this are deleted.
const KEEP: Duration = Duration::from_secs(14 * 24 * 3600);
/// A refused prompt sent again unchanged within this long goes through.
pub const SEND_ANYWAY_WITHIN: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// Thresholds (tokens) already announced.
    #[serde(default)]
    pub said: Vec<u64>,
    /// Hash of the prompt last refused, and when (seconds since the epoch).
    #[serde(default)]
    pub refused: Option<(u64, u64)>,
    /// The context (tokens) at which the long-context refusal was last told.
    #[serde(default)]
    pub stuck_at: Option<u64>,
}

/// `<state dir>/ccrescue/guard` (`dirs::state_dir`, else the local data dir).
pub fn folder() -> Result<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("ccrescue").join("guard"))
        .ok_or_else(|| anyhow!("no state folder on this system"))
}

/// The file of `session_id` in `dir` (ids that are not plain are refused: they name the file).
fn file_of(dir: &Path, session_id: &str) -> Result<PathBuf> {
    let plain = !session_id.is_empty()
        && session_id.len() <= 100
        && session_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(anyhow!("unexpected session id {session_id:?}"));
    }
    Ok(dir.join(format!("{session_id}.json")))
}

/// The state of `session_id` (empty when none was kept or it is unreadable).
pub fn load(dir: &Path, session_id: &str) -> Result<SessionState> {
    let path = file_of(dir, session_id)?;
    Ok(fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// Keeps `state` for `session_id` (private file, replaced atomically), and prunes old files.
pub fn save(dir: &Path, session_id: &str, state: &SessionState) -> Result<()> {
    let path = file_of(dir, session_id)?;
    create_private_dir(dir)?;
    let temp = dir.join(format!(".{session_id}.{}.tmp", std::process::id()));
    let written = crate::fsx::create_new(&temp, &serde_json::to_vec(state)?)
        .and_then(|()| fs::rename(&temp, &path).context("cannot keep the guard's state"));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    prune(dir, SystemTime::now());
    written
}

/// Deletes state files not touched for two weeks.
pub fn prune(dir: &Path, now: SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > KEEP);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A stable hash of a prompt (FNV-1a: the same across ccrescue builds, unlike std's hasher).
pub fn prompt_hash(prompt: &str) -> u64 {
    prompt.trim().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_old_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("guard");
        let s = SessionState {
            said: vec![150_000],
            refused: Some((prompt_hash("hi"), 5)),
            stuck_at: None,
        };
        save(&d, "abc-1", &s).unwrap();
        assert_eq!(load(&d, "abc-1").unwrap(), s);
        assert_eq!(load(&d, "other").unwrap(), SessionState::default());
        assert!(load(&d, "../x").is_err());
        prune(&d, SystemTime::now() + KEEP + Duration::from_secs(60));
        assert_eq!(load(&d, "abc-1").unwrap(), SessionState::default());
    }
}
