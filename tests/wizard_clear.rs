//! The last rung end to end with the real claude: every compaction is refused, even after the
//! trim rung (which finds nothing to take out), so the wizard can only start afresh. Under
//! `--yes` that needs `--allow-clear`; with it the handoff note lands in the session folder (the
//! latest summary, the last requests, the files tool calls touched) and the command printed
//! starts a new session from it, while the old session stays as it was (plus what claude itself
//! appended) and resumable. At a terminal the question defaults to No.
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ccrescue_testbench::fixtures::{COMPACT_MODEL, LONG_CONTEXT_MODEL, REPORTED_TOKENS, Session};
use ccrescue_testbench::fixtures::{new_session, setup};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, exe};
use serde_json::json;

const EARLIER_SUMMARY: &str = "EARLIER SUMMARY: the user keeps their plans in notes.md.";
const STEP: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_millis(300);

/// A stuck session with a history worth handing off: a Read of `notes.md`, a compaction (so a
/// summary exists), a Read of `src/lib.rs` whose reply reports ~260K tokens, then the 1M refusal.
fn stuck_with_history(mock: &MockApi, sb: &Sandbox, project: &Path) -> Session {
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("notes.md"), "- ship the parser\n").unwrap();
    std::fs::write(project.join("src/lib.rs"), "pub fn parse() {}\n").unwrap();
    let long = ["--model", LONG_CONTEXT_MODEL];
    let read = |file: &str, answer: &str, tokens: u64| {
        let path = project.join(file).display().to_string();
        vec![Rule::reply(Reply::sequence([
            Reply::tool_use("Read", json!({ "file_path": path })),
            Reply::text_with_tokens(answer, tokens),
        ]))]
    };
    mock.set_rules(read("notes.md", "Read your notes.", 100_000));
    let (session, run) = new_session(sb, project, "read my notes", &long);
    run.assert_success();
    mock.set_rules(vec![
        Rule::reply(Reply::summary(EARLIER_SUMMARY)).compaction(true),
    ]);
    session
        .resume(sb, "/compact", &["--model", COMPACT_MODEL])
        .assert_success();
    mock.set_rules(read("src/lib.rs", "Looked at it.", REPORTED_TOKENS));
    session
        .resume(sb, "now look at src/lib.rs", &long)
        .assert_success();
    mock.set_rules(vec![Rule::reply(Reply::credits_error_not_retried())]);
    let refused = session.resume(sb, "now summarise it", &long);
    assert!(!refused.success(), "the last turn is refused");
    mock.set_rules(vec![]);
    session
}

/// Every compaction refused (a 429 with an API key fails at once on every version); anything
/// else answered.
fn refuse_every_compaction(mock: &MockApi) {
    mock.set_rules(vec![
        Rule::reply(Reply::credits_error_not_retried()).compaction(true),
        Rule::reply(Reply::text("Here I am again.")),
    ]);
    mock.clear_log();
}

fn handoff_notes(session: &Session) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(session.file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("handoff"))
        .collect();
    v.sort();
    v
}

#[test]
fn yes_allow_clear_writes_the_handoff_note_and_the_old_session_stays_resumable() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("clear");
    let s = stuck_with_history(&mock, &sb, &project);
    let original = std::fs::read(&s.file).unwrap();
    refuse_every_compaction(&mock);

    // Without --allow-clear, --yes stops before the last rung: no note, nothing printed.
    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(1);
    assert!(
        r.stderr.contains(
            "Start a new session without the conversation? no (--yes without --allow-clear)"
        ),
        "{}",
        r.stderr
    );
    assert!(handoff_notes(&s).is_empty());
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    let r = ccrescue(&sb, &project, &["--yes", "--allow-clear"]).expect_code(1);
    for want in [
        "The compaction failed:",
        "Nothing to trim",
        &format!(
            "To keep the old session as it was: claude --resume {}",
            s.id
        ),
        "Start a new session without the conversation? yes (--yes --allow-clear)",
        "Not recovered: the command above starts a new session from the note.",
    ] {
        assert!(r.stderr.contains(want), "{want:?} missing\n{}", r.stderr);
    }
    let note = s.file.with_file_name(format!("{}.handoff.md", s.id));
    assert_eq!(
        handoff_notes(&s),
        std::slice::from_ref(&note),
        "one note, in the session folder"
    );
    assert!(
        r.stderr
            .contains(&format!("Handoff note {}", note.display())),
        "{}",
        r.stderr
    );
    let md = std::fs::read_to_string(&note).unwrap();
    for want in [
        format!("# Handoff from claude session {}\n", s.id),
        format!("`claude --resume {}` opens the old session again", s.id),
        format!("Project folder: `{}`", project.display()),
        EARLIER_SUMMARY.to_owned(),
        "1. read my notes\n2. now look at src/lib.rs\n3. now summarise it\n".to_owned(),
        format!("- `{}` (Read)\n", project.join("src/lib.rs").display()),
        format!("- `{}` (Read)\n", project.join("notes.md").display()),
    ] {
        assert!(md.contains(&want), "{want:?} missing\n{md}");
    }
    // The newest file touched first.
    assert!(md.find("src/lib.rs").unwrap() < md.find("notes.md` (Read)").unwrap());

    // stdout: the exact command that starts the new session from the note, in Sonnet.
    let first_message = format!(
        "Carry on from my previous session ({}). Read the handoff note at {} first: it has the \
         summary, my last requests, the files we touched and the open todos.",
        s.id,
        note.display()
    );
    let line = format!(
        "cd {} && claude --model claude-sonnet-4-6 '{first_message}'",
        project.display()
    );
    assert_eq!(r.stdout, format!("{line}\n"));

    // Nothing was taken out of the old session: it only grew by what the refused compactions
    // appended (claude's own records); the first backup is the original.
    let now = std::fs::read(&s.file).unwrap();
    assert!(now.starts_with(&original) && now.len() > original.len());
    assert_eq!(
        std::fs::read(s.file.with_extension("jsonl.bak")).unwrap(),
        original
    );

    // The old session still resumes in the real claude, with its conversation.
    mock.clear_log();
    s.resume(
        &sb,
        "are you still there?",
        &["--model", LONG_CONTEXT_MODEL],
    )
    .assert_success();
    let asked = mock
        .messages_requests()
        .into_iter()
        .find(|q| q.last_user_text.as_deref() == Some("are you still there?"))
        .expect("the resumed turn reached the mock");
    assert!(
        asked.body.contains(EARLIER_SUMMARY),
        "the summary went along"
    );
    assert!(asked.body.contains("now look at src/lib.rs"));

    // The printed command, run as the user would (a shell at a terminal), starts a new session
    // whose first message points at the note.
    mock.set_rules(vec![Rule::reply(Reply::text(
        "Read the note, carrying on.",
    ))]);
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn("/bin/sh", &["-c", &line], &env, sb.root(), 120, 40);
    let first = mock
        .wait_for(STEP, |q| {
            q.last_user_text.as_deref() == Some(&first_message)
        })
        .unwrap_or_else(|| t.fail("the note's first message never reached the mock"));
    assert_eq!(first.model.as_deref(), Some("claude-sonnet-4-6"));
    assert!(
        !first.body.contains("now look at src/lib.rs"),
        "a new session"
    );
    t.wait_for("Read the note, carrying on.", STEP);
    t.wait_quiet(SETTLE, STEP);
    t.submit("/exit", STEP);
    assert_eq!(t.wait_exit(STEP), 0);
    assert_eq!(
        sb.session_files(&project).len(),
        2,
        "the old one and the new one"
    );
}

#[test]
fn at_a_terminal_enter_declines_the_clear() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("clear-tty");
    let s = stuck_with_history(&mock, &sb, &project);
    refuse_every_compaction(&mock);

    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(exe(), &[] as &[&str], &env, &project, 120, 40);
    for prompt in [
        "What do you see?",
        "compact it with claude-haiku-4-5-20251001?",
    ] {
        t.wait_for(prompt, STEP);
        t.wait_quiet(SETTLE, STEP);
        t.send_key(Key::Enter);
    }
    let screen = t.wait_for("Start a new session without the conversation?", STEP);
    assert!(screen.contains("Nothing to trim"), "{screen}");
    // The question shows its default before any key: No.
    let screen = t.wait_quiet(SETTLE, STEP);
    assert!(
        screen.contains("Start a new session without the conversation? (y/n) › no"),
        "{screen}"
    );
    t.send_key(Key::Enter);
    let screen = t.wait_for("Not recovered.", STEP);
    assert!(
        screen.contains("Start a new session without the conversation? · no"),
        "Enter answered No\n{screen}"
    );
    assert_eq!(t.wait_exit(STEP), 1);
    assert!(handoff_notes(&s).is_empty(), "no note when declined");
}
