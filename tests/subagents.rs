//! Subagent transcripts counted with their parent session (issue 16 point 1, issue 11 point 5):
//! REAL transcripts from ../shared/corpus in each of the three layouts, copied into a sandbox
//! HOME's projects folder, and what `diagnose` and `diagnose --json` say about them.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::ccrescue;
use serde_json::Value;

const LOG: &str = "cb2e607c-c758-415a-8b45-c49e4631906a";
const SPOTTER: &str = "258c7280-ae70-4798-800f-63464d01a85d";

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/")).join(name)
}

/// A sandbox (nothing here runs claude's model) and a project folder.
fn sandbox() -> (Sandbox, PathBuf) {
    let sb = Sandbox::for_url("http://127.0.0.1:9", Auth::ApiKey);
    let project = sb.project("subagents");
    (sb, project)
}

/// Copies corpus file `from` into the project's session folder as `to`.
fn place(sb: &Sandbox, project: &Path, from: &str, to: &str) -> PathBuf {
    let dest = sb.session_dir(project).join(to);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(corpus(from), &dest).unwrap();
    dest
}

fn diagnose_json(sb: &Sandbox, project: &Path, session: &str) -> Value {
    ccrescue(sb, project, &["diagnose", "--json", "--session", session]).json()
}

fn diagnose_text(sb: &Sandbox, project: &Path, session: &str) -> String {
    let ran = ccrescue(sb, project, &["diagnose", "--session", session]);
    String::from_utf8_lossy(&ran.output.stdout).into_owned()
}

fn subagents_line(report: &str) -> &str {
    report
        .lines()
        .find(|l| l.starts_with("Subagents"))
        .unwrap_or_else(|| panic!("no Subagents line in:\n{report}"))
}

/// claude 2.0.37: `agent-ea02459f.jsonl` beside the session, its records naming the session's id.
/// Another agent file beside it, of another session, is not counted.
#[test]
fn beside_the_session_2_0_layout() {
    let (sb, project) = sandbox();
    place(
        &sb,
        &project,
        &format!("claude-code-log__{LOG}.jsonl"),
        &format!("{LOG}.jsonl"),
    );
    place(
        &sb,
        &project,
        "claude-code-log__agent-ea02459f.jsonl",
        "agent-ea02459f.jsonl",
    );
    // spotter's subagent names another session: not cb2e607c's.
    place(
        &sb,
        &project,
        "spotter__258c7280-subagents-agent-a881341.jsonl",
        "agent-a881341.jsonl",
    );
    let j = diagnose_json(&sb, &project, LOG);
    let s = &j["subagents"];
    assert_eq!(s["count"], 1, "{s}");
    assert_eq!(s["beside"], 1, "{s}");
    assert_eq!(s["folder"], 0, "{s}");
    assert_eq!(s["refused"], serde_json::json!([]), "{s}");
    let report = diagnose_text(&sb, &project, LOG);
    assert_eq!(
        subagents_line(&report)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        "Subagents 1 (agent-ea02459f): none refused",
        "{report}"
    );
}

/// claude 2.1.x: `<session-id>/subagents/agent-*.jsonl`.
#[test]
fn in_the_subagents_folder_2_1_layout() {
    let (sb, project) = sandbox();
    place(
        &sb,
        &project,
        &format!("spotter__{SPOTTER}.jsonl"),
        &format!("{SPOTTER}.jsonl"),
    );
    for agent in ["agent-a881341", "agent-acompact-fffbd0"] {
        place(
            &sb,
            &project,
            &format!("spotter__258c7280-subagents-{agent}.jsonl"),
            &format!("{SPOTTER}/subagents/{agent}.jsonl"),
        );
    }
    let s = &diagnose_json(&sb, &project, SPOTTER)["subagents"];
    assert_eq!(s["count"], 2, "{s}");
    assert_eq!(s["folder"], 2, "{s}");
    assert_eq!(s["beside"], 0, "{s}");
    let report = diagnose_text(&sb, &project, SPOTTER);
    let line = subagents_line(&report);
    assert!(
        line.contains("2 (agent-a881341, agent-acompact-fffbd0): none refused"),
        "{line}"
    );
}

/// Early 2.0.x: the subagent's records are `isSidechain: true` lines of the session file itself.
#[test]
fn inline_sidechains() {
    let (sb, project) = sandbox();
    let id = "609efeca-2f51-4118-b077-e91c9fe63f73";
    place(
        &sb,
        &project,
        "agentlogs__subagent.jsonl",
        &format!("{id}.jsonl"),
    );
    let s = &diagnose_json(&sb, &project, id)["subagents"];
    assert_eq!(s["count"], 1, "{s}");
    assert_eq!(s["inline"], 1, "{s}");
    let report = diagnose_text(&sb, &project, id);
    assert!(
        subagents_line(&report).contains("1 (inline): none refused"),
        "{report}"
    );
}

/// A subagent refused by the long-context gate while its session shows no error: one subagent's
/// 429 can hold the whole process to 200K (anthropics/claude-code#92456). A hand-made subagent
/// file in claude 2.0.x's layout (beside the real cb2e607c session, 2.0.37 record shapes and
/// wording): no 2.0.x claude is installed here (the oldest is 2.1.150, which writes the 2.1
/// layout; `a_real_subagent_refused_by_the_gate` covers that one with the real claude). Its error
/// text carries an escape sequence, which must not reach the terminal.
#[test]
fn a_refused_subagent_is_named_and_explained() {
    let (sb, project) = sandbox();
    let session = place(
        &sb,
        &project,
        &format!("claude-code-log__{LOG}.jsonl"),
        &format!("{LOG}.jsonl"),
    );
    let common = format!(
        r#""isSidechain":true,"sessionId":"{LOG}","agentId":"f00dfeed","version":"2.0.37""#
    );
    let agent = [
        format!(r#"{{"type":"user",{common},"message":{{"role":"user","content":"look around"}}}}"#),
        format!(
            r#"{{"type":"assistant",{common},"message":{{"role":"assistant","model":"claude-sonnet-4-5-20250929[1m]","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":5,"output_tokens":1}}}}}}"#
        ),
        format!(
            r#"{{"type":"assistant",{common},"isApiErrorMessage":true,"message":{{"role":"assistant","model":"<synthetic>","content":[{{"type":"text","text":"API Error: Request rejected (429) · Extra usage is required for long context requests.\u001b[31m"}}]}}}}"#
        ),
    ]
    .join("\n")
        + "\n";
    fs::write(session.with_file_name("agent-f00dfeed.jsonl"), agent).unwrap();
    let j = diagnose_json(&sb, &project, LOG);
    let s = &j["subagents"];
    assert_eq!(s["refused"], serde_json::json!(["agent-f00dfeed"]), "{s}");
    assert_eq!(s["one_m"], serde_json::json!(["agent-f00dfeed"]), "{s}");
    let evidence = j["evidence"].to_string();
    assert!(
        evidence.contains("the subagent agent-f00dfeed was refused for long context"),
        "{evidence}"
    );
    let report = diagnose_text(&sb, &project, LOG);
    let line = subagents_line(&report);
    assert!(
        line.contains("1 refused for long context: API Error: Request rejected (429)"),
        "{line}"
    );
    assert!(
        !report.contains('\u{1b}'),
        "the escape from the file reaches the terminal: {report:?}"
    );
    assert!(
        report.contains("give subagents a standard model"),
        "{report}"
    );
    // The wizard says it too: the session itself is not stuck, but the refusal can hold claude
    // to 200K, so "nothing to do" is followed by what to do about the subagent.
    let wizard = ccrescue(&sb, &project, &["--yes", "--session", LOG]).expect_code(0);
    assert!(
        wizard
            .stderr
            .contains("Agents   1 subagent transcript: 1 refused for long context"),
        "{}",
        wizard.stderr
    );
    assert!(
        wizard
            .stderr
            .contains("But: the subagent agent-f00dfeed was refused for long context"),
        "{}",
        wizard.stderr
    );
    assert!(!wizard.stderr.contains('\u{1b}'), "{:?}", wizard.stderr);
}

/// The REAL claude: an agent definition on `claude-sonnet-4-6[1m]` makes the subagent's request a
/// 1M one (tests/causes_subagents.rs) while the session runs on a 200K model; the mock refuses
/// that request alone (it is the only one whose system prompt holds the agent's body) with the
/// long-context 429. The session carries on; its subagent's transcript holds the refusal.
#[test]
fn a_real_subagent_refused_by_the_gate() {
    use ccrescue_testbench::fixtures::{RETURN_MODEL, new_session, setup};
    use ccrescue_testbench::mock::{Reply, Rule};
    use serde_json::json;

    const BODY: &str = "You are the helper whose requests are refused.";
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("refused");
    let agents = project.join(".claude/agents");
    fs::create_dir_all(&agents).unwrap();
    fs::write(
        agents.join("helper.md"),
        format!("---\nname: helper\ndescription: A helper agent\nmodel: claude-sonnet-4-6[1m]\n---\n{BODY}\n"),
    )
    .unwrap();
    mock.set_rules(vec![
        Rule::reply(Reply::credits_error_not_retried()).body_contains(BODY),
        Rule::reply(Reply::sequence([Reply::tool_use(
            "Agent",
            json!({"description": "probe", "prompt": "say hi from the subagent", "subagent_type": "helper", "run_in_background": false}),
        )])),
    ]);
    let (s, run) = new_session(&sb, &project, "use a subagent", &["--model", RETURN_MODEL]);
    run.assert_success();
    mock.set_rules(vec![]);

    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let sub = &j["subagents"];
    assert_eq!(sub["count"], 1, "{j}");
    assert_eq!(sub["folder"], 1, "{sub}");
    let name = sub["refused"][0]
        .as_str()
        .unwrap_or_else(|| panic!("none refused: {sub}"));
    assert!(name.starts_with("agent-"), "{sub}");
    assert!(
        s.file
            .with_extension("")
            .join("subagents")
            .join(format!("{name}.jsonl"))
            .is_file()
    );
    assert_eq!(
        j["symptom"], "none",
        "the session itself is not blocked: {j}"
    );
    assert!(
        j["evidence"]
            .to_string()
            .contains(&format!("the subagent {name} was refused for long context")),
        "{j}"
    );
    let report = ccrescue(&sb, &project, &["diagnose"]).expect_code(0).stdout;
    assert!(
        subagents_line(&report).contains("1 refused for long context"),
        "{report}"
    );
    assert!(report.contains("a subagent was refused"), "{report}");
}
