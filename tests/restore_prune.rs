//! `ccrescue restore` on sessions the real claude wrote, continued from restore.rs: pruning old
//! backups (only after --yes or a confirmation, by when each backup was made), and the questions
//! at a terminal (which backup, with the newest preselected; prune, where the default is no).
mod common;
mod restore_states;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ccrescue::fsx;
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::Sandbox;
use common::{ccrescue, exe, snapshot};
use restore_states::{two_states, with_suffix};

fn set_mtime(p: &Path, ago: Duration) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

#[test]
fn prune_deletes_only_after_yes_and_goes_by_when_a_backup_was_made() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    let second = fsx::backup_copy(&session.file).unwrap();
    // A backup keeps its session's modification time; an old one says nothing about when the
    // backup was made (today), so a 1-day prune keeps both.
    set_mtime(&t.bak, Duration::from_secs(40 * 86_400));
    let before = snapshot(sb.root());
    let kept = ccrescue(sb, project, &["restore", "--prune", "1", "--yes"]).expect_code(0);
    assert_eq!(
        kept.stdout,
        format!(
            "No backup of session {} is older than 1 day(s); nothing deleted (2 kept).\n",
            session.id
        )
    );
    let refused = ccrescue(sb, project, &["restore", "--prune", "0"]).expect_code(2);
    assert!(
        refused.stderr.contains(
            "error: pruning deletes 2 backup(s) for good and there is no terminal to confirm"
        ),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    let dry = ccrescue(sb, project, &["restore", "--prune", "0", "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout.contains(&second.display().to_string()),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains(&t.bak.display().to_string()));
    assert!(dry.stdout.ends_with("Nothing was deleted (--dry-run).\n"));
    assert_eq!(snapshot(sb.root()), before);

    let j = ccrescue(sb, project, &["restore", "--prune", "0", "--yes", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["removed"].as_array().unwrap().len(), 2);
    assert_eq!(j["kept"], 0);
    assert!(!t.bak.exists() && !second.exists());
    assert_eq!(
        fs::read(&session.file).unwrap(),
        t.b,
        "the session itself is never pruned"
    );
}

fn terminal(sb: &Sandbox, project: &Path, args: &[&str]) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(exe(), args, &env, project, 140, 30)
}

const PROMPT_WAIT: Duration = Duration::from_secs(30);

#[test]
fn on_a_terminal_it_asks_which_backup_with_the_newest_preselected() {
    let t = two_states();
    let (sb, project, session) = (&t.sb, &t.project, &t.session);
    let second = fsx::backup_copy(&session.file).unwrap(); // state b, the newest
    session.resume(sb, "third turn", &[]).assert_success();
    let c = fs::read(&session.file).unwrap();

    // Esc stops, as everywhere in ccrescue (like Ctrl-C at a question): nothing changes.
    let before = snapshot(sb.root());
    let mut term = terminal(sb, project, &["restore"]);
    term.wait_for("Put which backup back", PROMPT_WAIT);
    // These backups were made by the test, not by a ccrescue change: no journal entry, so the
    // newest is the default, and each says its reason was not recorded.
    // On a terminal the menu names backups with the id's first block (the session is known).
    let short = &session.id[..8];
    let newest = format!("❯ {short}….jsonl.bak.1");
    let screen = term.wait_for(&newest, PROMPT_WAIT);
    let screen = match screen.contains("(default)") {
        true => screen,
        false => term.wait_for("(default)", PROMPT_WAIT),
    };
    assert!(screen.contains("(default)"), "{screen}");
    assert!(screen.contains("reason not recorded"), "{screen}");
    term.send_key(Key::Escape);
    // Ended by SIGINT, as after Ctrl-C (shells show 130).
    assert_ne!(term.wait_exit(PROMPT_WAIT), 0);
    assert!(
        term.screen().contains("Nothing restored."),
        "{}",
        term.screen()
    );
    assert_eq!(snapshot(sb.root()), before);

    // Ctrl-C too, but as an interruption: it says so, shows the cursor again, ends by SIGINT.
    let mut term = terminal(sb, project, &["restore"]);
    term.wait_for("Put which backup back", PROMPT_WAIT);
    term.send_key(Key::Ctrl('c'));
    let screen = term.wait_for("error: interrupted", PROMPT_WAIT);
    assert!(screen.contains("Nothing restored."), "{screen}");
    assert_ne!(term.wait_exit(PROMPT_WAIT), 0);
    let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
    let hidden = raw.rfind("\x1b[?25l").expect("dialoguer hid the cursor");
    assert!(
        raw[hidden..].contains("\x1b[?25h"),
        "the cursor is shown again"
    );
    assert_eq!(snapshot(sb.root()), before);

    // Down + Enter picks the older one.
    let mut term = terminal(sb, project, &["restore"]);
    term.wait_for("Put which backup back", PROMPT_WAIT);
    term.send_key(Key::Down);
    term.wait_for(&format!("❯ {}….jsonl.bak ", &session.id[..8]), PROMPT_WAIT);
    term.send_key(Key::Enter);
    assert_eq!(term.wait_exit(PROMPT_WAIT), 0, "{}", term.screen());
    assert!(term.screen().contains("Restored "), "{}", term.screen());
    assert_eq!(fs::read(&session.file).unwrap(), t.a);
    assert_eq!(fs::read(with_suffix(&session.file, ".bak.2")).unwrap(), c);
    assert_eq!(fs::read(&second).unwrap(), t.b);
}

#[test]
fn on_a_terminal_prune_asks_and_the_default_is_no() {
    let t = two_states();
    let (sb, project) = (&t.sb, &t.project);
    let before = snapshot(sb.root());
    let mut term = terminal(sb, project, &["restore", "--prune", "0"]);
    term.wait_for("They cannot be recovered.", PROMPT_WAIT);
    assert!(term.screen().contains("(y/n) › no"), "{}", term.screen());
    term.send_key(Key::Enter);
    assert_eq!(term.wait_exit(PROMPT_WAIT), 0);
    assert!(
        term.screen().contains("Nothing deleted."),
        "{}",
        term.screen()
    );
    assert_eq!(snapshot(sb.root()), before, "Enter keeps the backups");

    let mut term = terminal(sb, project, &["restore", "--prune", "0"]);
    term.wait_for("They cannot be recovered.", PROMPT_WAIT);
    term.send("y");
    assert_eq!(term.wait_exit(PROMPT_WAIT), 0);
    assert!(
        term.screen().contains("Deleted 1 backup(s)"),
        "{}",
        term.screen()
    );
    assert!(!t.bak.exists());
}
