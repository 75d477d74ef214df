//! What a new user meets on the second look (issue 16): trim says whether the result fits
//! (16.2), backups say when and why they were made and the default undoes the last change in
//! effect (16.6), nothing-found cases point somewhere (16.9), errors come as JSON under --json,
//! and nothing from a session or settings file reaches the terminal raw (17.6). Real corpus
//! transcripts in a sandbox HOME, and the real claude where claude writes the session.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, snapshot};

const SHOT: &str = "0d3a8e6f-290f-4105-a327-a2496e5e2a83";

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/")).join(name)
}

/// A sandbox whose project holds the real 1.0.43 session with a pasted 1 MB screenshot.
fn screenshot_home() -> (Sandbox, PathBuf, PathBuf) {
    let sb = Sandbox::for_url("http://127.0.0.1:9", Auth::ApiKey);
    let project = sb.project("shot");
    let dir = sb.session_dir(&project);
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{SHOT}.jsonl"));
    fs::copy(corpus(&format!("claude-code-log__{SHOT}.jsonl")), &file).unwrap();
    (sb, project, file)
}

fn bak(file: &Path, suffix: &str) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[test]
fn trim_says_whether_the_result_fits_and_what_to_run_next() {
    let (sb, project, _) = screenshot_home();
    let out = ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);
    assert!(
        out.stdout.contains("Fits: ~") && out.stdout.contains("Next: `ccrescue`"),
        "{}",
        out.stdout
    );
    let j = ccrescue(&sb, &project, &["trim", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["fits"], true, "{j}");

    // A session over 200K with nothing to trim says so, and names the next step.
    let (mock, sb) = setup(Auth::ApiKey);
    let p = sb.project("big");
    fixtures::credits_error(&mock, &sb, &p);
    let out = ccrescue(&sb, &p, &["trim", "--dry-run"]).expect_code(0);
    assert!(
        out.stdout.contains("Still too big: ~")
            && out.stdout.contains("over the 200K standard window")
            && out.stdout.contains("ccrescue trim --target-tokens 180000"),
        "{}",
        out.stdout
    );
}

#[test]
fn backups_say_when_and_why_and_the_default_never_undoes_a_restore() {
    let (sb, project, file) = screenshot_home();
    let original = fs::read(&file).unwrap();
    ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);
    let trimmed = fs::read(&file).unwrap();
    assert_ne!(trimmed, original);
    let back = bak(&file, ".bak");
    assert_eq!(
        fs::read(&back).unwrap(),
        original,
        "the backup's bytes are the session's"
    );

    let list = ccrescue(&sb, &project, &["restore", "--list"]).expect_code(0);
    assert!(list.stdout.contains("before trim"), "{}", list.stdout);
    assert!(list.stdout.contains("just now"), "{}", list.stdout);

    // Undo the trim: the restore is itself backed up and labelled.
    ccrescue(&sb, &project, &["restore", "--yes"]).expect_code(0);
    assert_eq!(fs::read(&file).unwrap(), original);
    let list = ccrescue(&sb, &project, &["restore", "--list"]).expect_code(0);
    assert!(
        list.stdout.contains("before restoring .bak "),
        "{}",
        list.stdout
    );

    // Nothing of ccrescue's is in effect now: --yes does not put the trimmed state back.
    let before = snapshot(sb.root());
    let again = ccrescue(&sb, &project, &["restore", "--yes"]).expect_code(0);
    assert!(
        again.stderr.contains("No backup to default to"),
        "{}",
        again.stderr
    );
    assert_eq!(fs::read(&file).unwrap(), original);
    assert_eq!(snapshot(sb.root()), before);

    // Redo the trim by name; then the default is the state before the trim again.
    let redo = bak(&file, ".bak.1");
    ccrescue(
        &sb,
        &project,
        &["restore", "--backup", redo.to_str().unwrap(), "--yes"],
    )
    .expect_code(0);
    assert_eq!(fs::read(&file).unwrap(), trimmed);
    // --dry-run --json needs no terminal (the test has none).
    let j = ccrescue(&sb, &project, &["restore", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        j["restored_from"]["path"],
        back.display().to_string(),
        "{j}"
    );
    let j = ccrescue(&sb, &project, &["restore", "--list", "--json"])
        .expect_code(0)
        .json();
    let whys: Vec<&str> = j["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["why"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(whys, ["restore", "restore", "trim"], "{j}");
    assert_eq!(j["backups"][2]["default"], true, "{j}");

    // The journal is private.
    use std::os::unix::fs::PermissionsExt;
    let journal = sb.home().join(".local/state/ccrescue/backups.jsonl");
    let mode = fs::metadata(&journal).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", journal.display());
}

#[test]
fn nothing_found_points_somewhere_and_errors_come_as_json() {
    let (sb, project, _) = screenshot_home();
    let sub = project.join("src");
    fs::create_dir_all(&sub).unwrap();

    let out = ccrescue(&sb, &sub, &["diagnose"]).expect_code(0);
    assert!(
        out.stdout.contains("No session here")
            && out.stdout.contains(&format!(
                "nearest folder up with sessions is {}",
                project.display()
            )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("Diagnosis:"), "{}", out.stdout);

    let out = ccrescue(&sb, &sub, &["trim", "--json"]).expect_code(2);
    let j: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON error on stdout");
    assert_eq!(j["error"]["exit_code"], 2, "{j}");
    assert!(
        j["error"]["hint"]
            .as_str()
            .unwrap()
            .contains(&project.display().to_string()),
        "{j}"
    );
    assert!(
        out.stderr.contains("error: no session here"),
        "{}",
        out.stderr
    );

    let out = ccrescue(&sb, &project, &["sessions", "--json", "--bogus"]).expect_code(2);
    let j: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON usage error");
    assert!(
        j["error"]["message"].as_str().unwrap().contains("--bogus"),
        "{j}"
    );

    let missing = sb.root().join("no-such-config");
    let out = ccrescue(
        &sb,
        &project,
        &["sessions", "--config-dir", missing.to_str().unwrap()],
    )
    .expect_code(0);
    assert!(
        out.stderr.contains("warning: --config-dir") && out.stderr.contains("does not exist"),
        "{}",
        out.stderr
    );

    let out = ccrescue(&sb, &project, &["diagnose", "-v"]).expect_code(0);
    assert!(
        out.stdout.contains("Timing:") && out.stdout.contains("Lines "),
        "{}",
        out.stdout
    );
}

#[test]
fn terminal_escapes_in_sessions_and_settings_are_printed_harmlessly() {
    let (sb, project, file) = screenshot_home();
    // A first prompt that sets the window title (OSC 0), writes the clipboard (OSC 52) and
    // clears the screen (CSI), as JSON escapes in a real record.
    let hostile = r#"{"type":"user","message":{"role":"user","content":"pwn \u001b]0;owned\u0007 \u001b]52;c;ZXZpbA==\u0007 \u001b[2J \u009b31m done"},"uuid":"h","timestamp":"2026-11-30T00:00:00Z","sessionId":"00000000-0000-4000-8000-00000000000f","cwd":"/x"}"#;
    let id = "00000000-0000-4000-8000-00000000000f";
    fs::write(
        file.with_file_name(format!("{id}.jsonl")),
        format!("{hostile}\n"),
    )
    .unwrap();
    fs::create_dir_all(project.join(".claude")).unwrap();
    fs::write(
        project.join(".claude/settings.json"),
        r#"{"model":"claude-sonnet-4-6[1m]\u001b]0;title\u0007"}"#,
    )
    .unwrap();

    for args in [
        vec!["sessions"],
        vec!["sessions", "--all-projects"],
        vec!["diagnose", "--session", id],
        vec!["diagnose", "-v"],
        vec!["settings"],
        vec!["--dry-run", "--session", id],
    ] {
        let out = ccrescue(&sb, &project, &args);
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
                "{args:?} {name} holds a control character:\n{text:?}"
            );
        }
        if args[0] == "sessions" {
            assert!(out.stdout.contains("pwn \\u{1b}]0;owned"), "{}", out.stdout);
        }
    }
}

#[test]
fn flags_that_mean_nothing_for_a_subcommand_are_refused_and_not_listed() {
    let (sb, project, _) = screenshot_home();
    let after = ccrescue(&sb, &project, &["settings", "--session", "nonsense"]).expect_code(2);
    assert!(
        after.stderr.contains("unexpected argument '--session'"),
        "{}",
        after.stderr
    );
    let before = ccrescue(&sb, &project, &["--session", "nonsense", "settings"]).expect_code(2);
    assert!(
        before
            .stderr
            .contains("--session means nothing for `ccrescue settings`"),
        "{}",
        before.stderr
    );
    ccrescue(&sb, &project, &["sessions", "--yes"]).expect_code(2);
    ccrescue(&sb, &project, &["diagnose", "--dry-run"]).expect_code(2);
    // Before the subcommand's name, a flag it takes still counts.
    ccrescue(&sb, &project, &["--json", "sessions"])
        .expect_code(0)
        .json();
    let help = ccrescue(&sb, &project, &["sessions", "--help"]).expect_code(0);
    for absent in ["--session <", "-y, --yes", "--dry-run", "--claude <"] {
        assert!(!help.stdout.contains(absent), "{absent}:\n{}", help.stdout);
    }
    let help = ccrescue(&sb, &project, &["trim", "--help"]).expect_code(0);
    for present in ["--session", "--yes", "--dry-run", "--json"] {
        assert!(help.stdout.contains(present), "{present}:\n{}", help.stdout);
    }
}
