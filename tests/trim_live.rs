//! `ccrescue trim` while the real claude runs on the session: refused (exit 2, naming the pid and
//! how to quit claude) unless `--force`; and with `--force`, what the warning says is what
//! happens — claude's next records land in the trimmed file (it opens the session by path for
//! each append, so none go to the backup), but it still sends the removed images from memory
//! until it is restarted.
mod common;

use std::time::{Duration, Instant};

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::Auth;
use common::ccrescue;

#[test]
fn a_session_claude_is_running_on_is_refused_unless_forced() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("live");
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
    let pid = t.pid().expect("claude's pid");
    t.wait_until("the prompt `❯`", Duration::from_secs(60), |sc| {
        sc.contains('❯')
    });
    let registry = sb.config_dir().join("sessions");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&registry).map_or(0, |d| d.count()) == 0 {
        assert!(
            Instant::now() < deadline,
            "claude wrote no live-session entry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = std::fs::read(&s.file).unwrap();
    let backup = s.file.with_file_name(format!("{}.jsonl.bak", s.id));

    let r = ccrescue(&sb, &s.project, &["trim", "--yes"]).expect_code(2);
    assert!(
        r.stderr.contains(&format!("error: claude (pid {pid}) is running on this session: quit it first (type /exit, or press Ctrl-C twice)")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("hint: then run ccrescue trim again (--force trims while claude runs)"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&s.file).unwrap(), before);
    assert!(!backup.exists());

    let r = ccrescue(&sb, &s.project, &["trim", "--yes", "--force"]).expect_code(0);
    assert!(
        r.stderr.contains(&format!(
            "warning: claude (pid {pid}) is running on this session: quit it first (type /exit, or press Ctrl-C twice); trimming anyway (--force): that claude still holds the removed blocks and sends them until you quit it and run `claude --resume {}`",
            s.id
        )),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("3 blocks replaced"), "{}", r.stdout);
    let trimmed = std::fs::read(&s.file).unwrap().len();
    assert_eq!(std::fs::read(&backup).unwrap(), before);

    // The next turn of that claude: appended to the trimmed file, images still sent.
    let requests = mock.messages_requests().len();
    t.submit("one more thing", Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(60);
    let appended = || std::fs::read_to_string(&s.file).unwrap()[trimmed..].to_owned();
    while mock.messages_requests().len() == requests
        || !appended().contains(r#""type":"assistant""#)
    {
        assert!(Instant::now() < deadline, "claude answered nothing");
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = mock.messages_requests().last().unwrap().image_count;
    assert_eq!(sent, 3, "the live claude still sends the images it holds");
    assert!(appended().contains("one more thing"), "{}", appended());
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        before,
        "nothing went to the backup"
    );

    t.send_key(Key::Ctrl('c'));
    t.wait_for("again to exit", Duration::from_secs(30));
    t.send_key(Key::Ctrl('c'));
    t.wait_exit(Duration::from_secs(30));
}
