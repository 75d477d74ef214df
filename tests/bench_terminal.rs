//! The real interactive claude in a pseudo-terminal, against the mock API: the UI starts with no
//! first-run screen in the bench's sandbox, answers through the mock, resumes a print-mode session
//! with another model (what ccrescue's wizard hands the terminal to), and the first-run dialogs a
//! less prepared `~/.claude.json` shows are passed with the keys recorded here.

use std::path::Path;
use std::time::Duration;

use ccrescue_testbench::claude_bin::{claude_path, claude_version};
use ccrescue_testbench::fixtures;
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{API_KEY, Sandbox};
use serde_json::json;

/// Start-up of the UI (a cold start of the native binary on a busy machine included).
const START: Duration = Duration::from_secs(60);
/// One turn against the mock, or one UI reaction.
const TURN: Duration = Duration::from_secs(60);
const EXIT: Duration = Duration::from_secs(30);
/// Quiet needed before keys go to a freshly drawn dialog (see `Terminal::wait_quiet`).
const SETTLE: Duration = Duration::from_millis(400);

const TRUST_DIALOG: &str = "Yes, I trust this folder";
const KEY_DIALOG: &str = "Do you want to use this API key?";

/// `claude ARGS` in a 120×40 terminal in `project`, with the sandbox environment and a TERM.
fn claude_terminal(sb: &Sandbox, project: &Path, args: &[&str]) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(claude_path(), args, &env, project, 120, 40)
}

/// The prompt is up and empty: a line that is only `❯` (dialogs put text after their `❯`).
fn prompt_ready(screen: &str) -> bool {
    screen.lines().any(|l| l.trim() == "❯")
}

/// Waits for the empty prompt, then for the UI to settle (2.1.328 animates its logo at start).
fn wait_prompt(t: &mut Terminal) -> String {
    t.wait_until("the empty prompt `❯`", START, prompt_ready);
    t.wait_quiet(SETTLE, START)
}

/// The line of a selection menu that holds the cursor `❯`.
fn selected(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains('❯'))
        .map(|l| l.trim().to_string())
}

/// Moves a menu's cursor onto the option containing `option` with Down and confirms with Enter.
/// Each Down is checked on the screen and sent again if the UI dropped it.
fn choose(t: &mut Terminal, option: &str) {
    t.wait_quiet(SETTLE, TURN);
    for _ in 0..10 {
        let now = selected(&t.screen());
        if now.as_deref().is_some_and(|l| l.contains(option)) {
            t.send_key(Key::Enter);
            return;
        }
        t.send_key(Key::Down);
        let moved = |s: &str| selected(s) != now;
        if t.try_wait_until(Duration::from_secs(2), moved).is_err() {
            eprintln!("the Down key was not taken; pressing it again");
        }
    }
    t.fail(&format!("could not select the menu option {option:?}"));
}

fn exit_with_slash_exit(t: &mut Terminal) {
    t.submit("/exit", TURN);
    let code = t.wait_exit(EXIT);
    assert_eq!(code, 0, "claude /exit ended with {code}\n{}", t.screen());
}

#[test]
fn interactive_claude_starts_without_first_run_screens_and_answers_through_the_mock() {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Pong from the mock"))]);
    let sb = Sandbox::new(&mock);
    let project = sb.awkward_project();
    let mut t = claude_terminal(&sb, &project, &[]);
    let screen = wait_prompt(&mut t);
    for dialog in [
        TRUST_DIALOG,
        KEY_DIALOG,
        "Choose the text style",
        "Select login method",
    ] {
        assert!(
            !screen.contains(dialog),
            "a first-run screen showed:\n{screen}"
        );
    }
    assert!(
        screen.contains(&format!("Claude Code v{}", claude_version())),
        "{screen}"
    );

    t.submit("ping the mock", TURN);
    t.wait_for("Pong from the mock", TURN);
    let req = mock
        .wait_for(TURN, |r| {
            r.last_user_text.as_deref() == Some("ping the mock")
        })
        .expect("the mock logged the typed message");
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.status, 200);

    exit_with_slash_exit(&mut t);
    let files = sb.session_files(&project);
    assert_eq!(files.len(), 1, "one interactive session file: {files:?}");
    let records = fixtures::read_jsonl(&files[0]);
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "user" && r["entrypoint"] == "cli"),
        "interactive records carry entrypoint cli"
    );
    assert!(
        t.screen().contains("claude --resume"),
        "the exit screen names the resume command:\n{}",
        t.screen()
    );
}

#[test]
fn resume_of_a_print_mode_session_with_a_standard_model_shows_the_conversation() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("resumed");
    let healthy = fixtures::healthy(&mock, &sb, &project);
    mock.set_rules(vec![Rule::reply(Reply::text("Back on a standard model"))]);

    let id = healthy.session.id.clone();
    let mut t = claude_terminal(
        &sb,
        &project,
        &["--resume", &id, "--model", "claude-sonnet-4-6"],
    );
    let screen = wait_prompt(&mut t);
    assert!(
        screen.contains("Sonnet 4.6"),
        "the banner names the chosen model:\n{screen}"
    );
    // The earlier turns, typed in print mode, are on screen.
    t.wait_for("second turn", TURN);
    t.wait_for("Hello from the mock.", TURN);

    t.submit("after the rescue", TURN);
    t.wait_for("Back on a standard model", TURN);
    let req = mock
        .wait_for(TURN, |r| {
            r.last_user_text.as_deref() == Some("after the rescue")
        })
        .expect("the mock logged the new turn");
    assert_eq!(req.model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(
        req.session_header.as_deref(),
        Some(id.as_str()),
        "same session"
    );

    // Ctrl-C twice leaves (the first one only arms the exit).
    t.wait_quiet(SETTLE, TURN);
    t.send_key(Key::Ctrl('c'));
    t.wait_for("again to exit", TURN);
    t.send_key(Key::Ctrl('c'));
    assert_eq!(t.wait_exit(EXIT), 0);
    let records = fixtures::read_jsonl(&healthy.session.file);
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "user" && fixtures::content_text(r).contains("after the rescue")),
        "the new turn went into the same session file"
    );
}

#[test]
fn first_run_dialogs_of_a_bare_claude_json_and_the_keys_past_them() {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Pong after the dialogs"))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("untrusted");
    // Onboarding done (without it claude tries the real API host), nothing else.
    std::fs::write(
        sb.global_state_file(),
        json!({"hasCompletedOnboarding": true}).to_string(),
    )
    .expect("write ~/.claude.json");

    let mut t = claude_terminal(&sb, &project, &[]);
    let mut seen = Vec::new();
    loop {
        let screen = t.wait_until("a first-run dialog or the prompt", START, |s| {
            prompt_ready(s) || s.contains(TRUST_DIALOG) || s.contains(KEY_DIALOG)
        });
        if prompt_ready(&screen) {
            break;
        }
        if screen.contains(TRUST_DIALOG) {
            assert!(
                !seen.contains(&"trust"),
                "the trust dialog came back:\n{screen}"
            );
            seen.push("trust");
            choose(&mut t, TRUST_DIALOG);
            t.wait_gone(TRUST_DIALOG, TURN);
        } else {
            assert!(
                !seen.contains(&"key"),
                "the API key dialog came back:\n{screen}"
            );
            seen.push("key");
            assert!(screen.contains("ANTHROPIC_API_KEY"), "{screen}");
            choose(&mut t, "Yes");
            t.wait_gone(KEY_DIALOG, TURN);
        }
    }
    assert_eq!(seen, ["trust", "key"], "the dialogs, in order");
    t.submit("ping after dialogs", TURN);
    t.wait_for("Pong after the dialogs", TURN);
    exit_with_slash_exit(&mut t);

    let state = sb.global_state();
    let key_tail = &API_KEY[API_KEY.len() - 20..];
    assert_eq!(
        state["customApiKeyResponses"]["approved"],
        json!([key_tail])
    );
    let trusted = &state["projects"][project.display().to_string()]["hasTrustDialogAccepted"];
    assert_eq!(trusted, &json!(true), "{state:#}");
}
