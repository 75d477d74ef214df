//! Tests of the test bench's mock Anthropic API (plain HTTP on 127.0.0.1) and of the isolation of
//! real claude runs in the sandbox.

use ccrescue_testbench::claude_bin::{claude_version, pinned_version, version_at_least};
use ccrescue_testbench::fixtures::claude_env;
use ccrescue_testbench::mock::client::{HttpResponse, http, post_json};
use ccrescue_testbench::mock::{
    AuthKind, COMPACTION_MARKER, CREDITS_MESSAGE, MockApi, Reply, Rule,
};
use ccrescue_testbench::sandbox::{API_KEY, Auth, ISOLATION_VARS, Sandbox, describe};
use serde_json::{Value, json};

const KEY: (&str, &str) = ("x-api-key", "sk-test");

fn body(model: &str, stream: bool, user: Value) -> Value {
    json!({"model": model, "max_tokens": 100, "stream": stream,
           "messages": [{"role": "user", "content": user}]})
}

fn ask(mock: &MockApi, model: &str, stream: bool, user: &str) -> HttpResponse {
    post_json(
        &mock.url(),
        "/v1/messages?beta=true",
        &[KEY],
        &body(model, stream, json!(user)),
    )
}

fn text_of(resp: &HttpResponse) -> String {
    resp.json()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn answers_the_side_endpoints() {
    let mock = MockApi::start(vec![]);
    assert!(mock.url().starts_with("http://127.0.0.1:"));
    let head = http(&mock.url(), "HEAD", "/", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(http(&mock.url(), "GET", "/", &[], b"").status, 200);
    let models = http(&mock.url(), "GET", "/v1/models", &[KEY], b"");
    assert_eq!(models.status, 200);
    let ids: Vec<_> = models.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"claude-haiku-4-5-20251001".to_string()),
        "{ids:?}"
    );
    let one = http(
        &mock.url(),
        "GET",
        "/v1/models/claude-sonnet-4-6",
        &[KEY],
        b"",
    );
    assert_eq!(one.json()["id"], "claude-sonnet-4-6");
    let count = post_json(
        &mock.url(),
        "/v1/messages/count_tokens",
        &[KEY],
        &body("m", false, json!("hi")),
    );
    assert_eq!(count.status, 200);
    assert!(count.json()["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(http(&mock.url(), "GET", "/nope", &[], b"").status, 404);
    let log = mock.requests();
    assert_eq!(log.len(), 6);
    assert!(log.iter().all(|r| r.messages_index.is_none()));
    assert_eq!(log[0].method, "HEAD");
    assert_eq!(log[4].path, "/v1/messages/count_tokens");
    assert_eq!(log[5].status, 404);
}

#[test]
fn default_replies_plain_json_and_sse() {
    let mock = MockApi::start(vec![]);
    let plain = ask(&mock, "claude-sonnet-4-6", false, "hi");
    assert_eq!(plain.status, 200);
    let msg = plain.json();
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["model"], "claude-sonnet-4-6");
    assert_eq!(msg["stop_reason"], "end_turn");
    assert_eq!(msg["usage"]["input_tokens"], 100);
    assert!(plain.header("request-id").unwrap().starts_with("req_"));

    let streamed = ask(&mock, "claude-sonnet-4-6", true, "hi");
    assert!(
        streamed
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = streamed.sse_events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        assert_eq!(data["type"], *name, "event name and data type agree");
    }
    assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 100);
    assert_eq!(events[2].1["delta"]["type"], "text_delta");
    assert!(!events[2].1["delta"]["text"].as_str().unwrap().is_empty());
    assert_eq!(events[4].1["delta"]["stop_reason"], "end_turn");

    // A compaction request gets a summary by default.
    let compaction =
        format!("CRITICAL: Respond with TEXT ONLY.\n\nYour task is to {COMPACTION_MARKER} so far");
    let summary = ask(&mock, "claude-haiku-4-5-20251001", false, &compaction);
    let text = text_of(&summary);
    assert!(
        text.contains("<summary>") && text.contains("</summary>"),
        "{text}"
    );
    let log = mock.messages_requests();
    assert_eq!(
        log.iter().map(|r| r.reply.as_str()).collect::<Vec<_>>(),
        ["text", "text", "summary"]
    );
    assert_eq!(
        log.iter().map(|r| r.is_compaction).collect::<Vec<_>>(),
        [false, false, true]
    );
}

#[test]
fn reply_kinds() {
    let mock = MockApi::start(vec![
        Rule::reply(Reply::text_with_tokens("big", 260_000)).body_contains("say big"),
        Rule::reply(Reply::tool_use("Read", json!({"file_path": "/x/a.png"})))
            .body_contains("use a tool"),
        Rule::reply(Reply::credits_error()).body_contains("credits please"),
        Rule::reply(Reply::credits_error_not_retried()).body_contains("no retries please"),
        Rule::reply(Reply::prompt_too_long(260_000, 200_000)).body_contains("too long please"),
        Rule::reply(Reply::TooLarge).body_contains("too large please"),
        Rule::reply(Reply::summary("SUM")).body_contains("summary please"),
    ]);
    let big = ask(&mock, "m", true, "say big");
    assert_eq!(
        big.sse_events()[0].1["message"]["usage"]["input_tokens"],
        260_000
    );
    assert_eq!(
        ask(&mock, "m", false, "say big").json()["usage"]["input_tokens"],
        260_000
    );

    let tool = ask(&mock, "m", true, "use a tool").sse_events();
    assert_eq!(tool[1].1["content_block"]["type"], "tool_use");
    assert_eq!(tool[1].1["content_block"]["name"], "Read");
    assert!(
        tool[1].1["content_block"]["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
    assert_eq!(tool[2].1["delta"]["type"], "input_json_delta");
    let input: Value =
        serde_json::from_str(tool[2].1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"file_path": "/x/a.png"}));
    assert_eq!(tool[4].1["delta"]["stop_reason"], "tool_use");
    let plain_tool = ask(&mock, "m", false, "use a tool").json();
    assert_eq!(plain_tool["content"][0]["input"]["file_path"], "/x/a.png");

    let credits = ask(&mock, "m", true, "credits please");
    assert_eq!(credits.status, 429);
    assert_eq!(
        credits.json(),
        json!({"type":"error","error":{"type":"rate_limit_error","message":"Extra usage is required for long context requests."}})
    );
    assert_eq!(
        CREDITS_MESSAGE,
        "Extra usage is required for long context requests."
    );
    // Without the opt-in no retry hint is sent: 2.1.150/2.1.156 then retry ten times.
    assert_eq!(credits.header("x-should-retry"), None);
    let fast = ask(&mock, "m", true, "no retries please");
    assert_eq!(fast.status, 429);
    assert_eq!(fast.json(), credits.json());
    assert_eq!(fast.header("x-should-retry"), Some("false"));

    let ptl = ask(&mock, "m", true, "too long please");
    assert_eq!(ptl.status, 400);
    assert_eq!(ptl.json()["error"]["type"], "invalid_request_error");
    assert_eq!(
        ptl.json()["error"]["message"],
        "prompt is too long: 260000 tokens > 200000 maximum"
    );

    let large = ask(&mock, "m", true, "too large please");
    assert_eq!(large.status, 413);
    assert_eq!(large.json()["error"]["type"], "request_too_large");

    let sum = text_of(&ask(&mock, "m", false, "summary please"));
    assert!(sum.contains("<summary>\nSUM\n</summary>"), "{sum}");

    let statuses: Vec<u16> = mock.messages_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 400, 413, 200]);
}

#[test]
fn rules_match_in_order_and_sequences_run_out() {
    let mock = MockApi::start(vec![
        Rule::reply(Reply::text("exact")).model("claude-sonnet-4-6"),
        Rule::reply(Reply::text("contains")).model_contains("haiku"),
        Rule::reply(Reply::text("bearer")).auth(AuthKind::Bearer),
        Rule::reply(Reply::text("images")).images(true),
        Rule::reply(Reply::text("big body")).body_at_least(5_000),
        Rule::reply(Reply::sequence([
            Reply::text("seq 1"),
            Reply::text("seq 2"),
        ])),
    ]);
    let url = mock.url();
    assert_eq!(
        text_of(&ask(&mock, "claude-sonnet-4-6", false, "a")),
        "exact"
    );
    assert_eq!(
        text_of(&ask(&mock, "claude-sonnet-4-6[1m]", false, "a")),
        "seq 1"
    );
    assert_eq!(
        text_of(&ask(&mock, "claude-haiku-4-5-20251001", false, "a")),
        "contains"
    );
    let bearer = post_json(
        &url,
        "/v1/messages",
        &[("authorization", "Bearer tok")],
        &body("m", false, json!("a")),
    );
    assert_eq!(text_of(&bearer), "bearer");
    let img = json!([{"type":"tool_result","tool_use_id":"t","content":[
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
        {"type":"text","text":"what is this"}]);
    assert_eq!(
        text_of(&post_json(
            &url,
            "/v1/messages",
            &[KEY],
            &body("m", false, img)
        )),
        "images"
    );
    assert_eq!(
        text_of(&ask(&mock, "m", false, &"x".repeat(6_000))),
        "big body"
    );
    assert_eq!(text_of(&ask(&mock, "m", false, "a")), "seq 2");
    assert_eq!(text_of(&ask(&mock, "m", false, "a")), "OK (mock reply).");

    let log = mock.messages_requests();
    assert_eq!(log[3].auth, AuthKind::Bearer);
    assert_eq!(log[0].auth, AuthKind::ApiKey);
    assert_eq!(log[4].image_count, 1);
    assert_eq!(log[4].last_user_text.as_deref(), Some("what is this"));
    assert_eq!(log[5].body_len, log[5].body.len());
    assert!(log[5].body_len > 6_000);
    assert_eq!(log[0].query.as_deref(), Some("beta=true"));
    assert_eq!(log[3].query, None);
    assert_eq!(
        log.iter()
            .map(|r| r.messages_index.unwrap())
            .collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );

    // Request indexes count from the last set_rules.
    mock.set_rules(vec![
        Rule::reply(Reply::text("second")).nth(1),
        Rule::reply(Reply::text("later")).from_nth(2),
    ]);
    let texts: Vec<String> = (0..4)
        .map(|_| text_of(&ask(&mock, "m", false, "a")))
        .collect();
    assert_eq!(texts, ["OK (mock reply).", "second", "later", "later"]);
    mock.clear_log();
    assert!(mock.requests().is_empty());
}

#[test]
fn a_delayed_rule_is_logged_at_once_and_answered_late() {
    let rules: Vec<Rule> = serde_json::from_value(
        json!([{"delay_ms": 800, "reply": {"kind": "text", "text": "late"}}]),
    )
    .unwrap();
    assert_eq!(rules[0], Rule::reply(Reply::text("late")).delay_ms(800));
    let mock = MockApi::start(rules);
    let url = mock.url();
    let started = std::time::Instant::now();
    let asking = std::thread::spawn(move || {
        post_json(&url, "/v1/messages", &[KEY], &body("m", false, json!("a")))
    });
    let logged = mock.wait_for(std::time::Duration::from_secs(5), |r| r.is_messages());
    assert!(logged.is_some(), "logged before the answer");
    assert!(started.elapsed() < std::time::Duration::from_millis(800));
    // Other requests are answered meanwhile.
    let models = http(&mock.url(), "GET", "/v1/models", &[KEY], b"");
    assert_eq!(models.status, 200);
    assert!(!asking.is_finished());
    assert_eq!(text_of(&asking.join().unwrap()), "late");
    assert!(started.elapsed() >= std::time::Duration::from_millis(800));
}

#[test]
fn rules_read_from_json_as_mockapi_does() {
    let rules: Vec<Rule> = serde_json::from_value(json!([
        {"from_nth": 1, "compaction": false, "reply": {"kind": "credits_error"}},
        {"compaction": true, "reply": {"kind": "credits_error", "should_retry": false}},
        {"model_contains": "haiku", "reply": {"kind": "prompt_too_long", "tokens": 5, "max": 4}},
        {"reply": {"kind": "sequence", "replies": [
            {"kind": "tool_use", "name": "Read", "input": {"file_path": "/a.png"}},
            {"kind": "text", "text": "done", "input_tokens": 260000}]}}
    ]))
    .unwrap();
    assert_eq!(
        rules[0],
        Rule::reply(Reply::credits_error())
            .from_nth(1)
            .compaction(false)
    );
    assert_eq!(
        rules[1],
        Rule::reply(Reply::credits_error_not_retried()).compaction(true)
    );
    assert!(
        serde_json::from_value::<Rule>(json!({"modle": "x", "reply": {"kind": "too_large"}}))
            .is_err()
    );
    let back: Vec<Rule> = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
    assert_eq!(back, rules);
}

#[test]
fn real_claude_runs_isolated_and_talks_only_to_the_mock() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    assert!(sb.base_url().starts_with("http://127.0.0.1:"));
    let names: Vec<String> = sb.env().into_iter().map(|(k, _)| k).collect();
    let mut expected = vec![
        "PATH",
        "HOME",
        "TMPDIR",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
    ];
    expected.extend(ISOLATION_VARS.iter().map(|(k, _)| *k));
    assert_eq!(names, expected);

    let (env, session) = claude_env(&mock, &sb, &sb.awkward_project());
    let session_id = session.id;
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("ANTHROPIC_BASE_URL"), Some(mock.url().as_str()));
    assert_eq!(get("HOME"), Some(sb.home().to_str().unwrap()));
    assert_eq!(get("ANTHROPIC_API_KEY"), Some(API_KEY));
    assert_eq!(get("ANTHROPIC_AUTH_TOKEN"), None);
    for (k, v) in ISOLATION_VARS {
        assert_eq!(get(k), Some(*v), "{k}");
    }
    assert!(
        get("PATH")
            .unwrap()
            .starts_with(sb.bin_dir().to_str().unwrap())
    );
    // Every ANTHROPIC_* variable of the child is one the sandbox set.
    for (k, _) in &env {
        if k.starts_with("ANTHROPIC_") {
            assert!(names.contains(k), "unexpected {k} in claude's environment");
        }
    }
    // Nothing of the test process's own environment leaked (besides what the sandbox sets and
    // what claude adds for its tools: CLAUDECODE, CLAUDE_CODE_*, SHELL, PWD, …).
    let added_by_claude = [
        "SHELL",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        "CLAUDECODE",
        "GIT_EDITOR",
        "AI_AGENT",
    ];
    for (k, v) in std::env::vars() {
        let ours =
            names.contains(&k) || added_by_claude.contains(&k.as_str()) || k.starts_with("CLAUDE_");
        if !ours {
            assert!(
                get(&k) != Some(v.as_str()),
                "the test's {k} leaked into claude's environment"
            );
        }
    }
    // The mock saw every request of the run; they came from this session with the API key.
    let log = mock.messages_requests();
    assert_eq!(log.len(), 2, "a tool_use turn and the turn after it");
    for r in &log {
        assert_eq!(r.auth, AuthKind::ApiKey);
        assert_eq!(r.session_header.as_deref(), Some(session_id.as_str()));
        assert_eq!(r.query.as_deref(), Some("beta=true"));
        assert!(r.stream);
        assert!(
            r.beta
                .as_deref()
                .unwrap_or_default()
                .contains("claude-code-20250219")
        );
    }
    assert_eq!(
        log[0].last_user_text.as_deref(),
        Some("show me your environment")
    );
}

#[test]
fn gateway_token_is_sent_as_bearer() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::with_auth(&mock, Auth::GatewayToken);
    let env = sb.env();
    assert!(env.iter().any(|(k, _)| k == "ANTHROPIC_AUTH_TOKEN"));
    assert!(!env.iter().any(|(k, _)| k == "ANTHROPIC_API_KEY"));
    let out = sb.claude(&sb.project("gw"), &["-p", "hello"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "OK (mock reply)."
    );
    let log = mock.messages_requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].auth, AuthKind::Bearer);
}

#[test]
fn claude_under_test_is_the_pinned_one_unless_overridden() {
    let v = claude_version();
    if std::env::var_os("CCRESCUE_TEST_CLAUDE").is_none() {
        assert_eq!(v, pinned_version());
    }
    assert!(version_at_least("2.1.0"));
    assert!(!version_at_least("99.0.0"));
}

#[test]
fn ccrescue_runs_in_the_sandbox() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ccrescue"));
    let out = sb.ccrescue(exe, &sb.project("p"), &["--help"]);
    // Only the plumbing is checked here: the binary started in the project and ended in time.
    assert!(out.status.code().is_some(), "{}", describe(&out));
    assert!(
        mock.requests().is_empty(),
        "ccrescue --help talks to no API"
    );
}
