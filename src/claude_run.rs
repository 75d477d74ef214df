//! Runs one claude step as a child process, never through a shell: headless steps with stdin
//! closed and `--output-format stream-json --verbose` read line by line as they come (status,
//! compaction result, API retries), with a way to stop claude politely (SIGINT, then SIGTERM,
//! then SIGKILL); and the handoff, which gives claude the terminal and returns its exit code.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::interrupt;

/// After SIGINT, how long claude gets to exit before SIGTERM; after SIGTERM, before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);
/// How much of claude's stderr is kept for the report.
const STDERR_KEEP: usize = 16 * 1024;

/// One claude command: the binary, its arguments, extra environment, and the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
}

impl Invocation {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(&self.env)
            // claude refuses to start inside another claude session otherwise.
            .env_remove("CLAUDECODE")
            .current_dir(&self.cwd);
        cmd
    }
}

/// What one stream-json line says, as far as ccrescue cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `{"type":"system","subtype":"status","status":"compacting"}`.
    Status(String),
    /// `compact_result` (`success` or `failed`) with `compact_error` when it failed.
    Compacted {
        success: bool,
        error: Option<String>,
    },
    /// `{"type":"system","subtype":"api_retry","attempt":N,"max_retries":M,"error_status":S}`
    /// (2.1.150 and 2.1.156 retry the long-context 429 ten times, over 3–6 minutes).
    Retry {
        attempt: u64,
        max_retries: Option<u64>,
        status: Option<u64>,
    },
    /// The closing `{"type":"result",…}`.
    Result {
        is_error: bool,
        text: String,
    },
    Other,
}

/// Reads one stream-json line; `None` when it is not JSON (claude may print other text).
pub fn parse_event(line: &str) -> Option<Event> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let kind = v["type"].as_str().unwrap_or_default();
    let subtype = v["subtype"].as_str().unwrap_or_default();
    Some(match (kind, subtype) {
        ("system", _) if v.get("compact_result").is_some() => Event::Compacted {
            success: v["compact_result"] == "success",
            error: v["compact_error"].as_str().map(str::to_owned),
        },
        ("system", "status") => match v["status"].as_str() {
            Some(s) => Event::Status(s.to_owned()),
            None => Event::Other,
        },
        ("system", "api_retry") => Event::Retry {
            attempt: v["attempt"].as_u64().unwrap_or(0),
            max_retries: v["max_retries"].as_u64(),
            status: v["error_status"].as_u64(),
        },
        ("result", _) => Event::Result {
            is_error: v["is_error"].as_bool().unwrap_or(false),
            text: v["result"].as_str().unwrap_or_default().to_owned(),
        },
        _ => Event::Other,
    })
}

/// What the watcher of a headless run wants next.
pub enum Verdict {
    Continue,
    /// Stop claude (politely first); the reason is kept in the outcome.
    Stop(String),
}

/// How a headless run ended.
#[derive(Debug)]
pub struct Headless {
    /// claude's exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub events: Vec<Event>,
    /// Why ccrescue stopped claude, if it did.
    pub stopped: Option<String>,
    /// The end of claude's stderr.
    pub stderr: String,
}

impl Headless {
    /// The compaction result claude reported (the last one: older versions report it twice).
    pub fn compacted(&self) -> Option<(bool, Option<&str>)> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Compacted { success, error } => Some((*success, error.as_deref())),
            _ => None,
        })
    }
}

/// Runs `inv` with stdin closed, stdout read as stream-json and stderr kept, calling `watch` on
/// every event. Ctrl-C meanwhile goes to claude too (same process group); ccrescue waits for it
/// and then returns `Interrupted`.
pub fn run_headless(inv: &Invocation, watch: impl FnMut(&Event) -> Verdict) -> Result<Headless> {
    run_headless_fed(inv, Stdio::null(), watch)
}

/// [`run_headless`] with `stdin` as claude's standard input (`claude -p PROMPT` reads it after
/// the prompt).
pub fn run_headless_fed(
    inv: &Invocation,
    stdin: Stdio,
    mut watch: impl FnMut(&Event) -> Verdict,
) -> Result<Headless> {
    let _defer = interrupt::defer();
    let mut child = inv
        .command()
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", inv.program.display()))?;
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let kept = Arc::new(Mutex::new(Vec::<u8>::new()));
    let into = kept.clone();
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr_pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut all = into.lock().unwrap_or_else(|e| e.into_inner());
            all.extend_from_slice(&buf[..n]);
            let extra = all.len().saturating_sub(STDERR_KEEP);
            all.drain(..extra);
        }
    });
    let mut events = vec![];
    let mut stopped: Option<String> = None;
    let mut stopper: Option<Stopper> = None;
    let mut stream_open = true;
    let status = loop {
        if stream_open {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(event) = parse_event(&line) {
                        if stopped.is_none()
                            && let Verdict::Stop(why) = watch(&event)
                        {
                            stopped = Some(why);
                            stopper = Some(Stopper::start(&child));
                        }
                        events.push(event);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stream_open = false,
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(status) = child.try_wait()? {
            // Drain what claude wrote just before it exited.
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if let Some(event) = parse_event(&line) {
                    events.push(event);
                }
            }
            break status;
        }
        if let Some(s) = &mut stopper {
            s.escalate(&mut child);
        }
    };
    // A grandchild claude started may still hold the pipes open: wait a little, never for it.
    let until = Instant::now() + Duration::from_millis(500);
    while !(reader.is_finished() && stderr_reader.is_finished()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stderr = {
        let all = kept.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&all).into_owned()
    };
    interrupt::check()?;
    Ok(Headless {
        code: status.code(),
        events,
        stopped,
        stderr,
    })
}

/// Stops a child: SIGINT now, SIGTERM after [`GRACE`], SIGKILL after another (duct's and std's
/// `kill` are SIGKILL straight away, which leaves claude no chance to finish its writes).
struct Stopper {
    since: Instant,
    stage: u8,
}

impl Stopper {
    fn start(child: &Child) -> Stopper {
        signal(child, Signal::Interrupt);
        Stopper {
            since: Instant::now(),
            stage: 0,
        }
    }

    fn escalate(&mut self, child: &mut Child) {
        if self.since.elapsed() < GRACE {
            return;
        }
        match self.stage {
            0 => signal(child, Signal::Terminate),
            1 => {
                let _ = child.kill();
            }
            _ => return,
        }
        self.stage += 1;
        self.since = Instant::now();
    }
}

enum Signal {
    Interrupt,
    Terminate,
}

#[cfg(unix)]
fn signal(child: &Child, which: Signal) {
    let sig = match which {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
    };
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects; the child is not yet reaped (we own its Child),
        // so the pid cannot have been reused.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

#[cfg(not(unix))]
fn signal(_child: &Child, _which: Signal) {
    // No SIGINT/SIGTERM for another process on Windows: the escalation ends in `kill` after the
    // grace periods.
}

/// Gives the terminal to claude (stdio inherited) and returns its exit code once it quits.
/// Ctrl-C inside claude is claude's; ccrescue only waits.
pub fn hand_over(inv: &Invocation) -> Result<i32> {
    let _defer = interrupt::defer();
    let status: ExitStatus = inv
        .command()
        .status()
        .with_context(|| format!("cannot start {}", inv.program.display()))?;
    Ok(exit_code(status))
}

fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_json_lines() {
        assert_eq!(
            parse_event(r#"{"type":"system","subtype":"status","status":"compacting"}"#),
            Some(Event::Status("compacting".into()))
        );
        assert_eq!(
            parse_event(
                r#"{"type":"system","subtype":"status","status":null,"compact_result":"failed","compact_error":"Error during compaction: x"}"#
            ),
            Some(Event::Compacted {
                success: false,
                error: Some("Error during compaction: x".into())
            })
        );
        assert_eq!(
            parse_event(
                r#"{"type":"system","subtype":"status","status":null,"compact_result":"success"}"#
            ),
            Some(Event::Compacted {
                success: true,
                error: None
            })
        );
        assert_eq!(
            parse_event(
                r#"{"type":"system","subtype":"api_retry","attempt":3,"max_retries":10,"retry_delay_ms":2000,"error_status":429}"#
            ),
            Some(Event::Retry {
                attempt: 3,
                max_retries: Some(10),
                status: Some(429)
            })
        );
        assert_eq!(
            parse_event(r#"{"type":"result","is_error":false,"result":""}"#),
            Some(Event::Result {
                is_error: false,
                text: String::new()
            })
        );
        assert_eq!(parse_event("not json"), None);
        assert_eq!(
            parse_event(r#"{"type":"system","subtype":"init"}"#),
            Some(Event::Other)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_child_that_ignores_sigint_is_stopped_in_the_end() {
        // A stand-in for claude (the real one cannot be made to ignore SIGINT here): a shell that
        // prints one event, ignores SIGINT, and sleeps. ccrescue must escalate to SIGTERM.
        let inv = Invocation {
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                r#"trap '' INT; echo '{"type":"system","subtype":"status","status":"compacting"}'; sleep 30"#
                    .into(),
            ],
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
        };
        let started = Instant::now();
        let out = run_headless(&inv, |_| Verdict::Stop("test".into())).unwrap();
        assert_eq!(out.stopped.as_deref(), Some("test"));
        assert_eq!(out.code, None, "ended by a signal");
        let took = started.elapsed();
        assert!(took >= GRACE && took < GRACE * 3, "{took:?}");
        assert_eq!(out.events, vec![Event::Status("compacting".into())]);
    }
}
