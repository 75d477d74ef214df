//! The wizard driven by a scripted prompter over a recording fake world: which questions come in
//! which order, what each answer makes it do, and the exit codes. (The real claude runs in the
//! integration tests; here the world is a fake so every rung's failure can be staged.)
use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;

use super::compact::{self, Outcome};
use super::world::{TrimPreview, World};
use super::{Options, Wizard};
use crate::claude_run::{Event, Headless, Invocation, Verdict};
use crate::live::LiveClaude;
use crate::paths::SessionFile;
use crate::select::Chosen;
use crate::session::scan::{ContextEstimate, ContextSource, ErrorRecord};
use crate::session::{ErrorKind, SessionScan};
use crate::settings::SettingsFindings;
use crate::ui::AssumeYes;
use crate::ui::scripted::{Answer, Scripted};

const ID: &str = "11111111-2222-3333-4444-555555555555";

fn stuck_scan(tokens: u64, compactions: u64) -> SessionScan {
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

fn chosen(scan: SessionScan) -> Chosen {
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

fn compaction(success: bool) -> Headless {
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
struct Fake {
    live: RefCell<VecDeque<Option<u32>>>,
    /// Scans after the first (the session before the ladder is the chosen one).
    scans: RefCell<VecDeque<SessionScan>>,
    compactions: VecDeque<Headless>,
    trim: Option<TrimPreview>,
    log: Vec<String>,
    hand_over_code: i32,
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
    fn trim_preview(&mut self, _path: &Path) -> Result<Option<TrimPreview>> {
        Ok(self.trim.clone())
    }
    fn trim(&mut self, path: &Path) -> Result<PathBuf> {
        self.log.push("trim".into());
        Ok(path.with_extension("jsonl.bak.1"))
    }
    fn gather_note(&self, _path: &Path) -> Result<super::note::Gathered> {
        Ok(super::note::Gathered {
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

fn options(dry_run: bool) -> Options {
    Options {
        claude: PathBuf::from("/bin/claude"),
        claude_name: "claude".into(),
        config_dir: None,
        project: PathBuf::from("/"),
        compact_model: "small-model".into(),
        return_model: "back-model".into(),
        dry_run,
        quiet: false,
        version: None,
        settings: SettingsFindings::default(),
        settings_fix: Default::default(),
        shell_lines: vec![],
    }
}

fn walk(
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

fn staged(compactions: Vec<Headless>, scans: Vec<SessionScan>) -> Fake {
    Fake {
        compactions: compactions.into(),
        scans: RefCell::new(scans.into()),
        ..Default::default()
    }
}

const COMPACT_ARGS: &str = "-p /compact --resume 11111111-2222-3333-4444-555555555555 --model small-model --output-format stream-json --verbose";
const RETURN_ARGS: &str = "--resume 11111111-2222-3333-4444-555555555555 --model back-model";

#[test]
fn three_enters_take_a_stuck_session_back_to_the_standard_model() {
    let opts = options(false);
    let mut world = staged(
        vec![compaction(true)],
        vec![stuck_scan(260_000, 0), stuck_scan(3_000, 1)],
    );
    world.hand_over_code = 7;
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("compact", Answer::Enter),
            ("return", Answer::Enter),
        ],
    );
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 7, "claude's own exit code after the handoff");
    assert!(ui.done());
    assert_eq!(ui.asked, ["symptom", "compact", "return"]);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            format!("hand over {RETURN_ARGS}")
        ]
    );
    assert!(out.is_empty());
    let said = ui.transcript();
    assert!(said.contains("Found    the session outgrew the standard window"));
    assert!(said.contains(&format!(
        "$ cd / && CLAUDE_CODE_DISABLE_1M_CONTEXT=1 claude {COMPACT_ARGS}"
    )));
    assert!(said.contains(&format!("$ cd / && claude {RETURN_ARGS}")));
    assert!(
        said.contains("To keep it from coming back:") && said.contains("permissions.deny"),
        "prevention advice after a rescue: {said}"
    );
}

#[test]
fn quiet_leaves_out_the_prevention_advice() {
    let opts = Options {
        quiet: true,
        ..options(false)
    };
    let mut world = staged(
        vec![compaction(true)],
        vec![stuck_scan(260_000, 0), stuck_scan(3_000, 1)],
    );
    let mut ui = Scripted::new(
        false,
        &[("symptom", Answer::Enter), ("compact", Answer::Enter)],
    );
    let (code, _) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 0);
    assert!(!ui.transcript().contains("To keep it from coming back"));
}

#[test]
fn declining_the_compaction_changes_nothing() {
    let opts = options(false);
    let mut world = staged(vec![], vec![stuck_scan(260_000, 0)]);
    let mut ui = Scripted::new(true, &[("symptom", Answer::Enter), ("compact", Answer::No)]);
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 1);
    assert!(world.log.is_empty(), "{:?}", world.log);
    assert!(ui.transcript().contains("Nothing was changed."));
    assert!(
        out.contains("claude -p /compact"),
        "the commands to run by hand: {out}"
    );
}

#[test]
fn a_failed_compaction_is_followed_by_a_trim_and_one_retry() {
    let opts = options(false);
    let mut world = staged(
        vec![compaction(false), compaction(true)],
        vec![
            stuck_scan(260_000, 0),
            stuck_scan(260_000, 0),
            stuck_scan(120_000, 0),
            stuck_scan(4_000, 1),
        ],
    );
    world.trim = Some(TrimPreview {
        lines: vec!["3 images, about 6,000 tokens".into()],
    });
    let mut ui = AssumeYes { allow_clear: false };
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 0);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            "trim".to_owned(),
            format!("run {COMPACT_ARGS}"),
        ]
    );
    assert_eq!(out, format!("cd / && claude {RETURN_ARGS}\n"));
}

#[test]
fn the_last_resort_needs_allow_clear_under_yes_and_is_no_by_default() {
    let failing = || {
        let mut w = staged(vec![compaction(false)], vec![stuck_scan(260_000, 0)]);
        w.trim = None;
        w
    };
    let opts = options(false);
    let mut world = failing();
    let (code, out) = walk(
        &mut AssumeYes { allow_clear: false },
        &mut world,
        &opts,
        stuck_scan(260_000, 0),
    );
    assert_eq!(code.unwrap(), 1);
    assert!(out.is_empty());
    assert!(!world.log.iter().any(|l| l.starts_with("note")));

    let mut world = failing();
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("compact", Answer::Enter),
            ("clear", Answer::Enter),
        ],
    );
    let (code, _) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 1, "Enter at the last resort means No");
    assert!(!world.log.iter().any(|l| l.starts_with("note")));

    let mut world = failing();
    let (code, out) = walk(
        &mut AssumeYes { allow_clear: true },
        &mut world,
        &opts,
        stuck_scan(260_000, 0),
    );
    assert_eq!(
        code.unwrap(),
        1,
        "a new session is not the old one recovered"
    );
    assert_eq!(
        world.log.last().unwrap(),
        &format!("note /cfg/projects/p/{ID}.handoff.md")
    );
    assert!(
        out.starts_with("cd / && claude --model back-model 'Carry on from my previous session"),
        "{out}"
    );
}

#[test]
fn a_live_session_is_refused_under_yes_and_waited_for_on_a_terminal() {
    let opts = options(false);
    let mut world = staged(vec![], vec![stuck_scan(260_000, 0)]);
    world.live = RefCell::new([Some(42)].into());
    let (code, _) = walk(
        &mut AssumeYes { allow_clear: false },
        &mut world,
        &opts,
        stuck_scan(260_000, 0),
    );
    let err = code.unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    assert!(err.to_string().contains("claude (pid 42) is running"));
    assert!(world.log.is_empty());

    // On a terminal: asked to quit it once; gone after the answer.
    let mut world = staged(
        vec![compaction(true)],
        vec![stuck_scan(260_000, 0), stuck_scan(3_000, 1)],
    );
    // look() and ladder input ask too: live for the first checks, then gone.
    world.live = RefCell::new([Some(42), Some(42), Some(42), None].into());
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("quit_claude", Answer::Yes),
            ("compact", Answer::Enter),
            ("return", Answer::No),
        ],
    );
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert!(ui.done(), "asked {:?}", ui.asked);
    assert_eq!(code.unwrap(), 0);
    assert_eq!(out, format!("cd / && claude {RETURN_ARGS}\n"));
}

#[test]
fn dry_run_asks_nothing_and_runs_nothing() {
    let opts = options(true);
    let mut world = staged(vec![], vec![stuck_scan(260_000, 0)]);
    let mut ui = Scripted::new(false, &[]);
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 0);
    assert!(ui.asked.is_empty() && world.log.is_empty());
    assert!(
        out.contains(&format!(
            "$ cd / && CLAUDE_CODE_DISABLE_1M_CONTEXT=1 claude {COMPACT_ARGS}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("$ cd / && claude {RETURN_ARGS}")),
        "{out}"
    );
}

#[test]
fn the_evidence_preselects_the_symptom() {
    let opts = options(false);
    // A 1M error with little context: the fresh-session case, preselected (index 1).
    let mut world = staged(vec![], vec![stuck_scan(5_000, 0)]);
    let mut ui = Scripted::new(
        true,
        &[("symptom", Answer::Enter), ("standard_model", Answer::No)],
    );
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(5_000, 0));
    assert_eq!(code.unwrap(), 1, "nothing fixed locally: not recovered");
    assert!(world.log.is_empty());
    assert!(ui.transcript().contains("anthropics/claude-code#63060"));
    assert_eq!(out, format!("cd / && claude {RETURN_ARGS}\n"));
    // The user knows better: picking the overflow symptom runs the ladder.
    let mut world = staged(vec![], vec![stuck_scan(5_000, 0)]);
    let mut ui = Scripted::new(
        true,
        &[("symptom", Answer::Pick(0)), ("compact", Answer::No)],
    );
    assert_eq!(
        walk(&mut ui, &mut world, &opts, stuck_scan(5_000, 0))
            .0
            .unwrap(),
        1
    );
    assert!(ui.done());
}

#[test]
fn retries_of_a_429_stop_claude_and_verification_trusts_the_file() {
    struct Quiet;
    impl crate::ui::Spinner for Quiet {
        fn set_message(&self, _: &str) {}
        fn println(&self, _: &str) {}
        fn finish(&self) {}
    }
    let retry = |attempt, status| Event::Retry {
        attempt,
        max_retries: Some(10),
        status: Some(status),
    };
    assert!(matches!(
        compact::watch(&retry(1, 429), &Quiet, "m"),
        Verdict::Continue
    ));
    assert!(matches!(
        compact::watch(&retry(2, 429), &Quiet, "m"),
        Verdict::Stop(_)
    ));
    assert!(
        matches!(
            compact::watch(&retry(5, 529), &Quiet, "m"),
            Verdict::Continue
        ),
        "an overloaded API is worth waiting for"
    );
    let before = stuck_scan(260_000, 0);
    assert_eq!(
        compact::verify(&compaction(true), &before, &stuck_scan(3_000, 1)),
        Outcome::Done { post_tokens: 3_000 }
    );
    assert!(matches!(
        compact::verify(&compaction(true), &before, &stuck_scan(3_000, 0)),
        Outcome::Failed(why) if why.contains("no new compact_boundary")
    ));
    assert!(matches!(
        compact::verify(&compaction(true), &before, &stuck_scan(210_000, 1)),
        Outcome::Failed(why) if why.contains("not under the 200,000-token window")
    ));
    assert!(matches!(
        compact::verify(&compaction(false), &before, &stuck_scan(3_000, 1)),
        Outcome::Failed(why) if why.contains("attached media")
    ));
    let mut stopped = compaction(true);
    stopped.stopped = Some("kept retrying".into());
    assert_eq!(
        compact::verify(&stopped, &before, &stuck_scan(3_000, 1)),
        Outcome::Failed("kept retrying".into())
    );
    let mut silent = compaction(true);
    silent.events.clear();
    silent.code = Some(1);
    silent.stderr = "No conversation found\n".into();
    assert_eq!(
        compact::verify(&silent, &before, &before),
        Outcome::Failed(
            "claude reported no compaction result (exit code 1): No conversation found".into()
        )
    );
}

#[test]
fn a_session_that_is_not_stuck_is_nothing_to_do() {
    let opts = options(false);
    let healthy = SessionScan {
        context: Some(ContextEstimate {
            tokens: 20_000,
            source: ContextSource::Usage,
            line: 2,
        }),
        ..Default::default()
    };
    let mut world = staged(vec![], vec![healthy.clone()]);
    let mut ui = Scripted::new(true, &[("symptom", Answer::Enter)]);
    let (code, out) = walk(&mut ui, &mut world, &opts, healthy);
    assert_eq!(code.unwrap(), 0);
    assert!(world.log.is_empty() && out.is_empty());
    assert!(ui.transcript().contains("Nothing to do"));
}

#[test]
fn a_gone_session_folder_is_replaced_by_the_project_in_the_plan_and_the_manual_steps() {
    let mut gone = stuck_scan(260_000, 0);
    gone.cwd = Some("/no/such/folder/ccrescue-test".into());
    let opts = options(true);
    let mut world = staged(vec![], vec![gone.clone()]);
    let mut ui = Scripted::new(false, &[]);
    let (code, out) = walk(&mut ui, &mut world, &opts, gone.clone());
    assert_eq!(code.unwrap(), 0);
    assert!(
        !out.contains("/no/such"),
        "the plan runs claude where it will run:\n{out}"
    );
    assert!(
        out.contains(&format!("$ cd / && claude {RETURN_ARGS}")),
        "{out}"
    );
    assert!(
        ui.transcript()
            .contains("/no/such/folder/ccrescue-test is gone")
    );

    let opts = options(false);
    let mut world = staged(vec![], vec![gone.clone()]);
    let mut ui = Scripted::new(true, &[("symptom", Answer::Enter), ("compact", Answer::No)]);
    let (code, out) = walk(&mut ui, &mut world, &opts, gone);
    assert_eq!(code.unwrap(), 1);
    assert!(!out.contains("/no/such"), "{out}");
    assert!(
        out.contains(&format!("cd / && claude {RETURN_ARGS}")),
        "{out}"
    );
}
