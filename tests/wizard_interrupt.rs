//! Ctrl-C in the wizard at a terminal (through the bench's pty driver, where 0x03 becomes SIGINT
//! for the whole foreground process group, as in a real terminal). During a compaction the real
//! claude runs in a process group of its own (issue 17), so ccrescue passes the interrupt on to
//! it; claude stops, and ccrescue waits for it, says so, leaves the session as claude
//! left it (the backup intact), shows the cursor again and dies by SIGINT (`$?` = 130, see
//! src/interrupt.rs). At the first prompt nothing has been changed yet. Once claude has the
//! terminal, SIGTERM sent to ccrescue alone reaches claude too.
mod common;

use std::path::Path;
use std::time::Duration;

use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::mock::{Reply, Rule};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{exe, snapshot};

const STEP: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_millis(300);
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

fn wizard_terminal(sb: &Sandbox, project: &Path) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(exe(), &[] as &[&str], &env, project, 120, 40)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The pid of the process whose command line holds every one of `parts` (Linux: /proc).
fn pid_running(parts: &[&str]) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        parts.iter().all(|p| cmdline.contains(p)).then_some(pid)
    })
}

/// Asserts that ccrescue died by SIGINT (what a shell shows as `$?` = 130).
fn assert_died_by_sigint(t: &mut Terminal) {
    t.wait_exit(STEP);
    let status = t.exit_status().expect("ended").clone();
    assert_eq!(status.signal(), Some("Interrupt"), "{status:?}");
}

#[test]
fn ctrl_c_during_the_compaction_stops_claude_and_leaves_the_session_as_claude_left_it() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("ctrl-c");
    let f = fixtures::credits_error(&mock, &sb, &project);
    let original = std::fs::read(&f.session.file).unwrap();
    // The compaction answer would come only after a minute: long enough to press Ctrl-C while
    // claude waits for it, and the test fails if claude waits it out instead of stopping.
    mock.set_rules(vec![
        Rule::reply(Reply::summary("TOO LATE"))
            .compaction(true)
            .delay_ms(60_000),
    ]);
    mock.clear_log();

    let mut t = wizard_terminal(&sb, &project);
    for prompt in [
        "What do you see?",
        "compact it with claude-haiku-4-5-20251001?",
    ] {
        t.wait_for(prompt, STEP);
        t.wait_quiet(SETTLE, STEP);
        t.send_key(Key::Enter);
    }
    mock.wait_for(STEP, |q| q.is_compaction)
        .unwrap_or_else(|| t.fail("claude sent no compaction request"));
    let claude = pid_running(&["-p", "/compact", &f.session.id])
        .unwrap_or_else(|| t.fail("no claude compacting the session"));
    let sent_at = t.raw_output().len();
    t.send_key(Key::Ctrl('c'));

    let screen = t.wait_for("error: interrupted", Duration::from_secs(30));
    assert_died_by_sigint(&mut t);
    assert!(
        !Path::new(&format!("/proc/{claude}")).exists(),
        "claude (pid {claude}) outlived ccrescue: ccrescue did not wait for it"
    );
    assert!(!screen.contains("Compacted"), "{screen}");
    // What happened is said: claude was stopped mid-compaction, the session is as claude left
    // it, and where the backup is.
    for want in [
        "Interrupted: claude was stopped during the compaction. The session is as claude left \
         it; the backup above keeps it as it was before.",
        "error: interrupted; nothing was left half-written",
    ] {
        // Prose is word-wrapped to the terminal's width (issue 16.4): compare it as words.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(&t.screen()).contains(&words(want)),
            "{want:?} missing\n{}",
            t.screen()
        );
    }
    let after = &t.raw_output()[sent_at..];
    assert!(
        contains(after, SHOW_CURSOR),
        "the cursor was not shown again"
    );

    let backup = f.session.file.with_extension("jsonl.bak");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        original,
        "the backup is intact"
    );
    let now = std::fs::read(&f.session.file).unwrap();
    assert!(now.starts_with(&original), "only appended to, by claude");
    assert!(
        !String::from_utf8_lossy(&now[original.len()..]).contains("compact_boundary"),
        "claude stopped before it compacted"
    );
    let leftovers: Vec<_> = std::fs::read_dir(f.session.file.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".ccrescue-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // What claude wrote on its way out (2.1.328: its queue-operation and cost-state records)
    // is whole lines of JSON.
    for line in String::from_utf8_lossy(&now[original.len()..]).lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{line}"
        );
    }
}

#[test]
fn ctrl_c_at_the_first_prompt_says_nothing_was_changed_and_shows_the_cursor() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("ctrl-c-menu");
    fixtures::credits_error(&mock, &sb, &project);
    let before = snapshot(sb.root());
    mock.clear_log();

    let mut t = wizard_terminal(&sb, &project);
    t.wait_for("What do you see?", STEP);
    t.wait_quiet(SETTLE, STEP);
    let sent_at = t.raw_output().len();
    t.send_key(Key::Ctrl('c'));
    // The question ends, the wizard says what it left, shows the cursor again and dies by
    // SIGINT, as a shell expects of an interrupted program.
    let screen = t.wait_for("Nothing was changed.", STEP);
    assert!(screen.contains("error: interrupted"), "{screen}");
    assert_died_by_sigint(&mut t);
    let after = &t.raw_output()[sent_at..];
    assert!(
        contains(after, SHOW_CURSOR),
        "the cursor the menu hid was not shown again"
    );
    assert_eq!(snapshot(sb.root()), before, "nothing was written");
    assert!(mock.messages_requests().is_empty(), "claude was not run");
}

#[test]
fn sigterm_to_ccrescue_while_claude_has_the_terminal_ends_claude_too() {
    // A supervisor (`kill`, `timeout`, an IDE closing its terminal tab) stops ccrescue alone:
    // the interactive claude it handed the terminal to must not be left running unseen.
    let (mock, sb) = setup(Auth::GatewayToken);
    let project = sb.project("term");
    let f = fixtures::credits_error(&mock, &sb, &project);
    fixtures::account_gate(&mock, "RESCUED.", "Hello again from Sonnet.");
    let mut t = wizard_terminal(&sb, &project);
    for prompt in [
        "What do you see?",
        "compact it with claude-haiku-4-5-20251001?",
        "Continue in claude-sonnet-4-6 now?",
    ] {
        t.wait_for(prompt, STEP);
        t.wait_quiet(SETTLE, STEP);
        t.send_key(Key::Enter);
    }
    t.wait_until("claude's prompt", STEP, |s| {
        s.lines().any(|l| l.trim() == "❯")
    });
    let claude = pid_running(&["--resume", &f.session.id])
        .unwrap_or_else(|| t.fail("no interactive claude on the session"));
    let ccrescue = t.pid().expect("ccrescue runs") as i32;
    // SAFETY: kill(2) with a pid we started and a plain signal number.
    assert_eq!(unsafe { libc::kill(ccrescue, libc::SIGTERM) }, 0);

    t.wait_for("error: interrupted", STEP);
    assert_died_by_sigint(&mut t);
    assert!(
        !Path::new(&format!("/proc/{claude}")).exists(),
        "claude ({claude}) still runs"
    );
}
