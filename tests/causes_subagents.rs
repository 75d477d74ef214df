//! Subagent models as a cause of the 1M error (issue 11 point 5, anthropics/claude-code#68727),
//! confirmed with the real claude: a `model:` in `.claude/agents/*.md` or
//! `CLAUDE_CODE_SUBAGENT_MODEL` makes the subagent's request a 1M one while the session itself is
//! on a 200K model. `diagnose --json` reports each as a cause with its fix, and `settings --fix`
//! fixes the variable in a settings file (the next subagent request is a standard one).
mod common;

use std::path::Path;

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{RETURN_MODEL, Session, new_session, setup};
use ccrescue_testbench::mock::{LoggedRequest, MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::ccrescue;
use serde_json::{Value, json};

const SUBAGENT_PROMPT: &str = "say hi from the subagent";

/// One turn in `claude-sonnet-4-6` whose first reply calls the Agent tool with `agent`.
fn run_subagent(
    mock: &MockApi,
    sb: &Sandbox,
    project: &Path,
    agent: &str,
) -> (Session, Vec<LoggedRequest>) {
    mock.set_rules(vec![Rule::reply(Reply::sequence([Reply::tool_use(
        "Agent",
        json!({"description": "probe", "prompt": SUBAGENT_PROMPT, "subagent_type": agent, "run_in_background": false}),
    )]))]);
    mock.clear_log();
    let (s, run) = new_session(sb, project, "use a subagent", &["--model", RETURN_MODEL]);
    run.assert_success();
    let asked = mock.messages_requests();
    mock.set_rules(vec![]);
    (s, asked)
}

fn is_1m(q: &LoggedRequest) -> bool {
    q.beta.as_deref().unwrap_or_default().contains("context-1m")
}

/// The subagent's request (the one whose last user text is the subagent's prompt).
fn subagent_request(asked: &[LoggedRequest]) -> &LoggedRequest {
    asked
        .iter()
        .find(|q| {
            q.last_user_text
                .as_deref()
                .is_some_and(|t| t.contains(SUBAGENT_PROMPT))
        })
        .unwrap_or_else(|| panic!("no subagent request in {asked:?}"))
}

fn causes(d: &Value) -> Vec<(String, String)> {
    d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_agent_definition_on_a_1m_model_is_a_cause_with_its_fix() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("agents");
    let agents = project.join(".claude/agents");
    std::fs::create_dir_all(&agents).unwrap();
    let helper = agents.join("helper.md");
    std::fs::write(
        &helper,
        "---\nname: helper\ndescription: A helper agent\nmodel: claude-sonnet-4-6[1m]\n---\nYou help.\n",
    )
    .unwrap();
    let (_s, asked) = run_subagent(&mock, &sb, &project, "helper");
    assert!(
        !is_1m(&asked[0]),
        "the session is on a 200K model: {asked:?}"
    );
    assert!(
        is_1m(subagent_request(&asked)),
        "the subagent asks for 1M: {asked:?}"
    );

    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let found = causes(&d);
    assert!(
        found.contains(&("subagent_model".into(), helper.display().to_string())),
        "{found:?}"
    );
    let c = d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file"] == helper.display().to_string())
        .unwrap();
    assert_eq!(c["value"], "claude-sonnet-4-6[1m]");
    assert!(c["fix"].as_str().unwrap().contains("inherit"), "{c}");
    // 2.1.3xx records each subagent's model beside the session.
    if version_at_least("2.1.328") {
        assert!(
            found
                .iter()
                .any(|(k, f)| k == "subagent_model" && f.ends_with(".meta.json")),
            "{found:?}"
        );
    }
    let text = ccrescue(&sb, &project, &["diagnose"]).expect_code(0);
    assert!(
        text.stdout.contains("anthropics/claude-code#68727"),
        "{}",
        text.stdout
    );
}

#[test]
fn the_subagent_model_variable_is_a_cause_and_settings_fix_changes_it() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("subenv");
    let settings = sb.config_dir().join("settings.json");
    std::fs::create_dir_all(sb.config_dir()).unwrap();
    std::fs::write(
        &settings,
        "{\n  \"env\": {\"CLAUDE_CODE_SUBAGENT_MODEL\": \"claude-sonnet-4-6[1m]\"}\n}\n",
    )
    .unwrap();
    let (_s, asked) = run_subagent(&mock, &sb, &project, "general-purpose");
    assert!(!is_1m(&asked[0]), "{asked:?}");
    assert!(is_1m(subagent_request(&asked)), "{asked:?}");

    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let c = d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "env.CLAUDE_CODE_SUBAGENT_MODEL")
        .unwrap_or_else(|| panic!("{d}"));
    assert_eq!(c["kind"], "subagent_model");
    assert!(
        d["pins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["key"] == "env.CLAUDE_CODE_SUBAGENT_MODEL"),
        "{d}"
    );

    ccrescue(&sb, &project, &["settings", "--fix", "--yes"]).expect_code(0);
    assert!(
        std::fs::read_to_string(&settings)
            .unwrap()
            .contains("\"CLAUDE_CODE_SUBAGENT_MODEL\": \"claude-sonnet-4-6\""),
    );
    let (_s, asked) = run_subagent(&mock, &sb, &project, "general-purpose");
    assert!(!is_1m(subagent_request(&asked)), "fixed: {asked:?}");
    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert!(
        !d["causes"]
            .to_string()
            .contains("CLAUDE_CODE_SUBAGENT_MODEL"),
        "{d}"
    );
}
