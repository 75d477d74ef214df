//! Runs one claude step as a child process, never through a shell: headless steps with stdin
//! closed and `--output-format stream-json --verbose` read line by line as they come (status,
//! compaction result, API retries), in a process group of their own, stopped politely (SIGINT,
//! then SIGTERM, then SIGKILL, to the whole group) when the watcher says so, when ccrescue is
//! told to stop, or when claude stays silent too long; and the handoff, which gives claude the
//! terminal and returns its exit code.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::interrupt;

mod group;
pub(crate) mod lines;

pub use group::GRACE;
use group::{Stopper, group_alive, own_group};

/// How much of claude's stderr is kept for the report.
const STDERR_KEEP: usize = 16 * 1024;
/// How long a headless claude may print nothing (on stdout or stderr) before ccrescue stops it:
/// generous, as one API request with retries can take minutes (issue 17 point 7).
pub const IDLE_LIMIT: Duration = Duration::from_secs(10 * 60);
/// Overrides [`IDLE_LIMIT`], in seconds.
pub const IDLE_ENV: &str = "CCRESCUE_CLAUDE_IDLE_SECS";

fn idle_limit() -> Duration {
    std::env::var(IDLE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(IDLE_LIMIT, Duration::from_secs)
}

/// What the readers of a headless claude pass on.
enum Output {
    Line(String),
    /// Something arrived on stderr (kept separately).
    Stderr,
}

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
/// every event. claude runs in a process group of its own: when ccrescue is told to stop (Ctrl-C,
/// SIGTERM, SIGHUP) it stops claude's group politely, waits for it, and returns `Interrupted`;
/// after [`idle_limit`] without a word from claude it stops it the same way, saying why.
pub fn run_headless(inv: &Invocation, watch: impl FnMut(&Event) -> Verdict) -> Result<Headless> {
    run_headless_within(inv, Stdio::null(), watch, idle_limit())
}

/// [`run_headless`] with `stdin` as claude's standard input (`claude -p PROMPT` reads it after
/// the prompt).
pub fn run_headless_fed(
    inv: &Invocation,
    stdin: Stdio,
    watch: impl FnMut(&Event) -> Verdict,
) -> Result<Headless> {
    run_headless_within(inv, stdin, watch, idle_limit())
}

fn run_headless_within(
    inv: &Invocation,
    stdin: Stdio,
    mut watch: impl FnMut(&Event) -> Verdict,
    idle: Duration,
) -> Result<Headless> {
    let _defer = interrupt::defer();
    let mut child = own_group(
        inv.command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .with_context(|| format!("cannot start {}", inv.program.display()))?;
    let (tx, rx) = mpsc::channel::<Output>();
    let stdout = child.stdout.take().expect("stdout is piped");
    let to_main = tx.clone();
    let reader = std::thread::spawn(move || {
        lines::for_each_line(stdout, lines::MAX_LINE, |line| {
            to_main.send(Output::Line(line)).is_ok()
        });
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
            drop(all);
            if tx.send(Output::Stderr).is_err() {
                break;
            }
        }
    });
    let mut heard = Instant::now();
    let mut events = vec![];
    let mut stopped: Option<String> = None;
    let mut stopper: Option<Stopper> = None;
    let mut stream_open = true;
    let status = loop {
        if stream_open {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Output::Line(line)) => {
                    heard = Instant::now();
                    if let Some(event) = parse_event(&line) {
                        if stopped.is_none()
                            && let Verdict::Stop(why) = watch(&event)
                        {
                            stopped = Some(why);
                            stopper = Some(Stopper::start(&child));
                        }
                        events.push(event);
                    }
                }
                Ok(Output::Stderr) => heard = Instant::now(),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stream_open = false,
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        if stopper.is_none() {
            if interrupt::interrupted() {
                stopped = Some("ccrescue was told to stop".into());
                stopper = Some(Stopper::start(&child));
            } else if heard.elapsed() >= idle {
                stopped = Some(format!(
                    "claude printed nothing for {}, so ccrescue stopped it (set {IDLE_ENV}=SECONDS to wait longer)",
                    humantime::format_duration(idle)
                ));
                stopper = Some(Stopper::start(&child));
            }
        }
        if let Some(status) = child.try_wait()? {
            // When ccrescue stops claude, nothing it started may outlive the stop (a wrapper's
            // claude would go on writing the session).
            if stopper
                .as_ref()
                .is_none_or(|s| s.gave_up() || !group_alive(&child))
            {
                // Drain what claude wrote just before it exited (not what something it left
                // behind keeps writing).
                let until = Instant::now() + Duration::from_secs(1);
                while let Some(out) = Instant::now()
                    .lt(&until)
                    .then(|| rx.recv_timeout(Duration::from_millis(200)).ok())
                    .flatten()
                {
                    if let Output::Line(line) = out
                        && let Some(event) = parse_event(&line)
                    {
                        events.push(event);
                    }
                }
                break status;
            }
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

/// Gives the terminal to claude (stdio inherited) and returns its exit code once it quits.
/// Ctrl-C inside claude is claude's; ccrescue only waits. claude stays in ccrescue's process
/// group here: it must be the terminal's foreground to read keys.
pub fn hand_over(inv: &Invocation) -> Result<i32> {
    let _defer = interrupt::defer();
    let passing_on = interrupt::pass_on();
    let mut child = inv
        .command()
        .spawn()
        .with_context(|| format!("cannot start {}", inv.program.display()))?;
    passing_on.to(child.id());
    wait_unreaped(&child);
    drop(passing_on); // before the pid is freed for another process
    let status: ExitStatus = child.wait().context("cannot wait for claude")?;
    if interrupt::terminated() {
        // SIGTERM or SIGHUP came for ccrescue: claude got it and has ended; so does ccrescue.
        return Err(interrupt::Interrupted.into());
    }
    Ok(exit_code(status))
}

/// Waits until `child` has ended, without reaping it (its pid stays its own until `wait`).
fn wait_unreaped(child: &std::process::Child) {
    #[cfg(unix)]
    loop {
        // SAFETY: waitid only writes the zeroed `siginfo_t` we own; WNOWAIT leaves the child
        // to be reaped by `Child::wait`.
        let done = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                child.id(),
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if done == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break; // ended (or not ours to wait for: `wait` then says why)
        }
    }
    #[cfg(not(unix))]
    let _ = child;
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
mod tests;
