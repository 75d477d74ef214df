//! The wizard driven by a scripted prompter over a recording fake world: which questions come in
//! which order, what each answer makes it do, and the exit codes. (The real claude runs in the
//! integration tests; here the world is a fake so every rung's failure can be staged.)
use std::cell::RefCell;

use super::Options;
use super::compact::{self, Outcome};
use super::world::TrimPreview;
use crate::claude_run::{Event, Verdict};
use crate::session::SessionScan;
use crate::session::scan::{ContextEstimate, ContextSource};
use crate::ui::AssumeYes;
use crate::ui::scripted::{Answer, Scripted};

mod evidence;
mod fake;
use fake::*;

/// `cd / && claude ARGS` as the wizard prints it on this platform (PowerShell's `;` on Windows).
fn in_root(args: &str) -> String {
    let then = if cfg!(windows) { "; " } else { " && " };
    format!("cd /{then}claude {args}")
}

/// The compaction's line: [`in_root`] with `CLAUDE_CODE_DISABLE_1M_CONTEXT=1` set.
fn compact_in_root() -> String {
    if cfg!(windows) {
        format!("cd /; $env:CLAUDE_CODE_DISABLE_1M_CONTEXT='1'; claude {COMPACT_ARGS}")
    } else {
        format!("cd / && CLAUDE_CODE_DISABLE_1M_CONTEXT=1 claude {COMPACT_ARGS}")
    }
}

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
    assert!(said.contains(&format!("$ {}", compact_in_root())));
    assert!(said.contains(&format!("$ {}", in_root(RETURN_ARGS))));
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
        tokens_after: Some(120_000),
    });
    let mut ui = AssumeYes {
        allow_clear: false,
        quiet: false,
    };
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 0);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            "trim Media".to_owned(),
            format!("run {COMPACT_ARGS}"),
        ]
    );
    assert_eq!(out, format!("{}\n", in_root(RETURN_ARGS)));
}

#[test]
fn a_claude_that_appears_after_the_compaction_stops_the_trim() {
    // Issue 17 point 8: a claude still running (behind a wrapper, or started meanwhile) when the
    // compaction failed; the trim must not go ahead while it may write the session.
    let opts = options(false);
    let mut world = staged(
        vec![compaction(false)],
        vec![stuck_scan(260_000, 0), stuck_scan(260_000, 0)],
    );
    world.trim = Some(TrimPreview {
        lines: vec!["3 images, about 6,000 tokens".into()],
        tokens_after: Some(120_000),
    });
    // Not live for the first checks (look, ladder input, before the backup); live after.
    world.live = RefCell::new([None, None, None, Some(42)].into());
    let (code, _) = walk(
        &mut AssumeYes {
            allow_clear: false,
            quiet: false,
        },
        &mut world,
        &opts,
        stuck_scan(260_000, 0),
    );
    let err = code.unwrap_err();
    assert!(
        err.to_string().contains("claude (pid 42) is running"),
        "{err}"
    );
    assert_eq!(
        world.log,
        ["backup".to_owned(), format!("run {COMPACT_ARGS}")],
        "no trim"
    );
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
        &mut AssumeYes {
            allow_clear: false,
            quiet: false,
        },
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
        &mut AssumeYes {
            allow_clear: true,
            quiet: false,
        },
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
        &format!(
            "note {}",
            std::path::Path::new("/cfg/projects/p")
                .join(format!("{ID}.handoff.md"))
                .display()
        )
    );
    assert!(
        out.starts_with(&in_root(
            "--model back-model 'Carry on from my previous session"
        )),
        "{out}"
    );
}

#[test]
fn a_live_session_is_refused_under_yes_and_waited_for_on_a_terminal() {
    let opts = options(false);
    let mut world = staged(vec![], vec![stuck_scan(260_000, 0)]);
    world.live = RefCell::new([Some(42)].into());
    let (code, _) = walk(
        &mut AssumeYes {
            allow_clear: false,
            quiet: false,
        },
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
    assert_eq!(out, format!("{}\n", in_root(RETURN_ARGS)));
}

#[test]
fn dry_run_asks_nothing_and_runs_nothing() {
    let opts = options(true);
    let mut world = staged(vec![], vec![stuck_scan(260_000, 0)]);
    let mut ui = Scripted::new(false, &[]);
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(260_000, 0));
    assert_eq!(code.unwrap(), 0);
    assert!(ui.asked.is_empty() && world.log.is_empty());
    assert!(out.contains(&format!("$ {}", compact_in_root())), "{out}");
    assert!(
        out.contains(&format!("$ {}", in_root(RETURN_ARGS))),
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
    assert_eq!(out, format!("{}\n", in_root(RETURN_ARGS)));
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
        out.contains(&format!("$ {}", in_root(RETURN_ARGS))),
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
    assert!(out.contains(&in_root(RETURN_ARGS)), "{out}");
}
