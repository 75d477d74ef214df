//! The claude binary: where it is, which version it is, which flags it has, and the environment
//! every claude child process gets (never through a shell).
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
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
    pub fn command<I, S>(&self, claude: &Path, args: I) -> duct::Expression
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut cmd = duct::cmd(claude, args).env_remove("CLAUDECODE");
        if let Some(dir) = &self.config_dir {
            cmd = cmd.env("CLAUDE_CONFIG_DIR", dir);
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

/// Runs a short query with stdin closed, stdout captured and a deadline; returns stdout.
fn capture(cmd: duct::Expression, timeout: Duration) -> Result<String> {
    let handle = cmd
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .start()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(out) = handle.try_wait()? {
            if !out.status.success() {
                bail!(
                    "exited with {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        if Instant::now() >= deadline {
            let _ = handle.kill();
            bail!("no answer within {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
}
