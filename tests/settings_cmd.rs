//! `ccrescue settings [--fix]` on the built binary: read-only by default, refuses to write
//! without a terminal or --yes, asks per file on a terminal, leaves invalid files untouched,
//! prints the shell line for process variables, and never prints a secret.
mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::pty::Terminal;
use ccrescue_testbench::sandbox::Sandbox;
use common::{ccrescue, ccrescue_with, exe, snapshot};

const SECRET: &str = "sk-ant-api03-very-secret-value";

fn setup() -> (MockApi, Sandbox, PathBuf) {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("settings");
    (mock, sb, project)
}

fn write(path: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    path.to_owned()
}

fn user_file(sb: &Sandbox) -> PathBuf {
    sb.config_dir().join("settings.json")
}

#[test]
fn plain_settings_is_read_only_lists_every_layer_and_hides_secrets() {
    let (_mock, sb, project) = setup();
    let user = write(
        &user_file(&sb),
        &format!(
            "{{\"model\": \"claude-sonnet-4-6[1m]\", \"env\": {{\"ANTHROPIC_API_KEY\": \"{SECRET}\", \"ANTHROPIC_AUTH_TOKEN\": \"{SECRET}[1m]\"}}}}"
        ),
    );
    let proj = write(
        &project.join(".claude/settings.json"),
        r#"{"model":"sonnet"}"#,
    );
    let before = snapshot(sb.root());
    let env = [("ANTHROPIC_DEFAULT_OPUS_MODEL", OsStr::new("opus[1m]"))];
    let out = ccrescue_with(&sb, &project, &["settings"], &env).expect_code(0);
    assert_eq!(
        snapshot(sb.root()),
        before,
        "plain `settings` writes nothing"
    );
    let s = &out.stdout;
    let order: Vec<usize> = [
        "  managed ",
        "  --model ",
        "  env ",
        "  local ",
        "  project ",
        "  user ",
    ]
    .iter()
    .map(|l| s.find(l).unwrap_or_else(|| panic!("{l:?} in\n{s}")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "precedence order:\n{s}"
    );
    assert!(s.contains(&user.display().to_string()) && s.contains(&proj.display().to_string()));
    assert!(
        s.contains("model = sonnet (wins)"),
        "the project beats the user:\n{s}"
    );
    assert!(
        s.contains("model = claude-sonnet-4-6[1m]  ← 1M: [1m] asks for the 1M window"),
        "{s}"
    );
    // What the alias means depends on the claude under test (docs/claude-versions.md).
    let version = ccrescue_testbench::claude_bin::claude_version();
    let sonnet = match version.as_str() {
        v @ ("2.1.328" | "2.1.332") => {
            format!("claude-sonnet-5-5 in claude {v}, a 1M-context model")
        }
        "2.1.212" => "claude-sonnet-5 in claude 2.1.212, 200K context".to_owned(),
        v => format!("claude-sonnet-4-6 in claude {v}, 200K context"),
    };
    assert!(
        s.contains(&format!("the alias sonnet means {sonnet}")),
        "{s}"
    );
    assert!(s.contains("ANTHROPIC_DEFAULT_OPUS_MODEL = opus[1m]"), "{s}");
    assert!(s.contains("ccrescue settings --fix"), "{s}");
    let j = ccrescue_with(&sb, &project, &["settings", "--json"], &env).expect_code(0);
    for text in [&out.stdout, &out.stderr, &j.stdout] {
        assert!(!text.contains(SECRET), "a secret was printed:\n{text}");
    }
    assert_eq!(j.json()["model"]["source"]["scope"], "project");
}

#[test]
fn fix_without_a_terminal_or_yes_is_refused_and_writes_nothing() {
    let (_mock, sb, project) = setup();
    let user = write(&user_file(&sb), r#"{"model":"sonnet[1m]"}"#);
    let before = snapshot(sb.root());
    let out = ccrescue(&sb, &project, &["settings", "--fix"]).expect_code(2);
    assert!(
        out.stderr.contains("error:") && out.stderr.contains("--yes"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&user.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(sb.root()), before);
    // Nothing to fix: no question to ask, so no refusal.
    write(&user, r#"{"model":"claude-sonnet-4-6"}"#);
    let out = ccrescue(&sb, &project, &["settings", "--fix"]).expect_code(0);
    assert!(
        out.stdout.contains("Nothing ccrescue can change"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_invalid_file_is_named_with_its_position_left_alone_and_the_others_are_fixed() {
    let (_mock, sb, project) = setup();
    let bad_text = "{\n  // my model\n  \"model\": \"claude-sonnet-4-6[1m]\"\n}\n";
    let bad = write(&project.join(".claude/settings.local.json"), bad_text);
    let good = write(&user_file(&sb), "{\"model\":\"haiku[1m]\"}\n");
    let out = ccrescue(&sb, &project, &["settings", "--fix", "--yes"]).expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "{} warning: invalid JSON at line 2, column 3",
            bad.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("comments are not JSON"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read_to_string(&bad).unwrap(),
        bad_text,
        "left as it was"
    );
    assert_eq!(
        fs::read_to_string(&good).unwrap(),
        "{\"model\":\"claude-haiku-4-5-20251001\"}\n"
    );
    assert!(
        out.stdout.contains("Changed 1 of 1 setting(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_process_variable_gets_the_line_for_the_users_shell_and_its_start_up_file() {
    let (_mock, sb, project) = setup();
    let fish = write(
        &sb.home().join(".config/fish/config.fish"),
        "set -gx PATH $PATH\nset -gx ANTHROPIC_MODEL 'claude-sonnet-4-6[1m]'\n",
    );
    let env = [
        ("ANTHROPIC_MODEL", OsStr::new("claude-sonnet-4-6[1m]")),
        ("SHELL", OsStr::new("/usr/bin/fish")),
    ];
    let before = snapshot(sb.root());
    let out = ccrescue_with(&sb, &project, &["settings", "--fix"], &env).expect_code(0);
    let s = &out.stdout;
    assert!(
        s.contains("\n  set -gx ANTHROPIC_MODEL claude-sonnet-4-6\n"),
        "{s}"
    );
    assert!(s.contains("set -e ANTHROPIC_MODEL"), "{s}");
    assert!(s.contains(&format!("{} line 2", fish.display())), "{s}");
    assert_eq!(
        snapshot(sb.root()),
        before,
        "ccrescue never edits a shell start-up file"
    );
    let env = [
        ("ANTHROPIC_MODEL", OsStr::new("sonnet[1m]")),
        ("SHELL", OsStr::new("/bin/bash")),
    ];
    let out = ccrescue_with(&sb, &project, &["settings", "--fix"], &env).expect_code(0);
    assert!(
        out.stdout
            .contains("\n  export ANTHROPIC_MODEL=claude-sonnet-4-6\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("probably {}", sb.home().join(".bashrc").display())),
        "{}",
        out.stdout
    );
}

#[test]
fn on_a_terminal_each_file_is_asked_for_with_its_before_and_after_line() {
    let (_mock, sb, project) = setup();
    let local_text = "{\"model\": \"claude-sonnet-4-6[1m]\"}";
    let local = write(&project.join(".claude/settings.local.json"), local_text);
    let user_text = "{\"model\": \"opus[1m]\"}";
    let user = write(&user_file(&sb), user_text);
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(exe(), &["settings", "--fix"], &env, &project, 160, 50);
    let wait = Duration::from_secs(30);
    let screen = t.wait_for(&format!("Change {}?", local.display()), wait);
    assert!(
        screen.contains("- \"model\": \"claude-sonnet-4-6[1m]\""),
        "{screen}"
    );
    assert!(
        screen.contains("+ \"model\": \"claude-sonnet-4-6\""),
        "{screen}"
    );
    t.send("y");
    t.wait_for(&format!("Change {}?", user.display()), wait);
    t.send("n");
    assert_eq!(t.wait_exit(wait), 0);
    assert_eq!(
        fs::read_to_string(&local).unwrap(),
        "{\"model\": \"claude-sonnet-4-6\"}"
    );
    assert_eq!(
        fs::read_to_string(&user).unwrap(),
        user_text,
        "declined: left as it was"
    );
    assert!(!user.with_file_name("settings.json.bak").exists());
    assert!(
        t.screen().contains("Changed 1 of 2 setting(s)"),
        "{}",
        t.screen()
    );
}

/// Runs ccrescue as `nobody` (everything here runs as root, which can write anything).
fn ccrescue_as_nobody(sb: &Sandbox, project: &Path, args: &[&str]) -> common::Ran {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let mut dir = project.to_path_buf();
    // nobody must reach the files: open every folder from the sandbox root down for reading.
    let mut open = vec![
        sb.root().to_path_buf(),
        sb.home(),
        sb.config_dir(),
        sb.tmp(),
        sb.bin_dir(),
    ];
    while dir.starts_with(sb.root()) {
        open.push(dir.clone());
        if !dir.pop() {
            break;
        }
    }
    open.push(project.join(".claude"));
    for d in open.iter().filter(|d| d.is_dir()) {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = sb.command(common::nobody_exe(sb), project);
    cmd.args(args).uid(65534).gid(65534);
    common::ran(ccrescue_testbench::sandbox::run_with_timeout(
        cmd,
        ccrescue_testbench::sandbox::RUN_TIMEOUT,
    ))
}

#[test]
fn files_the_user_may_not_write_are_named_and_left_as_they_were() {
    use std::os::unix::fs::PermissionsExt;
    let (_mock, sb, project) = setup();
    let text = "{\"model\": \"claude-sonnet-4-6[1m]\"}";
    let user = write(&user_file(&sb), text);
    fs::set_permissions(&user, fs::Permissions::from_mode(0o644)).unwrap();
    let out = ccrescue_as_nobody(&sb, &project, &["settings", "--fix", "--yes"]).expect_code(0);
    assert!(
        out.stdout
            .contains(&format!("cannot write {}", user.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Nothing ccrescue can change"),
        "{}",
        out.stdout
    );
    assert_eq!(fs::read_to_string(&user).unwrap(), text);

    // The file is writable but its folder is not: the temp file cannot be made, so the write
    // fails with the path named, exit 1, and the file stays as it was.
    fs::set_permissions(&user, fs::Permissions::from_mode(0o666)).unwrap();
    let out = ccrescue_as_nobody(&sb, &project, &["settings", "--fix", "--yes"]).expect_code(1);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("{} was left as it was", user.display())),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&user).unwrap(), text);
    let left: Vec<_> = fs::read_dir(sb.config_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("settings.json")],
        "no temp file or backup left"
    );
}
