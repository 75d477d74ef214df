//! The plan, the new records and the append on a small session file: the chain, the copies'
//! new ids, the backup, and the file cut back when the re-scan does not accept the result.
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::records::{self, NewRecords};
use super::write::append_with_backup;

fn line(v: Value) -> String {
    v.to_string()
}

fn user(uuid: &str, parent: Option<&str>, content: Value) -> String {
    line(
        json!({"parentUuid": parent, "isSidechain": false, "type": "user",
        "message": {"role": "user", "content": content}, "uuid": uuid,
        "timestamp": "2026-12-01T10:00:00.000Z", "sessionId": "s1", "cwd": "/p",
        "version": "2.1.185", "userType": "external", "entrypoint": "cli",
        "promptId": "p1"}),
    )
}

fn assistant(uuid: &str, parent: &str, id: &str, content: Value, tokens: u64) -> String {
    line(
        json!({"parentUuid": parent, "isSidechain": false, "type": "assistant",
        "message": {"id": id, "role": "assistant", "model": "claude-sonnet-4-6",
            "content": content,
            "usage": {"input_tokens": tokens, "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0, "output_tokens": 5}},
        "requestId": "req_1", "uuid": uuid, "timestamp": "2026-12-01T10:00:01.000Z",
        "sessionId": "s1", "cwd": "/p", "version": "2.1.185", "userType": "external",
        "entrypoint": "cli"}),
    )
}

/// Six conversation records: a question, a tool call and its result, an answer, then a recent
/// question and answer; the last reply reports 260K.
fn session(dir: &Path) -> PathBuf {
    let text = |t: &str| json!([{"type": "text", "text": t}]);
    let lines = [
        user("u1", None, json!("OLD QUESTION ".repeat(200))),
        assistant(
            "a1",
            "u1",
            "m1",
            json!([{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "x"}}]),
            100_000,
        ),
        user(
            "u2",
            Some("a1"),
            json!([{"type": "tool_result", "tool_use_id": "t1", "content": "FILE ".repeat(300)}]),
        ),
        assistant("a2", "u2", "m2", text(&"OLD ANSWER ".repeat(200)), 120_000),
        user("u3", Some("a2"), json!("RECENT QUESTION")),
        assistant("a3", "u3", "m3", text("RECENT ANSWER"), 260_000),
    ];
    let path = dir.join("s1.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn records_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_plan_keeps_a_tool_call_with_its_result_and_the_tail_from_a_cut_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path());
    let plan = super::plan(&path, 700, 50).unwrap();
    assert_eq!(plan.records.len(), 6);
    assert_eq!(plan.tail, 4..6, "the recent question and answer");
    for c in &plan.chunks {
        assert_ne!(
            plan.records[c.start].value["uuid"], "u2",
            "a result opens no chunk"
        );
    }
    assert_eq!(plan.leaf_uuid.as_deref(), Some("a3"));
    assert_eq!(plan.session_fields["version"], "2.1.185");
    let shown = super::describe(&plan).join("\n");
    assert!(
        shown.contains("kept verbatim: the last 2 records (lines 5–6)"),
        "{shown}"
    );
}

#[test]
fn the_compaction_is_appended_after_a_backup_and_the_tail_re_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path());
    let original = std::fs::read(&path).unwrap();
    let plan = super::plan(&path, 100_000, 50).unwrap();
    let text = records::summary_text("S", "/p/s1.jsonl", true);
    let (lines, post) = records::build(&NewRecords {
        plan: &plan,
        summary: &text,
        pre_tokens: 260_000,
        duration_ms: 7,
        now: "2026-12-02T00:00:00.000Z",
    });
    let done = append_with_backup(&path, plan.bytes, &lines).unwrap();
    assert_eq!(std::fs::read(&done.backup).unwrap(), original);
    let now = std::fs::read(&path).unwrap();
    assert!(now.starts_with(&original), "only appended");
    let all = records_of(&path);
    let (b, s, tail) = (&all[6], &all[7], &all[8..]);
    assert_eq!(b["subtype"], "compact_boundary");
    assert_eq!(b["logicalParentUuid"], "a3");
    assert!(b["parentUuid"].is_null());
    assert_eq!(b["compactMetadata"]["preTokens"], 260_000);
    assert_eq!(b["compactMetadata"]["postTokens"], post);
    assert_eq!(b["sessionId"], "s1");
    assert_eq!(s["parentUuid"], b["uuid"]);
    assert_eq!(s["isCompactSummary"], true);
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[0]["parentUuid"], s["uuid"]);
    assert_eq!(tail[1]["parentUuid"], tail[0]["uuid"]);
    assert_eq!(tail[0]["message"]["content"], "RECENT QUESTION");
    assert_ne!(tail[1]["message"]["id"], "m3", "a new message id");
    assert_eq!(tail[1]["message"]["usage"]["input_tokens"], post);
    assert!(tail[0].get("promptId").is_none() && tail[1].get("requestId").is_none());
    assert!(done.after.context.unwrap().tokens < 200_000);
    assert_eq!(done.after.compactions, 1);
}

#[test]
fn a_result_still_over_the_window_is_cut_back_to_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path());
    let original = std::fs::read(&path).unwrap();
    let len = original.len() as u64;
    let boundary = line(json!({"parentUuid": null, "logicalParentUuid": "a3",
        "isSidechain": false, "type": "system", "subtype": "compact_boundary",
        "content": "Conversation compacted", "isMeta": false, "level": "info",
        "timestamp": "2026-12-02T00:00:00.000Z", "uuid": "b1",
        "compactMetadata": {"trigger": "manual", "preTokens": 260_000, "postTokens": 250_000,
            "durationMs": 1}}));
    let e = append_with_backup(&path, len, &[boundary]).unwrap_err();
    let said = format!("{e:#}");
    assert!(
        said.contains("not under the 200,000-token window"),
        "{said}"
    );
    assert!(said.contains("put back as it was"), "{said}");
    assert_eq!(std::fs::read(&path).unwrap(), original);
}

#[test]
fn a_file_that_grew_since_the_plan_is_refused_before_any_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    let e = append_with_backup(&path, len - 1, &["{}".into()]).unwrap_err();
    assert!(format!("{e:#}").contains("changed while the summaries were written"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup"
    );
}
