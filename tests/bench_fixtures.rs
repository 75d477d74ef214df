//! Tests of the fixture builders: each drives the real claude against the mock, and each test
//! checks what claude wrote to the session JSONL against reference §3. Where versions differ
//! (observed on 2.1.150, 2.1.156, 2.1.172, 2.1.185, 2.1.212 and 2.1.328) the test says which
//! version does what, through `version_at_least`.

use base64::Engine as _;
use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{
    self, API_WORDING, CONVERSATION_TYPES, REPORTED_TOKENS, check_command_run,
    check_local_command_result, check_records, content_text, of_type, real_assistants, setup,
    timing,
};
use ccrescue_testbench::mock::AuthKind;
use ccrescue_testbench::sandbox::{Auth, slug};
use serde_json::Value;

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
    assert_eq!(result["api_error_status"], 429);
    // The subscriber wording for a gateway token arrived in 2.1.328; older versions show the
    // API-key wording and name no `api_error` in the result or the record.
    let subscriber = version_at_least("2.1.328");
    if subscriber {
        assert!(text.starts_with("API Error: Usage credits required for 1M context · turn on usage credits at https://claude.ai/settings/usage?from=cc_cli_limit_message"), "{text}");
        assert_eq!(result["api_error"], "long_context_credits_required");
    } else {
        assert_eq!(text, API_WORDING);
        assert!(result.get("api_error").is_none(), "{result}");
    }

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
    assert_eq!(err["error"], "rate_limit");
    assert_eq!(err["apiErrorStatus"], 429);
    check_error_record_extras(err, subscriber);
    if subscriber {
        assert_eq!(err["apiError"], "long_context_credits_required");
        assert!(err["errorDetails"].as_str().unwrap().starts_with("429 {"));
        assert!(
            err["errorDetails"]
                .as_str()
                .unwrap()
                .contains("Extra usage is required for long context requests.")
        );
    } else {
        assert!(err.get("apiError").is_none() && err.get("errorDetails").is_none());
    }
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
    // Observed on every version: in print mode claude does not try to compact after the 429, and
    // with `x-should-retry: false` 2.1.150/2.1.156 do not retry it either.
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
    assert_eq!(f.refused.result()["result"], API_WORDING);
    let records = check_records(&f.session);
    let err = records
        .iter()
        .rfind(|r| r["isApiErrorMessage"] == true)
        .unwrap();
    assert_eq!(err["message"]["model"], "<synthetic>");
    assert_eq!(err["apiErrorStatus"], 429);
    assert_eq!(err["error"], "rate_limit");
    check_error_record_extras(err, false);
    // No `apiError` / `errorDetails` with API-key auth (any version).
    assert!(err.get("apiError").is_none() && err.get("errorDetails").is_none());
    assert_eq!(content_text(err), API_WORDING);
    let log = mock.messages_requests();
    assert_eq!(log.len(), 2, "one refused request, not retried");
    assert!(log.iter().all(|r| r.auth == AuthKind::ApiKey
        && r.beta.as_deref().unwrap().contains("context-1m-2025-08-07")));
}

/// What every version prints for the 429 with API-key auth (and, before 2.1.328, gateway auth).
/// Fields of the synthetic error record that came with later versions: `apiErrorIsTransient:false`
/// from 2.1.212 on the API-key wording (2.1.328's subscriber-worded record has none),
/// `apiErrorType:"rate_limit_error"` from 2.1.328 (absent before).
fn check_error_record_extras(err: &Value, subscriber_wording: bool) {
    if version_at_least("2.1.212") && !subscriber_wording {
        assert_eq!(err["apiErrorIsTransient"], false, "{err}");
    } else {
        assert!(err.get("apiErrorIsTransient").is_none(), "{err}");
    }
    if version_at_least("2.1.328") {
        assert_eq!(err["apiErrorType"], "rate_limit_error", "{err}");
    } else {
        assert!(err.get("apiErrorType").is_none(), "{err}");
    }
}

#[test]
fn resume_keeps_a_1m_model_only_from_2_1_328() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("resume 1m");
    let (session, run) = fixtures::new_session(
        &sb,
        &project,
        "hello",
        &["--model", fixtures::LONG_CONTEXT_MODEL],
    );
    run.assert_success();
    session.resume(&sb, "again", &[]).assert_success();
    let log = mock.messages_requests();
    assert_eq!(log.len(), 2);
    let has_1m = |i: usize| {
        log[i]
            .beta
            .as_deref()
            .unwrap_or_default()
            .contains("context-1m-2025-08-07")
    };
    assert!(
        log.iter()
            .all(|r| r.model.as_deref() == Some("claude-sonnet-4-6"))
    );
    assert!(has_1m(0));
    // 2.1.150–2.1.212 resume with the records' model id, which has no `[1m]`: the 1M beta is
    // gone and the window is 200K (why `fixtures::keep_1m_model_on_resume` exists).
    assert_eq!(has_1m(1), version_at_least("2.1.328"));
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
        // Read needs no --allowedTools in print mode on any version; only 2.1.328 records why
        // it was allowed (2.1.150–2.1.212 write no `permissionDecision`, with or without
        // `--allowedTools Read`).
        if version_at_least("2.1.328") {
            assert_eq!(r["permissionDecision"]["decision"], "accept");
            assert_eq!(r["permissionDecision"]["reasonType"], "mode");
        } else {
            assert!(r.get("permissionDecision").is_none(), "{r}");
        }
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
    check_local_command_result(f.run.result(), "clear");
    let new = check_records(&f.new);
    assert!(
        content_text(of_type(&new, "user", None)[1])
            .starts_with("<command-name>/clear</command-name>")
    );
    let local = of_type(&new, "system", Some("local_command"))[0];
    assert_eq!(
        local["content"],
        "<local-command-stdout></local-command-stdout>"
    );
    check_command_run(local, "clear", None);
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
