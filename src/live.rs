//! Is a running claude attached to a session? Read from claude's live-session registry
//! (`<root>/sessions/<pid>.json`, written at start-up and removed on exit), trusting an entry
//! only if its pid is alive and is that same claude: a SIGKILLed claude leaves its file behind.
use std::fs;
use std::path::Path;

use serde::Deserialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// A claude process attached to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveClaude {
    pub pid: u32,
    pub entrypoint: Option<String>,
    pub cwd: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistryEntry {
    pid: u32,
    session_id: Option<String>,
    cwd: Option<String>,
    /// Milliseconds since the epoch.
    started_at: Option<serde_json::Value>,
    /// On Linux: the process start time in clock ticks since boot, as in /proc/<pid>/stat.
    proc_start: Option<serde_json::Value>,
    entrypoint: Option<String>,
}

/// The largest registry entry read (claude's are a few hundred bytes).
const REGISTRY_CAP: u64 = 1 << 20;

/// The live claude attached to `session_id`, if any. Unreadable or stale entries are ignored.
pub fn find_live(root: &Path, session_id: &str) -> Option<LiveClaude> {
    let entries = fs::read_dir(root.join("sessions")).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        // Not a plain read: a FIFO or a device planted there must not hang or flood ccrescue.
        let Ok(text) = crate::fsx::read_small(&path, REGISTRY_CAP) else {
            continue;
        };
        let Ok(e) = serde_json::from_slice::<RegistryEntry>(&text) else {
            continue;
        };
        if e.session_id.as_deref() == Some(session_id) && is_same_claude(&e) {
            return Some(LiveClaude {
                pid: e.pid,
                entrypoint: e.entrypoint,
                cwd: e.cwd,
            });
        }
    }
    None
}

fn as_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// True when the entry's pid is alive and is the process that wrote the entry.
fn is_same_claude(e: &RegistryEntry) -> bool {
    // Linux: the start time in /proc/<pid>/stat is exact; a reused pid has another one.
    if let (Some(recorded), Some(actual)) = (as_text(&e.proc_start), linux_start_ticks(e.pid)) {
        return recorded == actual;
    }
    // Elsewhere (macOS, Windows, or an entry without procStart), through sysinfo: the process
    // must exist and have started before the entry was written.
    let Ok(mut sys) = System::new() else {
        return false;
    };
    let pid = Pid::from_u32(e.pid);
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_exe(sysinfo::UpdateKind::OnlyIfNotSet),
    );
    let Some(process) = sys.process(pid) else {
        return false;
    };
    // A pid reused by another program started after claude wrote its entry; without a start time
    // in the entry, the process must at least look like claude (a node-run claude is `node`).
    match as_text(&e.started_at).and_then(|s| s.parse::<u64>().ok()) {
        Some(ms) => process.start_time() <= ms / 1000 + 1,
        None => [Some(process.name()), process.exe().map(|p| p.as_os_str())]
            .iter()
            .flatten()
            .any(|n| {
                let n = n.to_string_lossy().to_lowercase();
                n.contains("claude") || n.contains("node")
            }),
    }
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), on Linux.
fn linux_start_ticks(pid: u32) -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    let Some(stat) = stat else {
        // No such process (or no /proc): with /proc mounted, the pid is gone.
        return Path::new("/proc/self/stat").exists().then(String::new);
    };
    // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_entry(dir: &Path, pid: u32, body: &str) {
        fs::create_dir_all(dir.join("sessions")).unwrap();
        fs::write(dir.join("sessions").join(format!("{pid}.json")), body).unwrap();
    }

    #[test]
    fn a_dead_pid_is_not_live_and_a_reused_pid_is_not_claude() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // pid of a process that has exited.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list") // this test binary, which lists its tests and exits (on any platform)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let dead = child.id();
        child.wait().unwrap();
        write_entry(
            dir,
            dead,
            &format!(r#"{{"pid":{dead},"sessionId":"s1","procStart":"1","startedAt":1}}"#),
        );
        assert_eq!(find_live(dir, "s1"), None);
        // Our own pid, alive, but with another start time: a reused pid.
        let me = std::process::id();
        write_entry(
            dir,
            me,
            &format!(r#"{{"pid":{me},"sessionId":"s2","procStart":"1","startedAt":1}}"#),
        );
        assert_eq!(find_live(dir, "s2"), None);
        // Our own pid with our real start time: live.
        if let Some(ticks) = linux_start_ticks(me) {
            write_entry(
                dir,
                me,
                &format!(r#"{{"pid":{me},"sessionId":"s3","procStart":"{ticks}","cwd":"/p"}}"#),
            );
            assert_eq!(find_live(dir, "s3").map(|l| l.pid), Some(me));
            assert_eq!(find_live(dir, "other"), None);
        }
    }

    #[test]
    fn without_proc_start_the_start_time_decides() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let me = std::process::id();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        write_entry(
            dir,
            me,
            &format!(r#"{{"pid":{me},"sessionId":"a","startedAt":{now_ms}}}"#),
        );
        assert_eq!(
            find_live(dir, "a").map(|l| l.pid),
            Some(me),
            "alive, started before the entry"
        );
        write_entry(
            dir,
            me,
            &format!(r#"{{"pid":{me},"sessionId":"b","startedAt":1000}}"#),
        );
        assert_eq!(
            find_live(dir, "b"),
            None,
            "started after the entry was written: a reused pid"
        );
    }

    #[test]
    fn garbage_in_the_registry_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write_entry(dir, 1, "not json");
        fs::write(dir.join("sessions/2.key"), "x").unwrap();
        assert_eq!(find_live(dir, "s"), None);
        assert_eq!(find_live(Path::new("/nonexistent/ccrescue"), "s"), None);
    }
}
