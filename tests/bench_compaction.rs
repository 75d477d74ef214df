//! Tests of the compaction fixtures: a successful `/compact` and the ways one fails, each driven
//! through the real claude against the mock, checking what claude wrote to the session JSONL and
//! its stream-json output. Where versions differ (2.1.150 to 2.1.328) the test says which version
//! does what, through `version_at_least`.

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{
    self, API_WORDING, COMPACT_MODEL, CompactionFailure, REPORTED_TOKENS, check_command_run,
    check_local_command_result, check_records, content_text, failure_record_content, setup, timing,
};
use ccrescue_testbench::mock::COMPACTION_MARKER;
use ccrescue_testbench::sandbox::Auth;
use serde_json::Value;

#[test]
fn compacted_session_has_a_boundary_and_a_summary() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.awkward_project();
    let f = fixtures::compacted(&mock, &sb, &project);
    timing("compacted", f.took);
    assert_eq!(f.run.compact_status().unwrap()["compact_result"], "success");
    check_local_command_result(f.run.result(), "compact");
    assert_eq!(
        f.run.result()["session_id"],
        f.session.id.as_str(),
        "the id does not change"
    );
    let records = check_records(&f.session);
    let tail = &records[f.lines_before..];
    let b = tail
        .iter()
        .position(|r| r["subtype"] == "compact_boundary")
        .expect("a compact_boundary");
    let boundary = &tail[b];
    assert_eq!(boundary["type"], "system");
    assert!(boundary["parentUuid"].is_null());
    assert!(boundary["logicalParentUuid"].is_string());
    assert_eq!(boundary["content"], "Conversation compacted");
    let meta = &boundary["compactMetadata"];
    assert_eq!(meta["trigger"], "manual");
    assert!(meta["preTokens"].as_u64().unwrap() >= REPORTED_TOKENS);
    assert!(meta["postTokens"].as_u64().unwrap() < REPORTED_TOKENS);
    // The keys grew release by release; each is absent before the version that added it.
    for (k, since) in [
        ("durationMs", "2.1.150"),
        ("preservedSegment", "2.1.156"),
        ("preservedMessages", "2.1.156"),
        ("cumulativeDroppedTokens", "2.1.212"),
        ("preCompactOrganizationsCoverStart", "2.1.328"),
    ] {
        assert_eq!(
            meta.get(k).is_some(),
            version_at_least(since),
            "compactMetadata.{k} (from {since}): {meta}"
        );
    }
    let summary = &tail[b + 1];
    assert_eq!(summary["isCompactSummary"], true);
    assert_eq!(summary["parentUuid"], boundary["uuid"]);
    let text = content_text(summary);
    assert!(text.starts_with("This session is being continued from a previous conversation"));
    assert!(text.contains(f.summary_text));
    let after: Vec<String> = tail[b + 1..].iter().map(content_text).collect();
    assert!(
        after
            .iter()
            .any(|t| t.contains("<command-name>/compact</command-name>"))
    );
    assert!(
        after
            .iter()
            .any(|t| t.starts_with("<local-command-stdout>Compacted"))
    );

    let compactions: Vec<_> = mock
        .messages_requests()
        .into_iter()
        .filter(|r| r.is_compaction)
        .collect();
    assert_eq!(compactions.len(), 1);
    assert_eq!(compactions[0].model.as_deref(), Some(COMPACT_MODEL));
    assert!(
        compactions[0]
            .last_user_text
            .as_deref()
            .unwrap()
            .contains(COMPACTION_MARKER)
    );
    // Only what follows the boundary is sent next time.
    mock.clear_log();
    f.session
        .resume(&sb, "after compaction", &[])
        .assert_success();
    let next = &mock.messages_requests()[0];
    assert!(next.body.contains(f.summary_text));
    assert!(
        !next.body.contains("first question"),
        "pre-boundary turns are not resent"
    );
}

fn failed(auth: Auth, how: CompactionFailure) -> (fixtures::FailedCompaction, Vec<Value>) {
    let (mock, sb) = setup(auth);
    let project = sb.project("failing");
    let f = fixtures::failed_compaction(&mock, &sb, &project, how);
    timing(&format!("failed_compaction({auth:?}, {how:?})"), f.took);
    assert!(f.run.success(), "a failed compaction still exits 0");
    assert_eq!(f.run.compact_status().unwrap()["compact_result"], "failed");
    let records = check_records(&f.session);
    let tail = records[f.lines_before..].to_vec();
    assert!(!tail.iter().any(|r| r["subtype"] == "compact_boundary"));
    let recs: Vec<&Value> = tail
        .iter()
        .filter(|r| r["subtype"] == "local_command")
        .collect();
    assert_eq!(recs.len(), 1, "one failure record per /compact: {recs:?}");
    let rec = recs[0];
    assert_eq!(rec["type"], "system");
    assert_eq!(rec["content"], failure_record_content(&f.error));
    check_command_run(rec, "compact", Some("failed"));
    check_local_command_result(f.run.result(), "compact");
    // The status event comes twice up to 2.1.185, once from 2.1.212; text output (`result`) is
    // empty up to 2.1.172 and the error from 2.1.185.
    let statuses = f
        .run
        .events
        .iter()
        .filter(|e| e.get("compact_result").is_some())
        .count();
    assert_eq!(statuses, if version_at_least("2.1.212") { 1 } else { 2 });
    let shown = if version_at_least("2.1.185") {
        f.error.as_str()
    } else {
        ""
    };
    assert_eq!(f.run.result()["result"], shown);
    (f, tail)
}

/// `Error during compaction: <what claude showed for the API error>`, as `compact_error` reports
/// it; 2.1.150 leaves the prefix out of `compact_error` (its JSONL record has it).
fn during_compaction(shown: &str) -> String {
    if version_at_least("2.1.156") {
        format!("Error during compaction: {shown}")
    } else {
        shown.to_owned()
    }
}

/// Compaction requests 2.1.150 sends for one `/compact`: the full one, then a second, much
/// smaller one (its lean fallback) before it gives up.
const REQUESTS_2_1_150: usize = 2;

/// Compaction requests sent for one `/compact` refused with the 429 (without dropping rounds).
fn requests_for_a_refused_compaction() -> usize {
    if version_at_least("2.1.156") {
        1
    } else {
        REQUESTS_2_1_150
    }
}

#[test]
fn failed_compaction_credits_api_key_fails_at_once() {
    let (f, _) = failed(Auth::ApiKey, CompactionFailure::Credits);
    assert_eq!(f.error, during_compaction(API_WORDING));
    assert_eq!(f.compaction_requests, requests_for_a_refused_compaction());
}

#[test]
fn failed_compaction_credits_gateway_drops_rounds_then_gives_up() {
    let (f, _) = failed(Auth::GatewayToken, CompactionFailure::Credits);
    if version_at_least("2.1.328") {
        assert_eq!(
            f.error,
            "Compaction failed · conversation could not be reduced below the context limit"
        );
        assert!(f.compaction_requests > 1, "retried with fewer rounds");
    } else {
        // Up to 2.1.212 the 429 is not a reason to drop rounds: it fails as with an API key.
        assert_eq!(f.error, during_compaction(API_WORDING));
        assert_eq!(f.compaction_requests, requests_for_a_refused_compaction());
    }
}

#[test]
fn failed_compaction_prompt_too_long_and_too_large() {
    let (f, _) = failed(Auth::GatewayToken, CompactionFailure::PromptTooLong);
    if version_at_least("2.1.156") {
        assert_eq!(
            f.error,
            "Compaction failed · conversation could not be reduced below the context limit"
        );
    } else {
        assert_eq!(
            f.error,
            "Conversation too long. Press esc twice to go up a few messages and try again."
        );
    }
    // 2.1.328 drops rounds and retries; 2.1.156–2.1.212 give up after one request; 2.1.150
    // sends its full/lean pair twice, the second pair a little shorter.
    if version_at_least("2.1.328") {
        assert!(f.compaction_requests > 1);
    } else if version_at_least("2.1.156") {
        assert_eq!(f.compaction_requests, 1);
    } else {
        assert_eq!(f.compaction_requests, 2 * REQUESTS_2_1_150);
    }
    if !version_at_least("2.1.156") {
        too_large_on_2_1_150();
        return;
    }
    let (f, _) = failed(Auth::ApiKey, CompactionFailure::TooLarge);
    // 2.1.332 words the same 413 (a text-only session) as a failed reduction; both are size
    // failures to the wizard (`api_error::is_size_failure`).
    let wording = if version_at_least("2.1.332") {
        "Compaction failed · conversation could not be reduced below the context limit"
    } else {
        "Compaction failed · attached media exceeds size limits"
    };
    assert_eq!(f.error, wording);
    // One retry without images up to 2.1.212, more on 2.1.328.
    if version_at_least("2.1.328") {
        assert!(f.compaction_requests > 2);
    } else {
        assert_eq!(f.compaction_requests, 2);
    }
}

/// 2.1.150 answers two 413s to `/compact` (full and lean request) either with the failure the
/// later versions report or, in most runs (5 of 6 observed), by taking the 413's message for the
/// summary: `compact_result:"success"`, a boundary, and a summary reading `Request too large (max
/// 32MB). Try with a smaller file.` Both outcomes are checked in full.
fn too_large_on_2_1_150() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("failing");
    let f = fixtures::failed_compaction(&mock, &sb, &project, CompactionFailure::TooLarge);
    assert!(f.run.success());
    assert_eq!(f.compaction_requests, REQUESTS_2_1_150);
    let records = check_records(&f.session);
    let tail = &records[f.lines_before..];
    let status = f.run.compact_status().unwrap();
    if status["compact_result"] == "success" {
        let b = tail
            .iter()
            .position(|r| r["subtype"] == "compact_boundary")
            .expect("a boundary after the \"successful\" compaction");
        let summary = &tail[b + 1];
        assert_eq!(summary["isCompactSummary"], true);
        assert!(
            content_text(summary)
                .contains("Request too large (max 32MB). Try with a smaller file."),
            "{summary}"
        );
    } else {
        assert_eq!(status["compact_result"], "failed");
        assert_eq!(
            f.error,
            "Compaction failed · attached media exceeds size limits"
        );
        assert!(!tail.iter().any(|r| r["subtype"] == "compact_boundary"));
        let rec = tail
            .iter()
            .find(|r| r["subtype"] == "local_command")
            .expect("a failure record");
        assert_eq!(rec["content"], failure_record_content(&f.error));
    }
}
