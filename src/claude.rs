//! The claude binary: where it is, which version it is, which flags it has, and the environment
//! every claude child process gets (never through a shell).
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// How long `claude --version` / `--help` may take before ccrescue gives up on them.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// A claude release number, as `claude --version` prints it (`2.1.328 (Claude Code)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses the first `X.Y.Z` of a `--version` line.
    pub fn parse(text: &str) -> Option<Version> {
        let word = text.split_whitespace().next()?;
        let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Where to look for claude, and what to hand it.
#[derive(Debug, Clone)]
pub struct ClaudeEnv {
    /// `--config-dir`, passed on to claude as `CLAUDE_CONFIG_DIR`.
    pub config_dir: Option<PathBuf>,
}

impl ClaudeEnv {
    /// A command for `claude` with `args`: no shell, `CLAUDECODE` removed (claude refuses to start
    /// inside another claude session otherwise), `CLAUDE_CONFIG_DIR` set when ccrescue was given one.
    pub fn command<I, S>(&self, claude: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(claude);
        cmd.args(args).env_remove("CLAUDECODE");
        if let Some(dir) = &self.config_dir {
            cmd.env("CLAUDE_CONFIG_DIR", dir);
        }
        cmd
    }
}

/// The claude binary: `--claude`, else `$CCRESCUE_CLAUDE`, else `claude` on PATH.
/// `Err` carries a sentence saying where ccrescue looked.
pub fn locate(flag: Option<&Path>, env_value: Option<&OsStr>) -> Result<PathBuf, String> {
    let (given, from) = match (flag, env_value.filter(|v| !v.is_empty())) {
        (Some(p), _) => (p.to_owned(), "--claude"),
        (None, Some(v)) => (PathBuf::from(v), "$CCRESCUE_CLAUDE"),
        (None, None) => {
            return which::which("claude").map_err(|_| {
                "claude is not on PATH (install Claude Code, or pass --claude PATH)".to_owned()
            });
        }
    };
    match which::which(&given) {
        Ok(path) => Ok(path),
        Err(_) => Err(format!(
            "{} ({from}) is not an executable file",
            given.display()
        )),
    }
}

/// The flags ccrescue's steps rely on, reported as capabilities of the installed claude.
pub const KNOWN_FLAGS: [&str; 7] = [
    "--resume",
    "--continue",
    "--model",
    "--output-format",
    "--fork-session",
    "--session-id",
    "--autocompact",
];

/// What ccrescue found out about the claude binary.
pub struct ClaudeInfo {
    /// The binary, or where ccrescue looked.
    pub path: Result<PathBuf, String>,
    /// `--version`, or why it could not be read.
    pub version: Result<Version, String>,
    /// Which of [`KNOWN_FLAGS`] `--help` lists; only when asked for (it takes ~150 ms).
    pub capabilities: Option<BTreeMap<&'static str, bool>>,
}

/// Finds the version (and, with `with_flags`, the capabilities) of the located claude.
pub fn inspect(env: &ClaudeEnv, path: Result<PathBuf, String>, with_flags: bool) -> ClaudeInfo {
    let version = match &path {
        Ok(p) => version(env, p).map_err(|e| format!("{e:#}")),
        Err(why) => Err(why.clone()),
    };
    let capabilities = match (&path, with_flags) {
        (Ok(p), true) => flags(env, p).ok().map(|have| {
            KNOWN_FLAGS
                .iter()
                .map(|f| (*f, have.contains(*f)))
                .collect()
        }),
        _ => None,
    };
    ClaudeInfo {
        path,
        version,
        capabilities,
    }
}

/// `claude --version`.
pub fn version(env: &ClaudeEnv, claude: &Path) -> Result<Version> {
    let out = capture(env.command(claude, ["--version"]), QUERY_TIMEOUT)
        .with_context(|| format!("running {} --version", claude.display()))?;
    Version::parse(&out).with_context(|| {
        format!(
            "{} --version printed {:?}, not a version",
            claude.display(),
            out.trim()
        )
    })
}

/// The long flags `claude --help` lists (e.g. `--autocompact` exists only from 2.1.328).
pub fn flags(env: &ClaudeEnv, claude: &Path) -> Result<BTreeSet<String>> {
    let out = capture(env.command(claude, ["--help"]), QUERY_TIMEOUT)
        .with_context(|| format!("running {} --help", claude.display()))?;
    Ok(parse_flags(&out))
}

/// The `--long-flag` names at the start of option lines of a commander-style help text.
pub fn parse_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        // The option spec ends where the description starts, after a run of spaces.
        .map(|l| l.split("  ").next().unwrap_or_default())
        .flat_map(|spec| spec.split([' ', ',']))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect()
}

/// How long a query's output may still trickle in after claude exited: a wrapper may leave a
/// background process holding the pipe open for good (issue 17 point 11).
const AFTER_EXIT: Duration = Duration::from_millis(300);
/// The most of a query's stdout or stderr that is kept.
const QUERY_KEEP: usize = 1 << 20;

/// Runs a short query with stdin closed, stdout captured and a deadline; returns stdout. It ends
/// when claude exits, not when the pipe closes; on the deadline claude's process group is killed.
fn capture(mut cmd: Command, timeout: Duration) -> Result<String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn()?;
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let into = kept.clone();
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let mut all = into.lock().unwrap_or_else(|e| e.into_inner());
                let room = QUERY_KEEP.saturating_sub(all.len());
                all.extend_from_slice(&buf[..n.min(room)]);
            }
        });
        (kept, reader)
    };
    let (stdout, out_reader) = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let (stderr, err_reader) = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            #[cfg(unix)]
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill(2) on the group our unreaped child leads; no memory effects.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            bail!("no answer within {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let until = Instant::now() + AFTER_EXIT;
    while !(out_reader.is_finished() && err_reader.is_finished()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let text = |kept: &Arc<Mutex<Vec<u8>>>| {
        String::from_utf8_lossy(&kept.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    };
    if !status.success() {
        bail!("exited with {}: {}", status, text(&stderr).trim());
    }
    Ok(text(&stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(
            Version::parse("2.1.328 (Claude Code)\n"),
            Some(Version(2, 1, 328))
        );
        assert_eq!(Version::parse("1.0.0"), Some(Version(1, 0, 0)));
        assert_eq!(Version::parse("v2.1"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("2.1.3.4"), None);
        assert!(Version(2, 1, 172) > Version(2, 1, 156));
        assert_eq!(Version(2, 1, 50).to_string(), "2.1.50");
    }

    #[test]
    fn flags_come_from_option_lines_only() {
        let help = "Usage: claude [options]\n\nOptions:\n  -c, --continue   Continue the most recent\n  --autocompact <auto|tokens>  Auto-compact (see --model)\n  --allowedTools, --allowed-tools <tools...>\n      Comma list; not --a-flag-here\n";
        let f = parse_flags(help);
        for want in [
            "--continue",
            "--autocompact",
            "--allowedTools",
            "--allowed-tools",
        ] {
            assert!(f.contains(want), "{want} in {f:?}");
        }
        assert!(
            !f.contains("--a-flag-here"),
            "flags named in descriptions are not options: {f:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_version_is_read_when_claude_exits_even_if_something_it_left_holds_the_pipe() {
        // A stand-in for a wrapper script around claude that leaves a background process holding
        // stdout (the real claude cannot be made to do so): ccrescue waited for the pipe to close
        // and gave up after 20 s (issue 17 point 11).
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("claude");
        let pid_file = dir.path().join("background.pid");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 120 &\necho $! > {}\necho '2.1.328 (Claude Code)'\n",
                pid_file.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = ClaudeEnv { config_dir: None };
        let got = version(&env, &script);
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        assert_eq!(got.unwrap(), Version(2, 1, 328));
    }
}
