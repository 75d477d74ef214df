//! Records that are not the conversation (issue 11 point 2), on sessions the real claude wrote:
//! claude 2.1.328+ logs its requests in `api-request`, `api-request-shape` and `api-request-blob`
//! records, the blobs holding copies of request messages with their images. `--resume` does not
//! read them back: without them (or without their images) the next request is the same, byte for
//! byte. `diagnose` counts them apart from the conversation; `trim` takes their images out too.
mod common;

use std::path::Path;

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{self, LONG_CONTEXT_MODEL, RETURN_MODEL, Session};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::ccrescue;
use serde_json::{Value, json};

/// Two screenshots read on the 1M model (where 2.1.328+ writes each tool result as a blob too).
fn two_screenshots(mock: &MockApi, sb: &Sandbox, project: &Path) -> Session {
    let shots: Vec<_> = (0..2)
        .map(|i| {
            let p = project.join(format!("shot-{i}.png"));
            fixtures::write_png(&p, 120, 90, i);
            p
        })
        .collect();
    let reads = shots
        .iter()
        .map(|p| Reply::tool_use("Read", json!({"file_path": p.display().to_string()})));
    mock.set_rules(vec![Rule::reply(Reply::sequence(reads))]);
    let (s, run) = fixtures::new_session(
        sb,
        project,
        "look at the shots",
        &["--model", LONG_CONTEXT_MODEL],
    );
    run.assert_success();
    mock.set_rules(vec![]);
    s
}

/// The `messages` of the one request a resume sends.
fn resumed_messages(mock: &MockApi, sb: &Sandbox, s: &Session) -> Value {
    mock.clear_log();
    s.resume(sb, "what now?", &["--model", RETURN_MODEL])
        .assert_success();
    let asked = mock.messages_requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    asked[0].json()["messages"].clone()
}

fn is_request_copy(line: &str) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|r| {
        r["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("api-request"))
    })
}

#[test]
fn request_copies_are_not_read_back_and_are_counted_apart() {
    let (mock, sb) = fixtures::setup(Auth::ApiKey);
    let project = sb.project("copies");
    let s = two_screenshots(&mock, &sb, &project);
    let original = std::fs::read_to_string(&s.file).unwrap();
    let copies = original.lines().filter(|l| is_request_copy(l)).count();
    let blob_images = original
        .lines()
        .filter(|l| l.contains(r#""type":"api-request-blob""#))
        .map(|l| l.matches(r#""type":"base64""#).count())
        .sum::<usize>();
    // Only 2.1.328 and later write them (reference §7).
    assert_eq!(copies > 0, version_at_least("2.1.328"), "{copies}");

    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let session = &d["session"];
    assert_eq!(session["images"], 2, "the conversation's images: {session}");
    assert_eq!(session["request_copies"]["records"], copies, "{session}");
    assert_eq!(
        session["request_copies"]["images"], blob_images,
        "{session}"
    );
    if version_at_least("2.1.328") {
        assert!(blob_images >= 2, "the blobs copy the screenshots");
        assert!(session["request_copies"]["media_bytes"].as_u64().unwrap() > 0);
    }
    let conversation = original
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|r| matches!(r["type"].as_str(), Some("user" | "assistant" | "system")))
        })
        .count();
    assert_eq!(session["conversation_records"], conversation, "{session}");
    let lines = original.lines().count() as u64;
    assert_eq!(
        session["conversation_records"].as_u64().unwrap()
            + session["request_copies"]["records"].as_u64().unwrap()
            + session["other_records"]["records"].as_u64().unwrap(),
        lines,
        "every record is in one group: {session}"
    );

    // The next request is the same with the copies gone: claude does not read them back.
    let with = resumed_messages(&mock, &sb, &s);
    let without: String = original
        .lines()
        .filter(|l| !is_request_copy(l))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&s.file, &without).unwrap();
    assert_eq!(resumed_messages(&mock, &sb, &s), with);

    // trim takes the copies' images too, and counts only the conversation's toward the context.
    std::fs::write(&s.file, &original).unwrap();
    let t = ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);
    assert!(
        t.stderr.contains("Trimmed") || t.stdout.contains("Trimmed"),
        "{}{}",
        t.stdout,
        t.stderr
    );
    let now = std::fs::read_to_string(&s.file).unwrap();
    assert!(
        !now.contains(r#""type":"base64""#),
        "no image left anywhere"
    );
    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(d["session"]["request_copies"]["images"], 0);
    assert_eq!(d["session"]["images"], 0);
    // The trimmed session still resumes, without images.
    let messages = resumed_messages(&mock, &sb, &s);
    assert!(!messages.to_string().contains(r#""type":"base64""#));
}
