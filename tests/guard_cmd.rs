//! `ccrescue guard` as a command: what it shows, when it refuses, and that install and uninstall
//! through the real front-end (backup, atomic write) give the user's file back byte for byte.
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::Sandbox;
use common::{ccrescue, exe, snapshot};

const USER_SETTINGS: &str = "{\n  \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n  \"model\": \"claude-sonnet-4-6\",\n  \"hooks\": {\n    \"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"echo mine\"}]}]\n  }\n}\n";

/// A sandbox whose user settings file (returned last) holds [`USER_SETTINGS`].
fn with_user_settings() -> (MockApi, Sandbox, PathBuf, PathBuf) {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("p");
    let path = sb.config_dir().join("settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, USER_SETTINGS).unwrap();
    (mock, sb, project, path)
}

#[test]
fn install_then_uninstall_gives_the_file_back_and_keeps_backups() {
    let (_mock, sb, project, path) = with_user_settings();

    let before = snapshot(&sb.config_dir());
    let dry = ccrescue(&sb, &project, &["guard", "install", "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout.contains("autoCompactWindow: 160000"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        snapshot(&sb.config_dir()),
        before,
        "--dry-run wrote nothing"
    );

    let refused = ccrescue(&sb, &project, &["guard", "install"]).expect_code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(
        snapshot(&sb.config_dir()),
        before,
        "refused: nothing written"
    );

    let done = ccrescue(&sb, &project, &["guard", "install", "--yes"]).expect_code(0);
    assert!(
        done.stdout.contains("Installed the guard"),
        "{}",
        done.stdout
    );
    let installed = fs::read_to_string(&path).unwrap();
    assert!(installed.contains("echo mine") && installed.contains(" hook UserPromptSubmit "));
    let again = ccrescue(&sb, &project, &["guard", "install", "--yes"]).expect_code(0);
    assert!(
        again.stdout.contains("already installed"),
        "{}",
        again.stdout
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), installed);

    let status = ccrescue(&sb, &project, &["guard"]).expect_code(0);
    assert!(
        status.stdout.contains("Installed (user)"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("150,000"), "{}", status.stdout);

    ccrescue(&sb, &project, &["guard", "uninstall", "--yes"]).expect_code(0);
    assert_eq!(fs::read_to_string(&path).unwrap(), USER_SETTINGS);
    let backups: Vec<_> = fs::read_dir(sb.config_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("settings.json.bak")
        })
        .collect();
    assert_eq!(backups.len(), 2, "one backup per write, none overwritten");
    let gone = ccrescue(&sb, &project, &["guard", "uninstall", "--yes"]).expect_code(0);
    assert!(gone.stdout.contains("No guard"), "{}", gone.stdout);
}

#[test]
fn a_project_scope_file_is_created_private_and_bad_json_is_left_alone() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("p");
    let j = ccrescue(
        &sb,
        &project,
        &["guard", "install", "--scope", "local", "--yes", "--json"],
    )
    .expect_code(0)
    .json();
    let path = project.join(".claude/settings.local.json");
    assert_eq!(j["file"], path.display().to_string());
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let bad = project.join(".claude/settings.json");
    fs::write(&bad, "{\"model\": ").unwrap();
    let r = ccrescue(
        &sb,
        &project,
        &["guard", "install", "--scope", "project", "--yes"],
    )
    .expect_code(2);
    assert!(r.stderr.contains("not a settings file"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&bad).unwrap(), "{\"model\": ");

    let r = ccrescue(
        &sb,
        &project,
        &["guard", "install", "--warn-at", "190000", "--yes"],
    )
    .expect_code(2);
    assert!(r.stderr.contains("not below --block-at"), "{}", r.stderr);
}

#[test]
fn status_escapes_what_it_quotes_from_a_settings_file() {
    // A hook event name is the file's text: one with terminal control codes in it is shown
    // escaped, not sent to the terminal (a fake file; no claude is needed to show status).
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("p");
    let path = sb.config_dir().join("settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let evil = r#"{"hooks": {"Evil\u001b[2J\u202eName": [{"hooks": [{"type": "command", "command": "ccrescue hook UserPromptSubmit --warn-at 150000 --block-at 180000"}]}]}}"#;
    fs::write(&path, evil).unwrap();
    let status = ccrescue(&sb, &project, &["guard"]).expect_code(0);
    assert!(
        status.stdout.contains(r"Evil\u{1b}[2J\u{202e}Name"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains('\u{1b}') && !status.stdout.contains('\u{202e}'));
}

#[test]
fn a_settings_file_changed_while_install_asks_is_not_overwritten() {
    // claude writes settings files too (a permission the user allows "and don't ask again"),
    // and the question may wait a while: what was computed from the old file must not replace
    // the new one.
    let (_mock, sb, project, path) = with_user_settings();
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(exe(), &["guard", "install"], &env, &project, 120, 40);
    t.wait_for("No statusLine is set", Duration::from_secs(30));
    t.send_key(Key::Enter);
    t.wait_for("Install the guard in", Duration::from_secs(30));
    let meanwhile = USER_SETTINGS.replace("Bash(ls:*)", "Bash(ls:*)\", \"Bash(git status)");
    fs::write(&path, &meanwhile).unwrap();
    t.send("y");
    t.send_key(Key::Enter);
    let screen = t.wait_for("run ccrescue guard install again", Duration::from_secs(30));
    assert!(
        screen.contains("changed since it was read (is claude writing it?); nothing was written"),
        "{screen}"
    );
    assert_eq!(t.wait_exit(Duration::from_secs(30)), 1);
    assert_eq!(fs::read_to_string(&path).unwrap(), meanwhile);
    let left: Vec<_> = fs::read_dir(sb.config_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("settings.json.bak") || n.contains(".ccrescue-"))
        .collect();
    assert!(left.is_empty(), "no backup, no temp file: {left:?}");
}

#[test]
fn a_file_guard_created_goes_again_with_uninstall_and_leaves_no_backup() {
    // Found by a review: install then uninstall in a repository left `.claude/settings.json`
    // (`{}`) and a `.bak` holding the hook with this machine's path, where nothing had been.
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("repo");
    let dir = project.join(".claude");
    let path = dir.join("settings.json");
    let install = |extra: &[&str]| {
        let mut args = vec!["guard", "install", "--scope", "project", "--yes"];
        args.extend(extra);
        ccrescue(&sb, &project, &args).expect_code(0)
    };
    install(&[]);
    install(&["--warn-at", "140000"]);
    let names = || -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(),
        ["settings.json"],
        "a reinstall backs up nothing of the user's"
    );
    let r = ccrescue(
        &sb,
        &project,
        &["guard", "uninstall", "--scope", "project", "--yes"],
    )
    .expect_code(0);
    assert!(
        r.stdout.contains("guard install had created it"),
        "{}",
        r.stdout
    );
    assert!(names().is_empty(), "{:?}", names());

    // Once the user has put something of theirs in it, the file stays, with that.
    install(&[]);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replacen('{', "{\n  \"model\": \"sonnet\",", 1)).unwrap();
    ccrescue(
        &sb,
        &project,
        &["guard", "uninstall", "--scope", "project", "--yes"],
    )
    .expect_code(0);
    let left: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(left, serde_json::json!({"model": "sonnet"}));
}

#[test]
fn quiet_keeps_a_dry_run_s_change_and_only_the_last_line_of_a_write() {
    let (_mock, sb, project, path) = with_user_settings();
    let dry = ccrescue(&sb, &project, &["guard", "install", "--dry-run", "-q"]).expect_code(0);
    assert!(
        dry.stdout.contains("autoCompactWindow: 160000"),
        "{}",
        dry.stdout
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), USER_SETTINGS);
    let done = ccrescue(&sb, &project, &["guard", "install", "--yes", "-q"]).expect_code(0);
    assert_eq!(done.stdout.lines().count(), 1, "{}", done.stdout);
    assert!(
        done.stdout.starts_with("Installed the guard in"),
        "{}",
        done.stdout
    );
}
