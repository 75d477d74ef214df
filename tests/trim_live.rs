//! `ccrescue trim --force` while the real claude runs on the session: what the warning says is
//! what happens — claude's next records land in the trimmed file (it opens the session by path
//! for each append, so none go to the backup), but it still sends the removed images from
//! memory until it is restarted.
mod common;

use std::time::Duration;

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::Auth;
use common::ccrescue;

#[test]
fn a_forced_trim_under_a_live_claude_keeps_its_new_records_and_says_to_restart_it() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("forced");
    let s = fixtures::screenshots(&mock, &sb, &project, 3).session;
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(
        claude_path(),
        &["--resume", &s.id],
        &env,
        &s.project,
        120,
        40,
    );
    t.wait_until("the prompt `❯`", Duration::from_secs(60), |sc| {
        sc.contains('❯')
    });
    let registry = sb.config_dir().join("sessions");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&registry).map_or(0, |d| d.count()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no live-session entry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let r = ccrescue(&sb, &s.project, &["trim", "--yes", "--force"]).expect_code(0);
    assert!(
        r.stderr.contains(&format!(
            "trimming anyway (--force): that claude still holds the removed blocks and sends them until you quit it and run `claude --resume {}`",
            s.id
        )),
        "{}",
        r.stderr
    );
    let backup = s.file.with_file_name(format!("{}.jsonl.bak", s.id));
    let (trimmed, kept) = (
        std::fs::read(&s.file).unwrap().len(),
        std::fs::read(&backup).unwrap(),
    );

    let requests = mock.messages_requests().len();
    t.submit("one more thing", Duration::from_secs(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while mock.messages_requests().len() == requests
        || !std::fs::read_to_string(&s.file).unwrap()[trimmed..].contains(r#""type":"assistant""#)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "claude sent no request"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = mock.messages_requests().last().unwrap().image_count;
    assert_eq!(sent, 3, "the live claude still sends the images it holds");
    let now = std::fs::read_to_string(&s.file).unwrap();
    assert!(now.len() > trimmed, "claude appended to the trimmed file");
    assert!(
        now[trimmed..].contains("one more thing"),
        "{}",
        &now[trimmed..]
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        kept,
        "nothing went to the backup"
    );

    t.send_key(Key::Ctrl('c'));
    t.wait_for("again to exit", Duration::from_secs(30));
    t.send_key(Key::Ctrl('c'));
    t.wait_exit(Duration::from_secs(30));
}
