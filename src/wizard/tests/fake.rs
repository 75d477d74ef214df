//! The wizard's test double for the world: a `Fake` that answers from queues and records what
//! the wizard did, the stuck sessions and compaction runs it stages, and `walk`, which runs the
//! wizard over them with a scripted prompter.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;

use crate::claude_run::{Event, Headless, Invocation, Verdict};
use crate::live::LiveClaude;
use crate::paths::SessionFile;
use crate::select::Chosen;
use crate::session::scan::{ContextEstimate, ContextSource, ErrorRecord};
use crate::session::{ErrorKind, SessionScan};
use crate::settings::SettingsFindings;
use crate::wizard::world::{TrimPreview, TrimScope, World};
use crate::wizard::{Options, Wizard};

pub(super) const ID: &str = "11111111-2222-3333-4444-555555555555";

pub(super) fn stuck_scan(tokens: u64, compactions: u64) -> SessionScan {
    let error = ErrorRecord {
        line: 3,
        kind: ErrorKind::LongContext,
        text: "API Error: Usage credits required for 1M context".into(),
        status: Some(429),
        api_error: None,
        during_compaction: false,
        resolved: compactions > 0,
    };
    SessionScan {
        path: PathBuf::from("/cfg/projects/p/s.jsonl"),
        cwd: Some("/".into()),
        compactions,
        context: Some(ContextEstimate {
            tokens,
            source: ContextSource::Usage,
            line: 2,
        }),
        last_error: Some(error.clone()),
        last_long_context_error: Some(error),
        ..Default::default()
    }
}

pub(super) fn chosen(scan: SessionScan) -> Chosen {
    Chosen {
        file: SessionFile {
            id: ID.into(),
            path: PathBuf::from("/cfg/projects/p/s.jsonl"),
            modified: SystemTime::now(),
            bytes: 1000,
            is_symlink: false,
        },
        scan,
        why: None,
    }
}

pub(super) fn compaction(success: bool) -> Headless {
    Headless {
        code: Some(0),
        events: vec![
            Event::Status("compacting".into()),
            Event::Compacted {
                success,
                error: (!success)
                    .then(|| "Compaction failed · attached media exceeds size limits".into()),
            },
        ],
        stopped: None,
        stderr: String::new(),
    }
}

/// A world that answers from queues and records what was done.
#[derive(Default)]
pub(super) struct Fake {
    pub(super) live: RefCell<VecDeque<Option<u32>>>,
    /// Scans after the first (the session before the ladder is the chosen one).
    pub(super) scans: RefCell<VecDeque<SessionScan>>,
    pub(super) compactions: VecDeque<Headless>,
    /// What a trim of media (or of the estimate) would take out.
    pub(super) trim: Option<TrimPreview>,
    /// What a trim of tool outputs would take out.
    pub(super) tool_trim: Option<TrimPreview>,
    /// The scope of the trim last previewed.
    pub(super) scope: Option<TrimScope>,
    pub(super) log: Vec<String>,
    pub(super) hand_over_code: i32,
}

impl World for Fake {
    fn live(&self, _id: &str) -> Option<LiveClaude> {
        let mut q = self.live.borrow_mut();
        let pid = if q.len() > 1 {
            q.pop_front()?
        } else {
            *q.front()?
        }?;
        Some(LiveClaude {
            pid,
            entrypoint: None,
            cwd: None,
        })
    }
    fn scan(&self, _path: &Path) -> Result<SessionScan> {
        let mut q = self.scans.borrow_mut();
        Ok(if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front().cloned().expect("a scan staged")
        })
    }
    fn sessions(&self) -> Result<Vec<SessionFile>> {
        Ok(vec![chosen(SessionScan::default()).file])
    }
    fn backup(&mut self, path: &Path) -> Result<PathBuf> {
        self.log.push("backup".into());
        Ok(path.with_extension("jsonl.bak"))
    }
    fn end_torn_line(&mut self, _path: &Path) -> Result<bool> {
        Ok(false)
    }
    fn run_headless(
        &mut self,
        inv: &Invocation,
        watch: &mut dyn FnMut(&Event) -> Verdict,
    ) -> Result<Headless> {
        self.log.push(format!("run {}", inv.args.join(" ")));
        let run = self.compactions.pop_front().expect("a compaction staged");
        for e in &run.events {
            let _ = watch(e);
        }
        Ok(run)
    }
    fn trim_preview(&mut self, _path: &Path, scope: TrimScope) -> Result<Option<TrimPreview>> {
        self.scope = Some(scope);
        Ok(match scope {
            TrimScope::ToolOutputs(_) => self.tool_trim.clone(),
            _ => self.trim.clone(),
        })
    }
    fn trim(&mut self, path: &Path) -> Result<PathBuf> {
        let scope = self.scope.take().expect("a trim previewed first");
        self.log.push(format!("trim {scope:?}"));
        Ok(path.with_extension("jsonl.bak.1"))
    }
    fn gather_note(&self, _path: &Path) -> Result<crate::wizard::note::Gathered> {
        Ok(crate::wizard::note::Gathered {
            requests: vec!["fix the bug".into()],
            ..Default::default()
        })
    }
    fn write_new(&mut self, path: &Path, text: &str) -> Result<()> {
        assert!(text.starts_with("# Handoff") && text.contains("1. fix the bug"));
        self.log.push(format!("note {}", path.display()));
        Ok(())
    }
    fn hand_over(&mut self, inv: &Invocation) -> Result<i32> {
        self.log.push(format!("hand over {}", inv.args.join(" ")));
        Ok(self.hand_over_code)
    }
    fn fix_settings(&mut self, fixes: &[crate::settings::fix::FileFix]) -> Result<Option<PathBuf>> {
        self.log.push(format!("fix {}", fixes[0].file.display()));
        Ok(None)
    }
}

pub(super) fn options(dry_run: bool) -> Options {
    Options {
        claude: PathBuf::from("/bin/claude"),
        claude_missing: None,
        claude_name: "claude".into(),
        config_dir: None,
        project: PathBuf::from("/"),
        compact_model: "small-model".into(),
        return_model: "back-model".into(),
        tool_output_over: crate::trim::DEFAULT_TOOL_OUTPUT_KEEP,
        dry_run,
        quiet: false,
        version: None,
        settings: SettingsFindings::default(),
        settings_fix: Default::default(),
        shell_lines: vec![],
    }
}

pub(super) fn walk(
    ui: &mut dyn crate::ui::Prompter,
    world: &mut Fake,
    opts: &Options,
    start: SessionScan,
) -> (Result<u8>, String) {
    let mut out = Vec::new();
    let code = Wizard {
        ui,
        world,
        out: &mut out,
        opts,
    }
    .walk(chosen(start));
    (code, String::from_utf8(out).unwrap())
}

pub(super) fn staged(compactions: Vec<Headless>, scans: Vec<SessionScan>) -> Fake {
    Fake {
        compactions: compactions.into(),
        scans: RefCell::new(scans.into()),
        ..Default::default()
    }
}

pub(super) const COMPACT_ARGS: &str = "-p /compact --resume=11111111-2222-3333-4444-555555555555 --model small-model --output-format stream-json --verbose";
pub(super) const RETURN_ARGS: &str =
    "--resume=11111111-2222-3333-4444-555555555555 --model back-model";
