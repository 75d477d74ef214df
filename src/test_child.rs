//! Tests that must run in a process of their own (a signal, a process-wide handler, an exit)
//! run the test binary again, that one test alone, as a child (unix: so far only unix tests
//! need it).
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs test `name` (its full path) alone in a child process with `env` set to `value`, and
/// returns how it ended. Under an emulator the child runs through it too
/// (`scripts/test-aarch64.sh` sets `CCRESCUE_TEST_RUNNER` to qemu's). A child still running
/// after a minute (a signal handler that returns into the same fault over and over, say) is
/// killed and the test fails.
pub fn run_alone(name: &str, env: &str, value: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut command = match std::env::var_os("CCRESCUE_TEST_RUNNER") {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let child = command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, value)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) with our own child's pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            panic!("{name} (pid {pid}) still ran after a minute");
        }
    }
}
