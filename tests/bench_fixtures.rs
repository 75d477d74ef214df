//! Tests of the fixture builders: each drives the real claude against the mock, and each test
//! checks what claude wrote to the session JSONL against reference §3 (as observed on 2.1.328).

use base64::Engine as _;
use ccrescue_testbench::fixtures::{
    self, COMPACT_MODEL, CONVERSATION_TYPES, CompactionFailure, REPORTED_TOKENS, check_records,
    content_text, of_type, real_assistants,
};
use ccrescue_testbench::mock::{AuthKind, COMPACTION_MARKER, MockApi};
use ccrescue_testbench::sandbox::{Auth, Sandbox, slug};
use serde_json::Value;

fn setup(auth: Auth) -> (MockApi, Sandbox) {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::with_auth(&mock, auth);
    (mock, sb)
}

fn timing(name: &str, took: std::time::Duration) {
    eprintln!("fixture {name} took {:.2}s", took.as_secs_f64());
}

#[test]
fn healthy_session_in_an_awkward_folder() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.awkward_project();
    assert!(project.ends_with("my proj_v1.2"));
    let f = fixtures::healthy(&mock, &sb, &project);
    timing("healthy", f.took);
    let dir = f.session.file.parent().unwrap();
    assert!(
        dir.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-work-my-proj-v1-2")
    );
    let records = check_records(&f.session);
    let users: Vec<String> = of_type(&records, "user", None)
        .iter()
        .map(|r| content_text(r))
        .collect();
    assert_eq!(users, ["hello", "second turn"]);
    let replies = real_assistants(&records);
    assert_eq!(replies.len(), 2);
    for r in &replies {
        let usage = &r["message"]["usage"];
        assert_eq!(usage["input_tokens"], 100);
        for k in [
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        ] {
            assert!(usage[k].is_u64(), "usage.{k}");
        }
        assert!(r["message"]["id"].as_str().unwrap().starts_with("msg_"));
        assert!(r["requestId"].as_str().unwrap().starts_with("req_"));
        assert_eq!(content_text(r), "Hello from the mock.");
    }
    assert_eq!(mock.messages_requests().len(), 2);
    assert_eq!(
        sb.session_files(&project),
        std::slice::from_ref(&f.session.file)
    );
    // 2.1.328 also makes a `memory/` folder beside the session files.
    assert!(dir.join("memory").is_dir());
}

#[test]
fn healthy_session_in_a_folder_longer_than_200_chars() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.long_project();
    let f = fixtures::healthy(&mock, &sb, &project);
    timing("healthy (long path)", f.took);
    let dir_name = f
        .session
        .file
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(dir_name, slug(&project));
    assert!(
        dir_name.len() > 201 && dir_name.as_bytes()[200] == b'-',
        "{dir_name}"
    );
    check_records(&f.session);
}

#[test]
fn credits_error_with_gateway_auth_writes_the_subscriber_wording() {
    let (mock, sb) = setup(Auth::GatewayToken);
    let project = sb.project("big_session.v2");
    let f = fixtures::credits_error(&mock, &sb, &project);
    timing("credits_error (gateway)", f.took);
    assert_eq!(
        f.refused.output.status.code(),
        Some(1),
        "print mode exits 1 on the 429"
    );
    let result = f.refused.result();
    let text = result["result"].as_str().unwrap();
    assert!(text.starts_with("API Error: Usage credits required for 1M context · turn on usage credits at https://claude.ai/settings/usage?from=cc_cli_limit_message"), "{text}");
    assert_eq!(result["api_error"], "long_context_credits_required");
    assert_eq!(result["api_error_status"], 429);

    let records = check_records(&f.session);
    let grown = real_assistants(&records);
    assert_eq!(
        grown.last().unwrap()["message"]["usage"]["input_tokens"],
        REPORTED_TOKENS
    );
    let err = records
        .iter()
        .rfind(|r| r["isApiErrorMessage"] == true)
        .expect("a synthetic error record");
    assert_eq!(err["type"], "assistant");
    assert_eq!(err["message"]["model"], "<synthetic>");
    assert_eq!(err["apiError"], "long_context_credits_required");
    assert_eq!(err["error"], "rate_limit");
    assert_eq!(err["apiErrorStatus"], 429);
    assert_eq!(err["apiErrorType"], "rate_limit_error");
    assert!(err["errorDetails"].as_str().unwrap().starts_with("429 {"));
    assert!(
        err["errorDetails"]
            .as_str()
            .unwrap()
            .contains("Extra usage is required for long context requests.")
    );
    assert_eq!(content_text(err), text);

    let log = mock.messages_requests();
    assert!(
        log.iter()
            .all(|r| r.auth == AuthKind::Bearer && r.model.as_deref() == Some("claude-sonnet-4-6"))
    );
    assert!(
        log.iter()
            .all(|r| r.beta.as_deref().unwrap().contains("context-1m-2025-08-07"))
    );
    // Observed on 2.1.328: in print mode claude does not try to compact after the 429.
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| !r.is_compaction));
    assert_eq!(log[1].reply, "credits_error");
}

#[test]
fn credits_error_with_an_api_key_writes_the_api_wording() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("api key");
    let f = fixtures::credits_error(&mock, &sb, &project);
    timing("credits_error (api key)", f.took);
    assert_eq!(f.refused.output.status.code(), Some(1));
    let wording =
        "API Error: Request rejected (429) · Extra usage is required for long context requests.";
    assert_eq!(f.refused.result()["result"], wording);
    let records = check_records(&f.session);
    let err = records
        .iter()
        .rfind(|r| r["isApiErrorMessage"] == true)
        .unwrap();
    assert_eq!(err["message"]["model"], "<synthetic>");
    assert_eq!(err["apiErrorStatus"], 429);
    assert_eq!(err["error"], "rate_limit");
    assert_eq!(err["apiErrorIsTransient"], false);
    // No `apiError` / `errorDetails` with API-key auth (2.1.328).
    assert!(err.get("apiError").is_none() && err.get("errorDetails").is_none());
    assert_eq!(content_text(err), wording);
}

#[test]
fn screenshots_land_in_tool_results_twice() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.awkward_project();
    let f = fixtures::screenshots(&mock, &sb, &project, 3);
    timing("screenshots(3)", f.took);
    let records = check_records(&f.session);
    let b64 = base64::engine::general_purpose::STANDARD;
    let results: Vec<&Value> = of_type(&records, "user", None)
        .into_iter()
        .filter(|r| r["message"]["content"][0]["type"] == "tool_result")
        .collect();
    assert_eq!(results.len(), 3);
    for (r, png) in results.iter().zip(&f.images) {
        let file = std::fs::read(png).unwrap();
        let block = &r["message"]["content"][0]["content"][0];
        assert_eq!(block["type"], "image");
        assert_eq!(block["source"]["type"], "base64");
        assert_eq!(block["source"]["media_type"], "image/png");
        // Small PNGs are stored byte for byte.
        assert_eq!(
            b64.decode(block["source"]["data"].as_str().unwrap())
                .unwrap(),
            file
        );
        let copy = &r["toolUseResult"]["file"];
        assert_eq!(b64.decode(copy["base64"].as_str().unwrap()).unwrap(), file);
        assert_eq!(copy["type"], "image/png");
        assert_eq!(copy["originalSize"], file.len());
        assert!(copy["dimensions"]["originalWidth"].is_u64());
        assert_eq!(r["toolUseResult"]["type"], "image");
        assert_eq!(
            r["permissionDecision"]["decision"], "accept",
            "Read needs no --allowedTools"
        );
    }
    let images: Vec<usize> = mock
        .messages_requests()
        .iter()
        .map(|r| r.image_count)
        .collect();
    assert_eq!(
        images,
        [0, 1, 2, 3],
        "every request resends every earlier image"
    );
}

#[test]
fn compacted_session_has_a_boundary_and_a_summary() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.awkward_project();
    let f = fixtures::compacted(&mock, &sb, &project);
    timing("compacted", f.took);
    assert_eq!(f.run.compact_status().unwrap()["compact_result"], "success");
    assert_eq!(f.run.result()["local_command"], "compact");
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
    for k in [
        "preservedSegment",
        "preservedMessages",
        "cumulativeDroppedTokens",
        "preCompactOrganizationsCoverStart",
        "durationMs",
    ] {
        assert!(meta.get(k).is_some(), "compactMetadata.{k} (2.1.328)");
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
    let rec = tail
        .iter()
        .find(|r| r["subtype"] == "local_command")
        .expect("a local_command record");
    assert_eq!(rec["type"], "system");
    assert_eq!(
        rec["content"],
        format!("<local-command-stderr>{}</local-command-stderr>", f.error)
    );
    assert_eq!(rec["commandRun"]["command"], "compact");
    assert_eq!(rec["commandOutcome"]["kind"], "failed");
    (f, tail)
}

#[test]
fn failed_compaction_credits_api_key_fails_at_once() {
    let (f, _) = failed(Auth::ApiKey, CompactionFailure::Credits);
    assert_eq!(
        f.error,
        "Error during compaction: API Error: Request rejected (429) · Extra usage is required for long context requests."
    );
    assert_eq!(f.compaction_requests, 1);
}

#[test]
fn failed_compaction_credits_gateway_drops_rounds_then_gives_up() {
    let (f, _) = failed(Auth::GatewayToken, CompactionFailure::Credits);
    assert_eq!(
        f.error,
        "Compaction failed · conversation could not be reduced below the context limit"
    );
    assert!(f.compaction_requests > 1, "retried with fewer rounds");
}

#[test]
fn failed_compaction_prompt_too_long_and_too_large() {
    let (f, _) = failed(Auth::GatewayToken, CompactionFailure::PromptTooLong);
    assert_eq!(
        f.error,
        "Compaction failed · conversation could not be reduced below the context limit"
    );
    assert!(f.compaction_requests > 1);
    let (f, _) = failed(Auth::ApiKey, CompactionFailure::TooLarge);
    assert_eq!(
        f.error,
        "Compaction failed · attached media exceeds size limits"
    );
    assert!(f.compaction_requests > 1);
}

#[test]
fn clear_starts_a_new_session_file() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.awkward_project();
    let before = mock.requests().len();
    let f = fixtures::cleared(&mock, &sb, &project);
    timing("cleared", f.took);
    assert_eq!(
        mock.messages_requests().len() - before,
        1,
        "/clear sends no request"
    );
    assert_eq!(f.run.result()["local_command"], "clear");
    let new = check_records(&f.new);
    assert!(
        content_text(of_type(&new, "user", None)[1])
            .starts_with("<command-name>/clear</command-name>")
    );
    assert_eq!(
        of_type(&new, "system", Some("local_command"))[0]["commandRun"]["command"],
        "clear"
    );
    // The old file only gained bookkeeping lines (the queued "/clear"), no conversation record.
    let old = check_records(&f.old);
    let added: Vec<&str> = old[f.old_lines_before..]
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(
        added.iter().all(|t| !CONVERSATION_TYPES.contains(t)),
        "{added:?}"
    );
    assert_eq!(sb.session_files(&project).last(), Some(&f.new.file));
}

#[test]
fn continue_picks_the_newer_session() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.long_project();
    let f = fixtures::continue_pair(&mock, &sb, &project);
    timing("continue_pair", f.took);
    check_records(&f.older);
    check_records(&f.newer);
    let run = fixtures::print_run(&sb, &project, "which one?", &["--continue"]);
    run.assert_success();
    assert_eq!(run.session_id(), f.newer.id);
    let body = mock.messages_requests().pop().unwrap().body;
    assert!(body.contains("the newer session") && !body.contains("the older session"));
}
