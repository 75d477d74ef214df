//! Live-session detection against the real interactive claude in a pseudo-terminal: ccrescue sees
//! the claude that is attached to a session (and its pid), and stops seeing it once claude quits
//! or is killed (a SIGKILL leaves claude's registry entry behind; ccrescue must not believe it).
mod common;

use std::time::Duration;

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures;
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::pty::Terminal;
use ccrescue_testbench::sandbox::Sandbox;
use common::ccrescue;

const START: Duration = Duration::from_secs(60);

fn registry_files(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    let dir = sb.config_dir().join("sessions");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_running_claude_is_seen_with_its_pid_and_a_killed_one_is_not() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("live");
    let stuck = fixtures::credits_error(&mock, &sb, &project);

    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(
        claude_path(),
        &["--resume", stuck.session.id.as_str()],
        &env,
        &project,
        120,
        40,
    );
    let pid = t.pid().expect("claude's pid");
    t.wait_until("the prompt `❯`", START, |s| s.contains('❯'));
    let deadline = std::time::Instant::now() + START;
    while registry_files(&sb).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "claude wrote no live-session entry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let j = ccrescue(
        &sb,
        &project,
        &["diagnose", "--json", "--session", &stuck.session.id],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["session"]["live"], true, "{}", j["session"]);
    assert_eq!(j["session"]["live_pid"], pid);
    assert_eq!(j["plan"][0]["step"], "quit_claude");
    let human =
        ccrescue(&sb, &project, &["diagnose", "--session", &stuck.session.id]).expect_code(0);
    assert!(
        human.stdout.contains(&format!(
            "yes: claude (pid {pid}) is running on this session"
        )),
        "{}",
        human.stdout
    );
    // Even the one-line answer says to quit claude before the compaction.
    let quiet = ccrescue(
        &sb,
        &project,
        &["diagnose", "-q", "--session", &stuck.session.id],
    )
    .expect_code(0);
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    let quit = format!("Next: claude (pid {pid}) is running on this session: quit it first");
    assert!(lines[0].starts_with(&quit), "{}", quiet.stdout);
    assert!(
        lines[1].starts_with("Then: run `ccrescue --session "),
        "the wizard first: {}",
        quiet.stdout
    );
    assert!(
        lines[2].starts_with("     cd ") && lines[2].contains("claude -p /compact"),
        "{}",
        quiet.stdout
    );
    let list = ccrescue(&sb, &project, &["sessions", "--json"])
        .expect_code(0)
        .json();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == stuck.session.id.as_str())
        .unwrap();
    assert_eq!(entry["live"], true);

    // SIGKILL: claude cannot remove its entry, so it stays behind; the pid is gone.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    t.wait_exit(Duration::from_secs(20));
    assert!(
        !registry_files(&sb).is_empty(),
        "the stale entry is what this test is about"
    );
    let j = ccrescue(
        &sb,
        &project,
        &["diagnose", "--json", "--session", &stuck.session.id],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        j["session"]["live"], false,
        "a stale registry entry is not a live claude"
    );
    assert_eq!(j["session"]["live_pid"], serde_json::Value::Null);
    assert_eq!(j["plan"][0]["step"], "compact");
}
