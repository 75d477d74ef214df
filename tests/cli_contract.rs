//! The shared command-line contract: exit codes, refusals with hints, help, and claude lookup.
mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use ccrescue_testbench::fixtures;
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::Sandbox;
use common::{ccrescue, exe};

#[test]
fn help_documents_exit_codes_and_exits_0() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    for args in [
        &["--help"][..],
        &["diagnose", "--help"],
        &["sessions", "--help"],
    ] {
        let out = ccrescue(&sb, &p, args).expect_code(0);
        // `sessions` works on no one session: it does not offer --session (issue 16.9).
        let session = (args[0] != "sessions").then_some("--session <ID|PATH>");
        for want in ["Exit codes:", "130  interrupted", "--config-dir"]
            .into_iter()
            .chain(session)
        {
            assert!(
                out.stdout.contains(want),
                "{args:?}: {want:?} missing\n{}",
                out.stdout
            );
        }
    }
    let v = ccrescue(&sb, &p, &["--version"]).expect_code(0);
    assert!(v.stdout.starts_with("ccrescue "), "{}", v.stdout);
}

#[test]
fn usage_errors_and_refusals_exit_2_with_what_to_do() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    let h = fixtures::healthy(&mock, &sb, &p);

    let bad_flag = ccrescue(&sb, &p, &["--frobnicate"]).expect_code(2);
    assert!(
        bad_flag
            .stderr
            .contains("unexpected argument '--frobnicate'"),
        "{}",
        bad_flag.stderr
    );

    let not_uuid = ccrescue(&sb, &p, &["diagnose", "--session", "yesterday"]).expect_code(2);
    assert!(
        not_uuid
            .stderr
            .contains("error: --session \"yesterday\" is neither a session id (a UUID) nor a path"),
        "{}",
        not_uuid.stderr
    );
    assert!(
        not_uuid.stderr.contains("hint: sessions of this project"),
        "{}",
        not_uuid.stderr
    );
    assert!(
        not_uuid.stderr.contains(&h.session.id),
        "the hint lists the sessions: {}",
        not_uuid.stderr
    );

    let unknown = ccrescue(
        &sb,
        &p,
        &[
            "diagnose",
            "--session",
            "12345678-1234-4234-8234-123456789abc",
        ],
    )
    .expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("no session with id 12345678-1234-4234-8234-123456789abc"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains(&h.session.id), "{}", unknown.stderr);

    let escape = format!(
        "{}/../../../../etc/passwd.jsonl",
        h.session.file.parent().unwrap().display()
    );
    let out = ccrescue(&sb, &p, &["diagnose", "--session", &escape]).expect_code(2);
    assert!(
        out.stderr.contains("is not inside") && out.stderr.contains("projects"),
        "{}",
        out.stderr
    );
    let outside = sb.tmp().join("copy.jsonl");
    std::fs::copy(&h.session.file, &outside).unwrap();
    let out = ccrescue(
        &sb,
        &p,
        &["diagnose", "--session", outside.to_str().unwrap()],
    )
    .expect_code(2);
    assert!(
        out.stderr
            .contains("hint: ccrescue only works on claude's own session files"),
        "{}",
        out.stderr
    );

    let missing = ccrescue(&sb, &p, &["diagnose", "-C", "/nonexistent/project"]).expect_code(2);
    assert!(
        missing
            .stderr
            .contains("the project folder /nonexistent/project does not exist"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_missing_claude_is_a_finding_not_a_failure() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    fixtures::credits_error(&mock, &sb, &p);
    let j = ccrescue(
        &sb,
        &p,
        &["diagnose", "--json", "--claude", "/nonexistent/claude"],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["claude"]["path"], serde_json::Value::Null);
    assert_eq!(j["claude"]["version"], serde_json::Value::Null);
    assert!(
        j["claude"]["problem"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/claude (--claude) is not an executable file")
    );
    assert_eq!(
        j["symptom"], "context_overflow",
        "the session is still diagnosed"
    );
    let out = ccrescue(&sb, &p, &["diagnose", "--claude", "/nonexistent/claude"]).expect_code(0);
    assert!(
        out.stdout.contains("claude's version is unknown"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_explicit_config_dir_wins_over_the_environment() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    let h = fixtures::healthy(&mock, &sb, &p);
    let elsewhere = sb.tmp().join("other-config");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let env = [("CLAUDE_CONFIG_DIR", elsewhere.as_os_str())];
    let j = common::ccrescue_with(&sb, &p, &["diagnose", "--json"], &env)
        .expect_code(0)
        .json();
    assert_eq!(j["config_dir"], elsewhere.display().to_string());
    assert_eq!(
        j["session"],
        serde_json::Value::Null,
        "nothing in the other config dir"
    );
    let j = ccrescue(
        &sb,
        &p,
        &[
            "diagnose",
            "--json",
            "--config-dir",
            sb.config_dir().to_str().unwrap(),
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["session"]["id"], h.session.id);
}

#[test]
fn interrupted_by_ctrl_c_ends_with_sigint_which_shells_report_as_130() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    fixtures::healthy(&mock, &sb, &p);
    // A fake claude that hangs on `--version`: the real one cannot be made to hang, and ccrescue
    // must be busy when the signal comes.
    let slow = sb.tmp().join("slow-claude");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 5\n").unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = sb
        .command(exe(), &p)
        .arg("diagnose")
        .arg("--claude")
        .arg(&slow)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ccrescue finished before the signal"
    );
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    // Ended by SIGINT (not a clean exit, nothing swallowed): a shell's $? shows 128 + 2 = 130.
    assert_eq!(status.signal(), Some(2), "{status:?}");
}

#[test]
fn a_project_path_that_is_not_utf8_is_reported_in_json_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("p");
    let odd = p.join(std::ffi::OsStr::from_bytes(b"bad\xffname"));
    std::fs::create_dir_all(&odd).unwrap();
    let args = [
        std::ffi::OsStr::new("diagnose"),
        std::ffi::OsStr::new("--json"),
        std::ffi::OsStr::new("-C"),
        odd.as_os_str(),
    ];
    let j = common::ccrescue_with(&sb, &p, &args, &[])
        .expect_code(0)
        .json();
    assert!(
        j["project"].as_str().unwrap().ends_with("bad\u{fffd}name"),
        "{}",
        j["project"]
    );
}

#[test]
fn completions_complete_subcommands_in_bash_and_the_man_page_covers_each_command() {
    let script = std::process::Command::new(exe())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ccrescue.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    // What bash does on `ccrescue ses<TAB>`.
    let completed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(ccrescue ses); COMP_CWORD=1; COMP_LINE='ccrescue ses'; COMP_POINT=12; _ccrescue ccrescue ses ccrescue; echo \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&completed.stdout).trim(),
        "sessions",
        "{}",
        String::from_utf8_lossy(&completed.stderr)
    );
    for shell in ["zsh", "fish", "powershell"] {
        let out = std::process::Command::new(exe())
            .args(["completions", shell])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("sessions"),
            "{shell}: {text}"
        );
    }
    let bad = std::process::Command::new(exe())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values: bash"));

    let man = std::process::Command::new(exe())
        .arg("man")
        .output()
        .unwrap();
    let roff = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success());
    for page in ["ccrescue 1", "ccrescue-diagnose 1", "ccrescue-sessions 1"] {
        assert!(
            roff.contains(&format!(".TH {page}")),
            "{page} missing:\n{roff}"
        );
    }
    assert!(
        roff.contains("130  interrupted"),
        "exit codes in the man page"
    );
}
