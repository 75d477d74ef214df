//! Bad input gets a clear message naming the file and line, never a panic, and nothing is
//! written anywhere. Each case starts from a session the real claude wrote and then damages it
//! the way the world does (a killed writer, a bad editor, a full disk, a wrong permission).
mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ccrescue_testbench::fixtures::{self, Session};
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{Sandbox, describe, run_with_timeout};
use common::{Ran, ccrescue, snapshot};

fn append(session: &Session, bytes: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(&session.file)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn setup() -> (MockApi, Sandbox, std::path::PathBuf, Session) {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("damaged");
    let session = fixtures::healthy(&mock, &sb, &project).session;
    (mock, sb, project, session)
}

#[test]
fn malformed_non_utf8_and_torn_lines_are_reported_with_their_line_numbers() {
    let (_mock, sb, project, session) = setup();
    let n = session.line_count() as u64;
    append(
        &session,
        b"{this is not json}\n\xff\xfe{\"type\":\"user\"}\n{\"type\":\"assistant\",\"mess",
    );
    let before = snapshot(sb.root());

    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(s["malformed_lines"], 3, "{s}");
    let lines: Vec<u64> = s["malformed_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [n + 1, n + 2, n + 3]);
    assert_eq!(s["non_utf8_lines"], 1);
    assert_eq!(s["torn_last_line"], true);
    assert!(
        s["context_tokens"].as_u64().is_some(),
        "the good lines still count"
    );

    let human = ccrescue(&sb, &project, &["diagnose"]).expect_code(0);
    for want in [
        format!("3 line(s) are not valid JSON: {} (", n + 1),
        "the last line is cut short".to_owned(),
        format!("not UTF-8 (first: line {})", n + 2),
    ] {
        assert!(
            human.stdout.contains(&want),
            "{want:?} missing from\n{}",
            human.stdout
        );
    }
    assert_eq!(snapshot(sb.root()), before, "nothing may be written");
}

#[test]
fn an_empty_session_file_is_reported_not_fatal() {
    let (_mock, sb, project, session) = setup();
    let empty = session
        .file
        .with_file_name("00000000-0000-4000-8000-000000000000.jsonl");
    fs::write(&empty, b"").unwrap();
    let out = ccrescue(
        &sb,
        &project,
        &[
            "diagnose",
            "--session",
            "00000000-0000-4000-8000-000000000000",
        ],
    )
    .expect_code(0);
    assert!(out.stdout.contains("the file is empty"), "{}", out.stdout);
    assert!(
        out.stdout.contains("unknown (no reply recorded yet)"),
        "{}",
        out.stdout
    );
    let j = ccrescue(
        &sb,
        &project,
        &["diagnose", "--json", "--session", empty.to_str().unwrap()],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["session"]["bytes"], 0);
    assert_eq!(j["session"]["context_tokens"], serde_json::Value::Null);
    assert_eq!(j["symptom"], "none");
}

#[test]
fn a_100_mb_line_is_read_whole() {
    let (_mock, sb, project, session) = setup();
    let records = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json()["session"]["records"]
        .as_u64()
        .unwrap();
    // A tool result of 100 MB of text, escapes included, as one record.
    let chunk = "line of output with \\\"quotes\\\" and \\\\ backslashes\\n".repeat(1 << 10);
    let mut line = String::from(
        r#"{"type":"user","isSidechain":false,"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":""#,
    );
    while line.len() < 100 << 20 {
        line.push_str(&chunk);
    }
    line.push_str("\"}]},\"uuid\":\"big\",\"timestamp\":\"2026-11-24T00:00:00Z\"}\n");
    assert!(serde_json::from_str::<serde_json::Value>(line.trim_end()).is_ok());
    append(&session, line.as_bytes());
    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["records"].as_u64().unwrap(), records + 1);
    assert_eq!(j["session"]["malformed_lines"], 0);
}

#[test]
fn a_symlinked_session_is_read_and_flagged() {
    let (_mock, sb, project, session) = setup();
    let target = sb.tmp().join("elsewhere.jsonl");
    fs::rename(&session.file, &target).unwrap();
    std::os::unix::fs::symlink(&target, &session.file).unwrap();
    let before = snapshot(sb.root());
    let out = ccrescue(&sb, &project, &["diagnose"]).expect_code(0);
    assert!(
        out.stdout.contains("the session file is a symbolic link"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&session.id), "{}", out.stdout);
    assert_eq!(fs::read_link(&session.file).unwrap(), target);
    assert_eq!(snapshot(sb.root()), before);
}

#[test]
fn invalid_settings_are_named_with_a_position_and_the_rest_carries_on() {
    let (_mock, sb, project, _session) = setup();
    let user = sb.config_dir().join("settings.json");
    fs::write(&user, "{\n  \"model\": \"claude-sonnet-4-6[1m]\",\n}\n").unwrap();
    fs::create_dir_all(project.join(".claude")).unwrap();
    let local = project.join(".claude/settings.local.json");
    fs::write(&local, "{\"model\": \"sonnet[1m]\"}").unwrap();
    let before = snapshot(sb.root());
    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        j["settings_problems"][0]["file"],
        user.display().to_string()
    );
    assert!(
        j["settings_problems"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("line 3, column 1"),
        "{}",
        j["settings_problems"]
    );
    assert_eq!(
        j["pins"],
        serde_json::json!([{"file": local.display().to_string(), "key": "model", "value": "sonnet[1m]"}])
    );
    let out = ccrescue(&sb, &project, &["diagnose"]).expect_code(0);
    assert!(
        out.stdout
            .contains(&format!("{}: invalid JSON at line 3", user.display())),
        "{}",
        out.stdout
    );
    assert_eq!(snapshot(sb.root()), before);
}

/// Runs ccrescue as user `nobody` (these machines run tests as root, and root reads everything).
fn as_nobody(sb: &Sandbox, project: &Path, args: &[&str]) -> Ran {
    let mut cmd = sb.command("setpriv", project);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::nobody_exe(sb))
        .args(args);
    common::ran(run_with_timeout(cmd, std::time::Duration::from_secs(60)))
}

fn open_up(dir: &Path) {
    let mut p = dir.to_path_buf();
    loop {
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode | 0o755)).unwrap();
        if !p.pop() || p == Path::new("/") {
            break;
        }
    }
}

#[test]
fn unreadable_folder_and_file_fail_with_the_path_and_exit_1() {
    let (_mock, sb, project, session) = setup();
    let dir = session.file.parent().unwrap().to_path_buf();
    open_up(&dir);
    open_up(&project);
    fs::set_permissions(&session.file, fs::Permissions::from_mode(0o644)).unwrap();
    // Readable to nobody: the same diagnosis as root.
    let ok = as_nobody(&sb, &project, &["diagnose", "--json"]);
    assert_eq!(ok.output.status.code(), Some(0), "{}", describe(&ok.output));

    fs::set_permissions(&session.file, fs::Permissions::from_mode(0o600)).unwrap();
    let file = as_nobody(&sb, &project, &["diagnose", "--session", &session.id]);
    assert_eq!(
        file.output.status.code(),
        Some(1),
        "{}",
        describe(&file.output)
    );
    assert!(
        file.stderr.contains(&format!(
            "error: cannot open session {}: Permission denied",
            session.file.display()
        )),
        "{}",
        file.stderr
    );

    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    let before = snapshot(sb.root());
    let folder = as_nobody(&sb, &project, &["diagnose"]);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        folder.output.status.code(),
        Some(1),
        "{}",
        describe(&folder.output)
    );
    assert!(
        folder
            .stderr
            .contains(&format!("cannot list the session folder {}", dir.display())),
        "{}",
        folder.stderr
    );
    assert!(
        folder.stderr.contains("Permission denied"),
        "{}",
        folder.stderr
    );
    assert!(!folder.stderr.contains("panicked"));
    assert_eq!(snapshot(sb.root()), before);
}
