//! `diagnose` of a large session, the size that is scanned in parts through mappings (issue 12):
//! what it finds is what the generator wrote, and (on Linux) its peak memory stays within the
//! issue's budget of 64 MiB plus the longest line, however large the file (the mapped pages it
//! has walked are let go as it goes; without that, the whole file counted).
mod common;

use std::fs::File;
use std::io::BufWriter;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use ccrescue_testbench::r#gen::{GenOptions, write_session};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use serde_json::Value;

/// Large enough for several parts, each several times the amount walked before pages are let go.
const SIZE: u64 = 256 << 20;

/// Runs `command` to its end; returns its exit status and its peak resident memory in bytes
/// (`wait4`'s rusage of that one child: other tests' children do not count).
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std's wait cannot replace
fn run_measured(command: &mut Command) -> (ExitStatus, u64) {
    let child = command.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our own child; both pointers are to locals that outlive the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let status = ExitStatus::from_raw(status);
    // Linux reports kilobytes, macOS bytes.
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    (status, usage.ru_maxrss as u64 * unit)
}

#[test]
fn a_large_session_is_diagnosed_right_within_the_memory_budget() {
    let sb = Sandbox::for_url("http://127.0.0.1:9", Auth::ApiKey);
    let project = sb.project("large");
    let id = "5a1e0000-0000-4000-8000-000000000012";
    let path = sb.session_dir(&project).join(format!("{id}.jsonl"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let wrote = write_session(
        BufWriter::new(File::create(&path).unwrap()),
        &GenOptions {
            size: SIZE,
            seed: 12,
            session_id: Some(id.into()),
            cwd: project.display().to_string(),
            ..GenOptions::default()
        },
    )
    .unwrap();
    let mut command = Command::new(common::exe());
    command
        .args(["diagnose", "--json", "--session"])
        .arg(&path)
        .arg("--config-dir")
        .arg(sb.config_dir())
        // No claude to ask for its version: wait4 counts the children ccrescue waited for
        // (node, ~100 MiB) in its peak.
        .args(["--claude", "/nonexistent/claude"])
        .current_dir(&project)
        .envs(sb.env())
        .stderr(Stdio::null());
    // To a file: a pipe nobody reads while waiting would fill up.
    let out_path = sb.root().join("diagnose.json");
    command.stdout(File::create(&out_path).unwrap());
    let (status, peak) = run_measured(&mut command);
    let said: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert!(status.success(), "{status:?} {said:#}");
    let session = &said["session"];
    assert_eq!(session["bytes"], wrote.bytes, "{session:#}");
    assert_eq!(session["records"], wrote.records);
    assert_eq!(session["compactions"], wrote.compactions);
    // ccrescue counts the reply too (what the next request carries).
    assert_eq!(
        session["context_tokens"],
        wrote.context_tokens + wrote.last_output_tokens
    );
    assert_eq!(
        session["images"],
        wrote.images_after_boundary().count() as u64
    );
    assert_eq!(session["malformed_lines"], 0);
    let budget = (64 << 20) + wrote.largest_line;
    eprintln!(
        "diagnose of a {} MiB session peaked at {} MiB (budget {} MiB)",
        wrote.bytes >> 20,
        peak >> 20,
        budget >> 20
    );
    // Linux only: there, walked pages are unmapped (MADV_DONTNEED) and leave the count. macOS
    // takes that advice as a hint for clean file pages, which may stay counted (reclaimable page
    // cache, not memory ccrescue holds); the peak printed above (`--nocapture`) shows it there.
    #[cfg(target_os = "linux")]
    assert!(
        peak <= budget,
        "diagnose of a {} MiB session peaked at {} MiB, over the budget of {} MiB",
        wrote.bytes >> 20,
        peak >> 20,
        budget >> 20
    );
}
