//! Model choices as causes of the 1M error (issue 11 point 5), confirmed with the real claude:
//! `opusplan` plans in a 1M Opus (anthropics/claude-code#61869), and a session run on a `[1m]`
//! model records it (2.1.328+), so a plain `--resume` asks for the 1M window again
//! (anthropics/claude-code#93021, #76363) while `--model` — what the wizard's return passes — wins.
mod common;

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{
    LONG_CONTEXT_MODEL, RETURN_MODEL, new_session, print_run, setup,
};
use ccrescue_testbench::mock::LoggedRequest;
use ccrescue_testbench::sandbox::Auth;
use common::ccrescue;
use serde_json::Value;

/// A 1M request: the 1M beta header, or a natively 1M `*-5-5` model (2.1.328+).
fn is_1m(q: &LoggedRequest) -> bool {
    q.beta.as_deref().unwrap_or_default().contains("context-1m")
        || q.model.as_deref().is_some_and(|m| m.ends_with("-5-5"))
}

fn cause<'a>(d: &'a Value, kind: &str) -> Option<&'a Value> {
    d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
}

#[test]
fn opusplan_plans_in_a_1m_model_and_is_reported() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("opusplan");
    std::fs::create_dir_all(sb.config_dir()).unwrap();
    std::fs::write(
        sb.config_dir().join("settings.json"),
        r#"{"model":"opusplan"}"#,
    )
    .unwrap();
    mock.clear_log();
    print_run(&sb, &project, "plan it", &["--permission-mode", "plan"]).assert_success();
    let planned = mock.messages_requests();
    assert!(
        planned[0]
            .model
            .as_deref()
            .unwrap_or_default()
            .contains("opus"),
        "{planned:?}"
    );
    // Planning is a 1M request from 2.1.172 on (2.1.156 sent claude-opus-4-8 without the beta).
    assert_eq!(
        is_1m(&planned[0]),
        version_at_least("2.1.172"),
        "{planned:?}"
    );
    mock.clear_log();
    print_run(&sb, &project, "do it", &[]).assert_success();
    let done = mock.messages_requests();
    assert!(
        done[0]
            .model
            .as_deref()
            .unwrap_or_default()
            .contains("sonnet"),
        "{done:?}"
    );
    // Executing is in the alias sonnet: natively 1M from 2.1.328 on.
    assert_eq!(is_1m(&done[0]), version_at_least("2.1.328"), "{done:?}");

    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let c = cause(&d, "opusplan").unwrap_or_else(|| panic!("{d}"));
    assert_eq!(c["value"], "opusplan");
    assert!(c["why"].as_str().unwrap().contains("#61869"), "{c}");
    let s = ccrescue(&sb, &project, &["settings", "--json"])
        .expect_code(0)
        .json();
    assert!(cause(&s, "opusplan").is_some(), "{s}");
}

#[test]
fn a_1m_model_recorded_in_the_session_is_reported_and_model_wins_on_resume() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("recorded");
    let (s, run) = new_session(&sb, &project, "hello", &["--model", LONG_CONTEXT_MODEL]);
    run.assert_success();
    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    // 2.1.328 and later record the model in the session (a `model` attachment).
    match cause(&d, "session_model") {
        Some(c) => {
            assert!(version_at_least("2.1.328"), "{d}");
            assert_eq!(c["value"], LONG_CONTEXT_MODEL);
            assert!(c["fix"].as_str().unwrap().contains(RETURN_MODEL), "{c}");
        }
        None => assert!(!version_at_least("2.1.328"), "{d}"),
    }
    // A plain resume brings the 1M window back from 2.1.328 on; --model wins on every version.
    mock.clear_log();
    s.resume(&sb, "plain", &[]).assert_success();
    let plain = mock.messages_requests();
    assert_eq!(is_1m(&plain[0]), version_at_least("2.1.328"), "{plain:?}");
    mock.clear_log();
    s.resume(&sb, "back", &["--model", RETURN_MODEL])
        .assert_success();
    let back = mock.messages_requests();
    assert_eq!(back[0].model.as_deref(), Some(RETURN_MODEL));
    assert!(!is_1m(&back[0]), "{back:?}");
}
