//! Everything the wizard does to the world, behind one trait: reading sessions, the live check,
//! backups, running claude, trimming, writing the handoff note. `Real` does it; unit tests put a
//! recording fake in its place, so the same wizard code runs in both.
use crate::restore::journal;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::note::Gathered;
use crate::claude_run::{self, Event, Headless, Invocation, Verdict};
use crate::fsx;
use crate::live::{self, LiveClaude};
use crate::paths::{self, SessionFile};
use crate::session::{self, SessionScan};
use crate::settings::fix::FileFix;

/// What a trim would take out, shown before the user confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimPreview {
    /// One line per kind of block removed (`3 images, about 6,000 tokens`).
    pub lines: Vec<String>,
}

pub trait World {
    fn live(&self, session_id: &str) -> Option<LiveClaude>;
    fn scan(&self, path: &Path) -> Result<SessionScan>;
    /// The sessions of the project, newest first.
    fn sessions(&self) -> Result<Vec<SessionFile>>;
    /// Removes ccrescue's own stale temp files beside the session (left by a killed run);
    /// returns a line for the user per file. Nothing by default (a fake world has none).
    fn sweep_stale_temps(&mut self, _path: &Path) -> Vec<String> {
        vec![]
    }
    /// A real copy of the session; returns its path.
    fn backup(&mut self, path: &Path) -> Result<PathBuf>;
    fn end_torn_line(&mut self, path: &Path) -> Result<bool>;
    fn run_headless(
        &mut self,
        inv: &Invocation,
        watch: &mut dyn FnMut(&Event) -> Verdict,
    ) -> Result<Headless>;
    /// What a trim would remove, or `None` when there is nothing to trim.
    fn trim_preview(&mut self, path: &Path) -> Result<Option<TrimPreview>>;
    /// Trims the session (with its own backup); returns the backup's path.
    fn trim(&mut self, path: &Path) -> Result<PathBuf>;
    /// What the handoff note is made of (read from the session).
    fn gather_note(&self, path: &Path) -> Result<Gathered>;
    /// Writes a new file (never over an existing one).
    fn write_new(&mut self, path: &Path, text: &str) -> Result<()>;
    fn hand_over(&mut self, inv: &Invocation) -> Result<i32>;
    /// Writes the settings fixes of one file (with a backup); returns the backup.
    fn fix_settings(&mut self, fixes: &[FileFix]) -> Result<Option<PathBuf>>;
}

/// The world as it is.
pub struct Real {
    pub root: PathBuf,
    pub sessions_dir: PathBuf,
    /// The trim plan last shown, applied as shown when confirmed.
    pub shown_trim: Option<crate::trim::TrimPlan>,
    /// Set before the first step that may change a file (or lets claude change one), so that
    /// "nothing was changed" is only ever said when true.
    pub changed: bool,
}

impl World for Real {
    fn live(&self, session_id: &str) -> Option<LiveClaude> {
        live::find_live(&self.root, session_id)
    }

    fn scan(&self, path: &Path) -> Result<SessionScan> {
        session::scan(path)
    }

    fn sessions(&self) -> Result<Vec<SessionFile>> {
        paths::list_sessions(&self.sessions_dir)
    }

    fn sweep_stale_temps(&mut self, path: &Path) -> Vec<String> {
        let mut said = vec![];
        fsx::sweep_stale_temps_beside(path, |line| said.push(line.to_owned()));
        said
    }

    fn backup(&mut self, path: &Path) -> Result<PathBuf> {
        self.changed = true;
        journal::set_reason(journal::Reason::Compaction);
        fsx::backup_copy(path)
    }

    fn end_torn_line(&mut self, path: &Path) -> Result<bool> {
        self.changed = true;
        fsx::end_torn_line(path)
    }

    fn run_headless(
        &mut self,
        inv: &Invocation,
        watch: &mut dyn FnMut(&Event) -> Verdict,
    ) -> Result<Headless> {
        self.changed = true;
        claude_run::run_headless(inv, watch)
    }

    fn trim_preview(&mut self, path: &Path) -> Result<Option<TrimPreview>> {
        Ok(trim_rung::preview(path)?.map(|(preview, plan)| {
            self.shown_trim = Some(plan);
            preview
        }))
    }

    fn trim(&mut self, path: &Path) -> Result<PathBuf> {
        self.changed = true;
        journal::set_reason(journal::Reason::Trim);
        trim_rung::apply(path, self.shown_trim.take())
    }

    fn gather_note(&self, path: &Path) -> Result<Gathered> {
        super::note::gather(path)
    }

    fn write_new(&mut self, path: &Path, text: &str) -> Result<()> {
        self.changed = true;
        fsx::create_new(path, text.as_bytes())
    }

    fn hand_over(&mut self, inv: &Invocation) -> Result<i32> {
        self.changed = true;
        claude_run::hand_over(inv)
    }

    fn fix_settings(&mut self, fixes: &[FileFix]) -> Result<Option<PathBuf>> {
        self.changed = true;
        journal::set_reason(journal::Reason::SettingsFix);
        Ok(crate::settings::fix::apply_file(fixes)?.backup)
    }
}

/// The trim rung: images and documents first, then large text tool outputs, only until the
/// estimate is under [`TRIM_TARGET_TOKENS`] (the trim module decides what goes).
mod trim_rung {
    use std::path::{Path, PathBuf};

    use anyhow::Result;

    use super::TrimPreview;
    use crate::trim::{self, TrimOptions, TrimPlan};

    /// Where the trim aims: the line at which claude compacts a 200K window by itself, so the
    /// compaction request that follows has room.
    pub const TRIM_TARGET_TOKENS: u64 = crate::diagnose::OVERFLOW_TOKENS;

    fn options() -> TrimOptions {
        TrimOptions {
            all: false,
            tool_output_over: None,
            target_tokens: Some(TRIM_TARGET_TOKENS),
        }
    }

    pub fn preview(path: &Path) -> Result<Option<(TrimPreview, TrimPlan)>> {
        let plan = trim::plan(path, &options())?;
        if plan.is_empty() {
            return Ok(None);
        }
        let lines = plan
            .summary_lines()
            .into_iter()
            .filter(|l| !l.starts_with("Session: "))
            .collect();
        Ok(Some((TrimPreview { lines }, plan)))
    }

    /// Applies the plan just shown (or a fresh one), returning the trim's backup.
    pub fn apply(path: &Path, shown: Option<TrimPlan>) -> Result<PathBuf> {
        let done = match shown {
            Some(plan) if plan.path == path => trim::apply_plan(path, plan, &mut |_| {})?,
            _ => trim::apply(path, &options())?,
        };
        Ok(done.backup)
    }
}
