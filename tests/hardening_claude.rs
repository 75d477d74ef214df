//! Issue 17 points 7 and 8 on the built binary: ccrescue started the way `nohup cmd &` starts
//! it (SIGINT and SIGHUP ignored) is sent SIGTERM while claude compacts. It used to die of the
//! SIGTERM on the spot (its handler was not installed) and leave claude running; now it stops
//! claude's whole process group — including a claude behind a wrapper script that does not
//! `exec` it — and ends as interrupted, saying so.
//!
//! A fake `claude` (a shell script) stands in during the compaction: the real one cannot be made
//! to hang on cue, nor to sit behind a wrapper, here. The session itself is made by the real
//! claude (the bench's credits-error fixture).
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ccrescue_testbench::claude_bin::claude_path;
use ccrescue_testbench::fixtures::{self, setup};
use ccrescue_testbench::sandbox::Auth;
use common::exe;

/// A wrapper around the real claude for `--version`/`--help`; for anything else it starts a
/// "claude" that ignores SIGINT, writes its pid to `pid_file` and hangs, without `exec`.
fn wrapper(dir: &Path, pid_file: &Path) -> std::path::PathBuf {
    let script = dir.join("claude-wrapper");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in --version|--help) exec '{real}' \"$@\";; esac\nsh -c 'trap \"\" INT; echo $$ > {pid}; exec sleep 300'\necho wrapper done\n",
            real = claude_path().display(),
            pid = pid_file.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn sigterm_with_sigint_ignored_stops_a_wrapped_claude_and_ends_as_interrupted() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("nohup");
    let f = fixtures::credits_error(&mock, &sb, &project);
    let pid_file = sb.root().join("claude.pid");
    let claude = wrapper(sb.root(), &pid_file);

    let mut cmd = sb.command(exe(), &project);
    cmd.arg("--claude")
        .arg(&claude)
        .arg("--yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec only signal(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let hung: i32 = loop {
        if let Some(pid) = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "ccrescue ended ({status:?}) before the compaction started: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no compaction"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let until = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            // SAFETY: kill(2) on the stand-in we started.
            unsafe { libc::kill(hung, libc::SIGKILL) };
            panic!("ccrescue did not end within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let orphan = alive(hung);
    if orphan {
        // SAFETY: kill(2) on the stand-in we started, so it does not outlive the test.
        unsafe { libc::kill(hung, libc::SIGKILL) };
    }
    assert!(!orphan, "the wrapped claude outlived ccrescue\n{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "ended as interrupted (130), not killed by SIGTERM (143): {:?}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("Interrupted: claude was stopped during the compaction"),
        "{stderr}"
    );
    assert!(f.session.file.exists());
}
