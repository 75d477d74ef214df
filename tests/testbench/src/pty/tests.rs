//! Tests of the terminal driver on small shell programs.

use super::{Key, Terminal};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn sh(script: &str) -> Terminal {
    let env = [("PATH", "/usr/bin:/bin"), ("TERM", "xterm-256color")];
    Terminal::spawn("/bin/sh", &["-c", script], &env, Path::new("/"), 80, 24)
}

#[test]
fn shows_output_and_returns_the_exit_code() {
    let mut t = sh("printf 'hello\\n  world'; exit 3");
    assert!(t.wait_for("world", T).contains("hello"));
    assert_eq!(t.wait_exit(T), 3);
    assert_eq!(t.screen().lines().next(), Some("hello"));
    assert!(String::from_utf8_lossy(&t.raw_output()).contains("hello\r\n"));
}

#[test]
fn typed_lines_reach_the_program() {
    let mut t = sh("read line; echo \"got:$line\"; exit 0");
    t.submit("abc def", T);
    t.wait_for("got:abc def", T);
    assert_eq!(t.wait_exit(T), 0);
}

#[test]
fn environment_is_only_what_was_given() {
    let env = [("FOO", "bar baz"), ("TERM", "dumb")];
    let mut t = Terminal::spawn(
        "/usr/bin/env",
        &[] as &[&str],
        &env,
        Path::new("/tmp"),
        80,
        24,
    );
    t.wait_exit(T);
    let screen = t.screen();
    assert!(
        screen.contains("FOO=bar baz") && screen.contains("TERM=dumb"),
        "{screen}"
    );
    assert!(
        !screen.contains("PATH=") && !screen.contains("HOME="),
        "{screen}"
    );
}

#[test]
fn cursor_position_and_device_attribute_queries_are_answered() {
    // Raw mode, ask for the cursor position after two characters, print the reply readably.
    let mut t = sh(
        "stty -echo -icanon; printf 'ab\\033[6n'; r=$(dd bs=1 count=6 2>/dev/null); \
                    printf '\\033[c'; d=$(dd bs=1 count=9 2>/dev/null); \
                    printf '\\npos=%s da=%s\\n' \"$r\" \"$d\" | tr '\\033' E",
    );
    t.wait_for("pos=E[1;3R da=E[?62;22c", T);
    assert_eq!(t.wait_exit(T), 0);
    let q = t.queries();
    assert!(q.iter().any(|q| q.starts_with("CSI 6n ->")), "{q:?}");
}

#[test]
fn keys_follow_the_application_cursor_mode() {
    let mut t =
        sh("stty -echo raw; printf 'ready\\033[?1h'; dd bs=1 count=4 2>/dev/null | od -An -c");
    t.wait_for("ready", T);
    std::thread::sleep(Duration::from_millis(200));
    t.send_keys(&[Key::Up, Key::Ctrl('c')]);
    t.wait_for("033   O   A 003", T);
}

#[test]
fn ctrl_c_interrupts() {
    let mut t =
        sh("trap 'echo interrupted; exit 7' INT; echo waiting; while :; do sleep 0.1; done");
    t.wait_for("waiting", T);
    t.send_key(Key::Ctrl('c'));
    t.wait_for("interrupted", T);
    assert_eq!(t.wait_exit(T), 7);
}

#[test]
fn a_timeout_fails_with_the_screen_and_the_raw_output() {
    let mut t = sh("printf 'the \\033[1mscreen\\033[0m text\\n'; sleep 30");
    t.wait_for("text", T);
    let err = catch_unwind(AssertUnwindSafe(|| {
        t.wait_for("never shown", Duration::from_millis(200));
    }))
    .expect_err("wait_for must panic");
    let msg = err
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        msg.starts_with("timed out after 200ms waiting for \"never shown\""),
        "{msg}"
    );
    assert!(msg.contains("|the screen text"), "{msg}");
    assert!(msg.contains("\\e[1mscreen"), "{msg}");
    assert!(msg.contains("still running"), "{msg}");
}

#[test]
fn a_wait_fails_at_once_when_the_program_has_ended() {
    let mut t = sh("echo bye");
    let started = std::time::Instant::now();
    let err = catch_unwind(AssertUnwindSafe(|| {
        t.wait_for("never shown", Duration::from_secs(30));
    }))
    .expect_err("wait_for must panic");
    assert!(started.elapsed() < Duration::from_secs(10));
    let msg = err
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        msg.contains("output ended") && msg.contains("|bye"),
        "{msg}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn drop_kills_the_program() {
    let t = sh("echo started; exec sleep 100");
    let pid = t.pid().expect("a pid");
    drop(t);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still there"
    );
}
