//! Which files are sessions, and what a session's first prompt is, on REAL transcripts from
//! ../shared/corpus copied into a sandbox HOME's projects folder (issue 16 points 1 and 3,
//! issue 17 point 5).
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::ccrescue;

const PARENT: &str = "cb2e607c-c758-415a-8b45-c49e4631906a";

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/")).join(name)
}

/// A sandbox (no API is ever called: nothing here runs claude's model) and a project folder.
fn sandbox() -> (Sandbox, PathBuf) {
    let sb = Sandbox::for_url("http://127.0.0.1:9", Auth::ApiKey);
    let project = sb.project("corpus");
    (sb, project)
}

/// Copies corpus file `from` into the project's session folder as `to`, modified `age` ago.
fn place(sb: &Sandbox, project: &Path, from: &str, to: &str, age: Duration) -> PathBuf {
    let dest = sb.session_dir(project).join(to);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(corpus(from), &dest).unwrap();
    let f = fs::File::options().write(true).open(&dest).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
    dest
}

/// claude 2.0.37's layout: the session and, beside it and newer, its Task subagent's
/// `agent-<id>.jsonl`; also a later version's `<session>/subagents/` folder and a file whose name
/// is a claude flag.
fn layouts(sb: &Sandbox, project: &Path) {
    let hour = Duration::from_secs(3600);
    place(
        sb,
        project,
        &format!("claude-code-log__{PARENT}.jsonl"),
        &format!("{PARENT}.jsonl"),
        hour * 3,
    );
    place(
        sb,
        project,
        "claude-code-log__agent-ea02459f.jsonl",
        "agent-ea02459f.jsonl",
        hour * 2,
    );
    place(
        sb,
        project,
        "claude-code-log__ef958aa1-subagents-agent-a4ca7529859c158c2.jsonl",
        &format!("{PARENT}/subagents/agent-a4ca7529859c158c2.jsonl"),
        hour,
    );
    place(
        sb,
        project,
        "agentlogs__subagent.jsonl",
        "--dangerously-skip-permissions.jsonl",
        Duration::from_secs(60),
    );
}

#[test]
fn subagent_transcripts_and_non_uuid_files_are_never_sessions() {
    let (sb, project) = sandbox();
    layouts(&sb, &project);

    let listed = ccrescue(&sb, &project, &["sessions", "--json"])
        .expect_code(0)
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [PARENT], "{listed}");

    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["id"], PARENT, "{j}");

    let human = ccrescue(&sb, &project, &["sessions"]).expect_code(0);
    assert!(!human.stdout.contains("agent-"), "{}", human.stdout);

    // By id or by path, a subagent's transcript is refused with what it is, and the hint lists
    // only real sessions.
    let by_id =
        ccrescue(&sb, &project, &["diagnose", "--session", "agent-ea02459f"]).expect_code(2);
    assert!(by_id.stderr.contains(PARENT), "{}", by_id.stderr);
    assert!(
        !by_id.stderr.contains("  agent-ea02459f"),
        "{}",
        by_id.stderr
    );
    let agent = sb.session_dir(&project).join("agent-ea02459f.jsonl");
    let by_path = ccrescue(
        &sb,
        &project,
        &["diagnose", "--session", agent.to_str().unwrap()],
    )
    .expect_code(2);
    assert!(
        by_path.stderr.contains("subagent's transcript"),
        "{}",
        by_path.stderr
    );

    // The wizard's plan resumes the parent, in one argument, and nothing named like a flag.
    let plan = ccrescue(&sb, &project, &["--dry-run"]).expect_code(0);
    assert!(
        !plan.stdout.contains("dangerously") && !plan.stdout.contains("agent-"),
        "{}",
        plan.stdout
    );
}

#[test]
fn the_first_prompt_skips_ide_selections_and_interruption_markers() {
    let (sb, project) = sandbox();
    layouts(&sb, &project);
    let want = "How can I make this possible to install as a library with `uv`";

    let listed = ccrescue(&sb, &project, &["sessions", "--json"])
        .expect_code(0)
        .json();
    let first = listed[0]["first_prompt"].as_str().unwrap_or_default();
    assert!(first.starts_with(want), "{first}");

    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let first = j["session"]["first_prompt"].as_str().unwrap_or_default();
    assert!(first.starts_with(want), "{first}");
}
