//! `ccrescue restore` on sessions the real claude wrote: listing backups, putting the newest or a
//! chosen one back, undoing that with the command it prints, and every refusal with its exit
//! code (pruning and the terminal prompts: restore_prune.rs). Backups are made the way ccrescue
//! makes them before a compaction (`fsx::backup_copy`); the trim tests cover backups made by
//! `ccrescue trim`.
mod common;
mod restore_states;

use std::fs;
use std::path::Path;
use std::time::Duration;

use ccrescue::fsx;
use ccrescue_testbench::fixtures;
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::pty::Terminal;
use ccrescue_testbench::sandbox::Sandbox;
use common::{ccrescue, snapshot};
use restore_states::{two_states, with_suffix};

fn no_temp_files(dir: &Path) {
    let temps: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ccrescue-"))
        .collect();
    assert!(temps.is_empty(), "temp files left behind: {temps:?}");
}

/// The command after "run `" in `text`.
fn printed_command(text: &str) -> Vec<String> {
    let start = text.find("run `").expect("an undo command") + 5;
    let end = start + text[start..].find('`').unwrap();
    text[start..end].split(' ').map(str::to_owned).collect()
}

#[test]
fn restores_the_newest_backup_and_the_printed_command_undoes_it() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    let dir = session.file.parent().unwrap();

    let list = ccrescue(sb, project, &["restore", "--list"]).expect_code(0);
    assert!(
        list.stdout.contains(&format!(
            "Backups of session {} ({}), newest first:",
            session.id,
            session.file.display()
        )),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains(&t.bak.display().to_string()));
    let j = ccrescue(sb, project, &["restore", "--list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["id"], session.id.as_str());
    assert_eq!(j["backups"].as_array().unwrap().len(), 1);
    assert_eq!(j["backups"][0]["path"], t.bak.display().to_string());
    assert_eq!(j["backups"][0]["bytes"], t.a.len());

    // No terminal and no --yes: refused, naming --yes; nothing written.
    let before = snapshot(sb.root());
    let refused = ccrescue(sb, project, &["restore"]).expect_code(2);
    assert!(
        refused
            .stderr
            .contains("error: restore replaces the session file and there is no terminal"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(
            "hint: pass --yes to put back the state before ccrescue's latest change still in effect"
        ),
        "{}",
        refused.stderr
    );
    let dry = ccrescue(sb, project, &["restore", "--yes", "--dry-run"]).expect_code(0);
    assert!(dry.stdout.starts_with("Would restore"), "{}", dry.stdout);
    assert!(dry.stdout.contains("Nothing was changed (--dry-run)."));
    let dry_json = ccrescue(sb, project, &["restore", "--yes", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(dry_json["dry_run"], true);
    assert_eq!(dry_json["previous_state_backup"], serde_json::Value::Null);
    assert_eq!(
        snapshot(sb.root()),
        before,
        "refusals and dry runs write nothing"
    );

    let done = ccrescue(sb, project, &["restore", "--yes"]).expect_code(0);
    let undo_backup = with_suffix(&session.file, ".bak.1");
    assert_eq!(
        done.stdout,
        format!(
            "Restored {} from {}.jsonl.bak.\nThe state before the restore is in {}.jsonl.bak.1: \
             run `ccrescue restore --backup {}` to undo.\n",
            session.file.display(),
            session.id,
            session.id,
            undo_backup.display()
        )
    );
    assert_eq!(fs::read(&session.file).unwrap(), t.a, "the backup is back");
    assert_eq!(
        fs::read(&undo_backup).unwrap(),
        t.b,
        "the state before is kept"
    );
    assert_eq!(
        fs::read(&t.bak).unwrap(),
        t.a,
        "the backup itself is untouched"
    );
    no_temp_files(dir);

    // The undo command, exactly as printed, from another folder: --backup names the session.
    let cmd = printed_command(&done.stdout);
    assert_eq!(cmd[..3], ["ccrescue", "restore", "--backup"]);
    let args: Vec<&str> = cmd[1..].iter().map(String::as_str).collect();
    let elsewhere = sb.project("elsewhere");
    let undone = ccrescue(sb, &elsewhere, &args).expect_code(0);
    assert!(
        undone
            .stdout
            .contains(&format!("from {}.jsonl.bak.1.", session.id)),
        "{}",
        undone.stdout
    );
    assert_eq!(fs::read(&session.file).unwrap(), t.b, "undone");
    assert_eq!(fs::read(with_suffix(&session.file, ".bak.2")).unwrap(), t.a);
    no_temp_files(dir);

    // Restoring what is already there changes nothing and writes no backup.
    let before = snapshot(sb.root());
    let same = ccrescue(
        sb,
        project,
        &["restore", "--backup", undo_backup.to_str().unwrap()],
    )
    .expect_code(0);
    assert!(
        same.stdout.contains("is already identical to"),
        "{}",
        same.stdout
    );
    assert_eq!(snapshot(sb.root()), before);
}

#[test]
fn claude_resumes_a_restored_session_from_where_the_backup_left_it() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    ccrescue(sb, project, &["restore", "--yes"]).expect_code(0);
    t.mock.clear_log();
    t.mock
        .set_rules(vec![Rule::reply(Reply::text("Back again."))]);
    session.resume(sb, "third turn", &[]).assert_success();
    let asked = t.mock.messages_requests();
    let last = asked.last().expect("claude asked the mock");
    assert_eq!(last.last_user_text.as_deref(), Some("third turn"));
    assert!(
        last.body.contains("first turn"),
        "the restored history is sent"
    );
    assert!(
        !last.body.contains("second turn"),
        "the turn after the backup is gone from what claude sends"
    );
    let text = String::from_utf8(fs::read(&session.file).unwrap()).unwrap();
    assert!(
        text.starts_with(std::str::from_utf8(&t.a).unwrap()),
        "claude appended to the restored file"
    );
}

#[test]
fn a_chosen_backup_is_restored_and_foreign_or_missing_ones_are_refused() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    let second = fsx::backup_copy(&session.file).unwrap(); // state b
    assert_eq!(second, with_suffix(&session.file, ".bak.1"));
    session.resume(sb, "third turn", &[]).assert_success();
    let c = fs::read(&session.file).unwrap();

    let list = ccrescue(sb, project, &["restore", "--list", "--json"])
        .expect_code(0)
        .json();
    let order: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [second.to_str().unwrap(), t.bak.to_str().unwrap()],
        "newest first"
    );

    let newest = ccrescue(sb, project, &["restore", "--yes", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        newest["restored_from"]["path"],
        second.display().to_string(),
        "--yes takes the newest"
    );

    // Another session's backup, a missing file, and a file that is no backup: refused, exit 2.
    let (other, run) = fixtures::new_session(sb, project, "another session", &[]);
    run.assert_success();
    let foreign = fsx::backup_copy(&other.file).unwrap();
    let before = snapshot(sb.root());
    let wrong = ccrescue(
        sb,
        project,
        &[
            "restore",
            "--session",
            &session.id,
            "--backup",
            foreign.to_str().unwrap(),
        ],
    )
    .expect_code(2);
    assert!(
        wrong.stderr.contains(&format!(
            "error: {} is not a backup of session {}",
            foreign.display(),
            session.id
        )),
        "{}",
        wrong.stderr
    );
    assert!(
        wrong.stderr.contains(&second.display().to_string()),
        "the hint lists the real ones"
    );
    let missing = with_suffix(&session.file, ".bak.7");
    let gone = ccrescue(
        sb,
        project,
        &["restore", "--backup", missing.to_str().unwrap()],
    )
    .expect_code(2);
    assert!(
        gone.stderr.contains("is not a backup of session"),
        "{}",
        gone.stderr
    );
    let junk = ccrescue(sb, project, &["restore", "--backup", "/etc/passwd"]).expect_code(2);
    assert!(
        junk.stderr
            .contains("error: /etc/passwd is not a ccrescue backup"),
        "{}",
        junk.stderr
    );
    assert_eq!(snapshot(sb.root()), before);

    let j = ccrescue(
        sb,
        project,
        &["restore", "--json", "--backup", t.bak.to_str().unwrap()],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["restored_from"]["path"], t.bak.display().to_string());
    let undo = with_suffix(&session.file, ".bak.2");
    assert_eq!(j["previous_state_backup"], undo.display().to_string());
    assert_eq!(j["changed"], true);
    assert_eq!(fs::read(&session.file).unwrap(), t.a);
    assert_eq!(fs::read(&undo).unwrap(), c);
    assert_eq!(fs::read(&second).unwrap(), t.b);
}

#[test]
fn without_backups_or_sessions_there_is_nothing_to_restore() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let empty = sb.project("empty");
    let none = ccrescue(&sb, &empty, &["restore", "--yes"]).expect_code(2);
    assert!(
        none.stderr.contains("error: no session here to restore"),
        "{}",
        none.stderr
    );
    let session = fixtures::healthy(&mock, &sb, &empty).session;
    let list = ccrescue(&sb, &empty, &["restore", "--list"]).expect_code(0);
    assert_eq!(
        list.stdout,
        format!(
            "Session {} has no backups (ccrescue writes one before each change it makes).\n",
            session.id
        )
    );
    let before = snapshot(sb.root());
    let nothing = ccrescue(&sb, &empty, &["restore", "--yes"]).expect_code(2);
    assert!(
        nothing.stderr.contains(&format!(
            "error: session {} has no backups to restore",
            session.id
        )),
        "{}",
        nothing.stderr
    );
    assert_eq!(snapshot(sb.root()), before);
}

#[test]
fn a_session_a_live_claude_is_writing_is_refused_unless_forced() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut claude = Terminal::spawn(
        ccrescue_testbench::claude_bin::claude_path(),
        &["--resume", session.id.as_str()],
        &env,
        project,
        120,
        40,
    );
    let pid = claude.pid().expect("claude's pid");
    claude.wait_until("the prompt `❯`", Duration::from_secs(60), |s| {
        s.contains('❯')
    });
    let registry = sb.config_dir().join("sessions");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fs::read_dir(&registry).map_or(0, |d| d.count()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "claude wrote no live-session entry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let session_bytes = fs::read(&session.file).unwrap();
    let refused = ccrescue(sb, project, &["restore", "--yes"]).expect_code(2);
    assert!(
        refused.stderr.contains(&format!(
            "error: claude (pid {pid}) is running on session {}",
            session.id
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("hint: quit that claude first"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(fs::read(&session.file).unwrap(), session_bytes);
    assert!(!with_suffix(&session.file, ".bak.1").exists());

    let forced = ccrescue(sb, project, &["restore", "--yes", "--force"]).expect_code(0);
    assert!(
        forced.stderr.contains(&format!(
            "warning: claude (pid {pid}) is running on this session; restoring anyway (--force)"
        )),
        "{}",
        forced.stderr
    );
    assert_eq!(fs::read(&session.file).unwrap(), t.a);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    claude.wait_exit(Duration::from_secs(20));
}
