//! The real claude on a session `ccrescue trim` rewrote: print mode resumes it, sends no image
//! (the mock sees the placeholders instead) and the reply comes back; the interactive UI resumes it
//! too and shows the conversation, with the duplicate `toolUseResult.file.base64` emptied — the
//! experiment behind `trim::DROP_TOOL_USE_RESULT_COPIES`.
mod common;

use std::time::Duration;

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures::{self, read_jsonl, setup};
use ccrescue_testbench::mock::{Reply, Rule};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::Auth;
use common::ccrescue;

const TURN: Duration = Duration::from_secs(60);

#[test]
fn claude_resumes_a_trimmed_session_and_sends_no_image() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("shots");
    let f = fixtures::screenshots(&mock, &sb, &project, 3);
    let before = mock.messages_requests();
    assert_eq!(
        before.last().unwrap().image_count,
        3,
        "before the trim every image is sent"
    );

    ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);
    let copies = read_jsonl(&f.session.file)
        .iter()
        .filter(|r| r["toolUseResult"]["file"]["base64"] == "")
        .count();
    assert_eq!(copies, 3, "the toolUseResult copies are emptied");

    mock.clear_log();
    mock.set_rules(vec![Rule::reply(Reply::text("I can no longer see them."))]);
    let run = f.session.resume(&sb, "what was in the screenshots?", &[]);
    run.assert_success();
    assert_eq!(run.result()["result"], "I can no longer see them.");
    let reqs = mock.messages_requests();
    assert_eq!(reqs.len(), 1, "one request, no retry");
    let req = &reqs[0];
    assert_eq!(req.image_count, 0, "no image sent after the trim");
    assert_eq!(
        req.last_user_text.as_deref(),
        Some("what was in the screenshots?")
    );
    let placeholders = req
        .body
        .matches("[image removed by ccrescue: image/png ")
        .count();
    assert_eq!(placeholders, 3, "the placeholders are what claude sends");
    let backup = format!("original in {}.jsonl.bak]", f.session.id);
    assert!(req.body.contains(&backup));
    // The tool results still pair with their tool_use ids: claude sent them as tool_result blocks.
    let body = req.json();
    let results: Vec<&serde_json::Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|b| b["type"] == "tool_result")
        .collect();
    assert_eq!(results.len(), 3);
    // claude appended the new turn to the trimmed file.
    let records = read_jsonl(&f.session.file);
    assert!(
        records
            .iter()
            .any(|r| fixtures::content_text(r) == "I can no longer see them.")
    );
}

#[test]
fn interactive_claude_shows_a_trimmed_session_and_answers() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("shots_ui");
    let f = fixtures::screenshots(&mock, &sb, &project, 2);
    ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);

    mock.set_rules(vec![Rule::reply(Reply::text("Still here after the trim"))]);
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(
        claude_path(),
        &["--resume", &f.session.id],
        &env,
        &project,
        120,
        40,
    );
    t.wait_until("the empty prompt `❯`", TURN, |s| {
        s.lines().any(|l| l.trim() == "❯")
    });
    // The resumed conversation is on screen: the prompt, the two Reads (2.1.328 folds them into
    // one "Read 2 files" line, built from the records whose toolUseResult copy is now empty) and
    // the reply.
    t.wait_for("look at my screenshots", TURN);
    t.wait_for("Read 2 files", TURN);
    t.wait_for("OK (mock reply).", TURN);
    t.wait_quiet(Duration::from_millis(400), TURN);
    t.submit("are you still there?", TURN);
    t.wait_for("Still here after the trim", TURN);
    let req = mock
        .wait_for(TURN, |r| {
            r.last_user_text.as_deref() == Some("are you still there?")
        })
        .expect("the mock logged the new turn");
    assert_eq!(req.image_count, 0);
    t.wait_quiet(Duration::from_millis(400), TURN);
    t.send_key(Key::Ctrl('c'));
    t.wait_for("again to exit", TURN);
    t.send_key(Key::Ctrl('c'));
    assert_eq!(t.wait_exit(Duration::from_secs(30)), 0);
}
