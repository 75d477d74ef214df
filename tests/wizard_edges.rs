//! The wizard's edges with the real claude: a live interactive claude on the session (refused
//! under `--yes`; waited for at a terminal until the user quits it), picking another session of
//! the project from the menu, and a session whose recorded folder is gone (claude then runs in
//! the project folder, whose slug is the same).
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures::{self, Session, new_session, setup};
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, exe, snapshot};

const STEP: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_millis(300);
const SUMMARY: &str = "RESCUED on the edges.";

fn terminal(
    sb: &Sandbox,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    cwd: &Path,
) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(program, args, &env, cwd, 120, 40)
}

/// Waits for `text`, lets the prompt settle, presses `key`.
fn answer(t: &mut Terminal, text: &str, key: Key) {
    t.wait_for(text, STEP);
    t.wait_quiet(SETTLE, STEP);
    t.send_key(key);
}

/// Waits for the return question and answers No: the command is printed instead.
fn decline_the_return(t: &mut Terminal) {
    t.wait_for("Continue in claude-sonnet-4-6 now?", STEP);
    t.wait_quiet(SETTLE, STEP);
    t.send("n");
}

fn compactions(mock: &MockApi) -> usize {
    mock.messages_requests()
        .iter()
        .filter(|q| q.is_compaction)
        .count()
}

fn has_boundary(s: &Session) -> bool {
    std::fs::read_to_string(&s.file)
        .unwrap()
        .contains(r#""subtype":"compact_boundary""#)
}

/// The interactive real claude on `s`, once it has registered itself as live.
fn live_claude(sb: &Sandbox, s: &Session) -> (Terminal, u32) {
    let mut t = terminal(sb, claude_path(), &["--resume", &s.id], &s.project);
    let pid = t.pid().expect("claude's pid");
    t.wait_until("the prompt `❯`", STEP, |screen| screen.contains('❯'));
    let registry = sb.config_dir().join("sessions");
    let deadline = Instant::now() + STEP;
    while std::fs::read_dir(&registry).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            Instant::now() < deadline,
            "claude wrote no live-session entry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (t, pid)
}

#[test]
fn a_live_claude_is_refused_under_yes_and_waited_for_at_a_terminal() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("live");
    let f = fixtures::credits_error(&mock, &sb, &project);
    fixtures::account_gate(&mock, SUMMARY, "Back in Sonnet.");
    let (mut claude, pid) = live_claude(&sb, &f.session);

    let dir = f.session.file.parent().unwrap().to_owned();
    let before = snapshot(&dir);
    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(2);
    let refusal = format!(
        "error: claude (pid {pid}) is running on session {}; ccrescue does not touch a session \
         claude is writing",
        f.session.id
    );
    assert!(r.stderr.contains(&refusal), "{}", r.stderr);
    assert!(r.stderr.contains("hint: quit that claude"), "{}", r.stderr);
    assert_eq!(snapshot(&dir), before, "nothing changed, no backup");
    assert_eq!(compactions(&mock), 0);

    // At a terminal the wizard asks the user to quit claude and waits.
    let mut t = terminal(&sb, exe(), &[], &project);
    answer(&mut t, "What do you see?", Key::Enter);
    let quit = format!("claude (pid {pid}) is running on this session: quit it first");
    t.wait_for(&quit, STEP);
    // Saying yes while claude still runs only asks again.
    answer(&mut t, "Have you quit it? (No stops here)", Key::Enter);
    t.wait_until("the question asked again", STEP, |s| {
        s.matches(&quit).count() == 2 && s.contains("? Have you quit it?")
    });
    assert_eq!(snapshot(&dir), before, "still nothing changed");

    claude.wait_quiet(SETTLE, STEP);
    claude.submit("/exit", STEP);
    claude.wait_exit(STEP);
    t.wait_quiet(SETTLE, STEP);
    t.send_key(Key::Enter);
    answer(
        &mut t,
        "compact it with claude-haiku-4-5-20251001?",
        Key::Enter,
    );
    t.wait_for("Compacted: the context is now", STEP);
    decline_the_return(&mut t);
    t.wait_for("Carry on with:", STEP);
    assert_eq!(t.wait_exit(STEP), 0);
    assert_eq!(compactions(&mock), 1);
    assert!(has_boundary(&f.session));
}

/// Sets a file's modification time `ago` into the past.
fn age(path: &Path, ago: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - ago).unwrap();
}

#[test]
fn another_session_picked_from_the_menu_is_the_one_rescued() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("two");
    let stuck = fixtures::credits_error(&mock, &sb, &project).session;
    // Two days old: too old for the wizard to prefer it over the newest session by itself.
    age(&stuck.file, Duration::from_secs(2 * 24 * 3600));
    let (newer, run) = new_session(&sb, &project, "an unrelated healthy session", &[]);
    run.assert_success();
    let newer_bytes = std::fs::read(&newer.file).unwrap();
    fixtures::account_gate(&mock, SUMMARY, "Back in Sonnet.");

    let mut t = terminal(&sb, exe(), &[], &project);
    let screen = t.wait_for("What do you see?", STEP);
    assert!(
        screen.contains(&format!("Session  {}", newer.id)),
        "{screen}"
    );
    assert!(screen.contains("Found    nothing stuck"), "{screen}");
    // The healthy session preselects "not sure"; one down is "pick another one".
    t.wait_quiet(SETTLE, STEP);
    t.send_key(Key::Down);
    answer(
        &mut t,
        "❯ this is not the session: pick another one",
        Key::Enter,
    );
    let screen = t.wait_for("Which session?", STEP);
    assert!(
        screen.contains("read everything in this repo"),
        "the list shows each session's first prompt\n{screen}"
    );
    t.wait_quiet(SETTLE, STEP);
    t.send_key(Key::Down);
    answer(&mut t, &format!("❯ {}", stuck.id), Key::Enter);
    let screen = t.wait_for("Found    the session outgrew the standard window", STEP);
    assert!(
        screen.contains(&format!("Session  {}", stuck.id)),
        "{screen}"
    );
    answer(&mut t, "❯ the error came after a long session", Key::Enter);
    answer(
        &mut t,
        "compact it with claude-haiku-4-5-20251001?",
        Key::Enter,
    );
    t.wait_for("Compacted: the context is now", STEP);
    decline_the_return(&mut t);
    let screen = t.wait_for(&format!("claude --resume={} --model", stuck.id), STEP);
    assert_eq!(t.wait_exit(STEP), 0, "{screen}");

    let asked = mock
        .messages_requests()
        .into_iter()
        .find(|q| q.is_compaction)
        .expect("a compaction request");
    assert_eq!(asked.session_header.as_deref(), Some(stuck.id.as_str()));
    assert!(has_boundary(&stuck), "the chosen session was compacted");
    assert!(stuck.file.with_extension("jsonl.bak").is_file());
    assert_eq!(
        std::fs::read(&newer.file).unwrap(),
        newer_bytes,
        "the other one untouched"
    );
    assert!(!newer.file.with_extension("jsonl.bak").exists());
}

/// A stuck session whose project folder `name` was then renamed to the same name with `-` for
/// `_`: both share claude's slug, so the sessions are still the project's, but the folder they
/// recorded is gone. Returns (the old folder, the new one, the session); the mock then answers
/// the rescue.
fn stuck_then_renamed(
    mock: &MockApi,
    sb: &Sandbox,
    name: &str,
) -> (PathBuf, PathBuf, fixtures::CreditsError) {
    let old = sb.project(name);
    let f = fixtures::credits_error(mock, sb, &old);
    let project: PathBuf = old.with_file_name(name.replace('_', "-"));
    std::fs::rename(&old, &project).unwrap();
    sb.trust(&project);
    fixtures::account_gate(mock, SUMMARY, "Back in Sonnet.");
    (old, project, f)
}

/// The command the wizard prints last: resume the session in Sonnet, in `project`.
fn resume_in_sonnet(project: &Path, id: &str) -> String {
    format!(
        "cd {} && claude --resume={id} --model claude-sonnet-4-6\n",
        project.display()
    )
}

#[test]
fn a_gone_session_folder_is_said_and_claude_runs_in_the_project_folder() {
    let (mock, sb) = setup(Auth::ApiKey);
    let (old, project, f) = stuck_then_renamed(&mock, &sb, "old_name");
    assert_eq!(sb.session_dir(&project), f.session.file.parent().unwrap());

    // The plan shows the commands as they would run: in the project folder, not the gone one.
    let plan = ccrescue(&sb, &project, &["--dry-run"]).expect_code(0);
    let gone = format!("cd {} &&", old.display());
    let here = format!("$ cd {} && ", project.display());
    assert!(!plan.stdout.contains(&gone), "{}", plan.stdout);
    assert_eq!(plan.stdout.matches(&here).count(), 2, "{}", plan.stdout);
    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(0);
    let warning = format!(
        "warning: the session's folder {} is gone; claude runs in {} instead",
        old.display(),
        project.display()
    );
    assert!(r.stderr.contains(&warning), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "$ cd {} && CLAUDE_CODE_DISABLE_1M_CONTEXT=1",
            project.display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Compacted: the context is now"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, resume_in_sonnet(&project, &f.session.id));
    assert!(has_boundary(&f.session));
    // The printed command works: the real claude resumes the compacted session there.
    mock.clear_log();
    let moved = Session {
        project: project.clone(),
        ..f.session.clone()
    };
    moved
        .resume(&sb, "still with me?", &["--model", "claude-sonnet-4-6"])
        .assert_success();
    let asked = mock
        .messages_requests()
        .into_iter()
        .find(|q| q.last_user_text.as_deref() == Some("still with me?"))
        .expect("the resumed turn reached the mock");
    assert!(asked.body.contains(SUMMARY));
}

#[test]
fn quiet_under_yes_says_only_warnings_and_prints_the_command() {
    // Found by a review: `-q` ("only errors and the final line") changed nothing in the wizard.
    let (mock, sb) = setup(Auth::ApiKey);
    let (old, project, f) = stuck_then_renamed(&mock, &sb, "quiet_one");
    let r = ccrescue(&sb, &project, &["--yes", "-q"]).expect_code(0);
    assert_eq!(
        r.stderr,
        format!(
            "warning: the session's folder {} is gone; claude runs in {} instead\n",
            old.display(),
            project.display()
        )
    );
    assert_eq!(r.stdout, resume_in_sonnet(&project, &f.session.id));
    assert!(has_boundary(&f.session), "the rescue ran");
}
