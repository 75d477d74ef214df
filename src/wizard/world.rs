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
    /// The estimated context after the trim, when a usage is recorded.
    pub tokens_after: Option<u64>,
}

/// How much one trim rung takes out (issue "evidence": a refusal for size beats the estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimScope {
    /// Only until the estimate is under the 160K line: the compaction failed for a reason that
    /// was not the request's size, so only the estimate speaks for a trim.
    Estimate,
    /// Every image and document after the last boundary: the compaction was refused for size.
    Media,
    /// Media and every text tool output over this many bytes (shortened to about that size):
    /// the compaction was still refused for size without the media.
    ToolOutputs(u64),
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
    /// What a trim of `scope` would remove, or `None` when there is nothing to trim.
    fn trim_preview(&mut self, path: &Path, scope: TrimScope) -> Result<Option<TrimPreview>>;
    /// Trims the session (with its own backup); returns the backup's path.
    fn trim(&mut self, path: &Path) -> Result<PathBuf>;
    /// What the handoff note is made of (read from the session).
    fn gather_note(&self, path: &Path) -> Result<Gathered>;
    /// Writes a new file (never over an existing one).
    fn write_new(&mut self, path: &Path, text: &str) -> Result<()>;
    fn hand_over(&mut self, inv: &Invocation) -> Result<i32>;
    /// Writes the settings fixes of one file (with a backup); returns the backup.
    fn fix_settings(&mut self, fixes: &[FileFix]) -> Result<Option<PathBuf>>;
    /// The chunk plan of a compaction in pieces, as lines for the user; `None` when the world
    /// cannot do one (a fake world, unless a test stages it).
    fn pieces_plan(&mut self, _path: &Path, _keep_recent: u64) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
    /// Summarises the session in pieces and appends the compaction (with its own backup).
    fn compact_in_pieces(
        &mut self,
        _path: &Path,
        _keep_recent: u64,
        _summariser: &crate::pieces::Summariser,
        _spinner: &dyn crate::ui::Spinner,
    ) -> Result<crate::pieces::Done> {
        anyhow::bail!("this world cannot compact in pieces")
    }
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

    fn trim_preview(&mut self, path: &Path, scope: TrimScope) -> Result<Option<TrimPreview>> {
        self.shown_trim = None;
        Ok(trim_rung::preview(path, scope)?.map(|(preview, plan)| {
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

    fn pieces_plan(&mut self, path: &Path, keep_recent: u64) -> Result<Option<Vec<String>>> {
        let plan = crate::pieces::plan(path, crate::pieces::CHUNK_TOKENS, keep_recent)?;
        Ok(Some(crate::pieces::describe(&plan)))
    }

    fn compact_in_pieces(
        &mut self,
        path: &Path,
        keep_recent: u64,
        summariser: &crate::pieces::Summariser,
        spinner: &dyn crate::ui::Spinner,
    ) -> Result<crate::pieces::Done> {
        self.changed = true;
        // Planned again from the file, which has not changed since the plan was shown.
        let plan = crate::pieces::plan(path, crate::pieces::CHUNK_TOKENS, keep_recent)?;
        crate::pieces::compact(&plan, summariser, &self.root, spinner)
    }
}

/// The trim rung in its three scopes (see [`TrimScope`]); the trim module decides what each
/// takes out, always after the last compact boundary only.
mod trim_rung {
    use std::path::{Path, PathBuf};

    use anyhow::Result;

    use super::{TrimPreview, TrimScope};
    use crate::trim::{self, TrimOptions, TrimPlan};

    /// Where an estimate-driven trim aims: the line at which claude compacts a 200K window by
    /// itself, so the compaction request that follows has room.
    pub const TRIM_TARGET_TOKENS: u64 = crate::diagnose::OVERFLOW_TOKENS;

    pub(super) fn options(scope: TrimScope) -> TrimOptions {
        let (tool_output_over, target_tokens) = match scope {
            TrimScope::Estimate => (None, Some(TRIM_TARGET_TOKENS)),
            TrimScope::Media => (None, None),
            TrimScope::ToolOutputs(over) => (Some(over), None),
        };
        TrimOptions {
            all: false,
            tool_output_over,
            target_tokens,
        }
    }

    pub fn preview(path: &Path, scope: TrimScope) -> Result<Option<(TrimPreview, TrimPlan)>> {
        let plan = trim::plan(path, &options(scope))?;
        if plan.is_empty() {
            return Ok(None);
        }
        let lines = plan
            .summary_lines()
            .into_iter()
            .filter(|l| !l.starts_with("Session: "))
            .collect();
        let tokens_after = plan.tokens_after;
        Ok(Some((
            TrimPreview {
                lines,
                tokens_after,
            },
            plan,
        )))
    }

    /// Applies the plan just shown, returning the trim's backup.
    pub fn apply(path: &Path, shown: Option<TrimPlan>) -> Result<PathBuf> {
        let done = match shown {
            Some(plan) if plan.path == path => trim::apply_plan(path, plan, &mut |_| {})?,
            _ => anyhow::bail!(
                "no trim plan was shown for {}; nothing was trimmed",
                path.display()
            ),
        };
        Ok(done.backup)
    }
}
