//! The wizard at a terminal (through the bench's pty driver): the common case is three Enters —
//! the symptom, the compaction, the return — and ends inside the real interactive claude on
//! Sonnet, whose exit code ccrescue passes on. Declining the compaction changes nothing.
mod common;

use std::path::Path;
use std::time::Duration;

use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{exe, snapshot};

const STEP: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_millis(300);

fn wizard_terminal(sb: &Sandbox, project: &Path) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(exe(), &[] as &[&str], &env, project, 120, 40)
}

/// Waits for `text`, lets the prompt settle, presses `key`.
fn answer(t: &mut Terminal, text: &str, key: Key) {
    t.wait_for(text, STEP);
    t.wait_quiet(SETTLE, STEP);
    t.send_key(key);
}

#[test]
fn three_enters_end_in_interactive_claude_on_sonnet() {
    let (mock, sb) = setup(Auth::GatewayToken);
    let project = sb.project("tty");
    let f = fixtures::credits_error(&mock, &sb, &project);
    fixtures::account_gate(
        &mock,
        "RESCUED at the terminal.",
        "Hello again from Sonnet.",
    );

    let mut t = wizard_terminal(&sb, &project);
    t.wait_for(&f.session.id, STEP);
    let screen = t.wait_for("What do you see?", STEP);
    // The evidence's answer is preselected: the long-session error.
    let selected = screen
        .lines()
        .find(|l| l.contains('❯'))
        .unwrap_or_default()
        .to_owned();
    assert!(
        selected.contains("the error came after a long session"),
        "{screen}"
    );
    t.wait_quiet(SETTLE, STEP);
    t.send_key(Key::Enter);
    answer(
        &mut t,
        "compact it with claude-haiku-4-5-20251001?",
        Key::Enter,
    );
    t.wait_for("Compacted: the context is now", STEP);
    answer(&mut t, "Continue in claude-sonnet-4-6 now?", Key::Enter);

    // The real claude has the terminal now, on Sonnet, with the summary as the conversation.
    let screen = t.wait_until("claude's prompt", STEP, |s| {
        s.lines().any(|l| l.trim() == "❯")
    });
    let screen = if screen.contains("Sonnet 4.6") {
        screen
    } else {
        t.wait_for("Sonnet 4.6", STEP)
    };
    assert!(screen.contains("Sonnet 4.6"), "{screen}");
    t.wait_quiet(Duration::from_millis(500), STEP);
    t.submit("are we back?", STEP);
    t.wait_for("Hello again from Sonnet.", STEP);
    let asked = mock
        .wait_for(STEP, |r| {
            r.last_user_text.as_deref() == Some("are we back?")
        })
        .expect("the new turn reached the mock");
    assert_eq!(asked.model.as_deref(), Some("claude-sonnet-4-6"));
    assert!(asked.body.contains("RESCUED at the terminal."));
    t.wait_quiet(SETTLE, STEP);
    t.submit("/exit", STEP);
    assert_eq!(t.wait_exit(STEP), 0, "claude's exit code, passed on");
    let compactions = mock
        .messages_requests()
        .into_iter()
        .filter(|r| r.is_compaction)
        .count();
    assert_eq!(compactions, 1);
}

#[test]
fn declining_the_compaction_at_the_terminal_changes_nothing() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("tty-no");
    fixtures::credits_error(&mock, &sb, &project);
    let before = snapshot(sb.root());
    mock.clear_log();

    let mut t = wizard_terminal(&sb, &project);
    answer(&mut t, "What do you see?", Key::Enter);
    t.wait_for("compact it with", STEP);
    t.wait_quiet(SETTLE, STEP);
    t.send("n");
    t.wait_for("Nothing was changed.", STEP);
    let screen = t.wait_for("claude -p /compact", STEP);
    assert!(screen.contains("To do it by hand"), "{screen}");
    assert_eq!(t.wait_exit(STEP), 1, "not recovered");
    assert_eq!(snapshot(sb.root()), before);
    assert!(mock.messages_requests().is_empty());
}
