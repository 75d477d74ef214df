//! Owns the isolated world a test runs claude and ccrescue in: a temp HOME with a pre-seeded
//! `~/.claude.json`, project folders with awkward names, the isolation environment of reference §5
//! (nothing but 127.0.0.1 is reachable through it), and helpers that run claude and ccrescue there.

mod run;
mod slug;

pub use run::{describe, run_with_timeout};
pub use slug::slug;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::claude_bin::claude_path;
use crate::mock::MockApi;

/// How claude authenticates to the mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `ANTHROPIC_API_KEY` (sent as `x-api-key`): the API-key wording of errors.
    ApiKey,
    /// `ANTHROPIC_AUTH_TOKEN` holding an unsigned JWT with `"aud":"claude-gateway"` (sent as
    /// `authorization: Bearer`): the subscriber wording ("Usage credits required for 1M context")
    /// on 2.1.328.
    GatewayToken,
}

/// The API key the sandbox gives claude.
pub const API_KEY: &str = "sk-ant-api03-ccrescue-testbench-0000000000000000";

/// Time limit of one claude or ccrescue run.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Variables every child gets besides PATH, HOME, TMPDIR, the base URL and the credential.
pub const ISOLATION_VARS: &[(&str, &str)] = &[
    ("DISABLE_AUTOUPDATER", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1"),
];

/// An unsigned JWT (`alg:none`, empty signature) whose payload has `"aud":"claude-gateway"`.
pub fn gateway_token() -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(json!({"alg":"none","typ":"JWT"}));
    let payload = b64(json!({
        "aud": "claude-gateway", "sub": "ccrescue-testbench", "iss": "ccrescue-testbench",
        "iat": 1_700_000_000u64, "exp": 4_000_000_000u64,
    }));
    format!("{header}.{payload}.")
}

/// A temp directory holding HOME, TMPDIR, a `bin/` with `claude` on PATH, and the projects.
pub struct Sandbox {
    dir: tempfile::TempDir,
    root: PathBuf,
    base_url: String,
    auth: Auth,
}

impl Sandbox {
    /// A sandbox talking to `mock` with API-key auth.
    pub fn new(mock: &MockApi) -> Sandbox {
        Sandbox::with_auth(mock, Auth::ApiKey)
    }

    pub fn with_auth(mock: &MockApi, auth: Auth) -> Sandbox {
        Sandbox::for_url(&mock.url(), auth)
    }

    /// A sandbox for a mock reachable at `base_url` (must be on 127.0.0.1).
    pub fn for_url(base_url: &str, auth: Auth) -> Sandbox {
        default_signals();
        assert!(
            base_url.starts_with("http://127.0.0.1:"),
            "the sandbox only talks to 127.0.0.1, not {base_url}"
        );
        let dir = tempfile::Builder::new()
            .prefix("ccrescue-bench-")
            .tempdir()
            .expect("create the sandbox tempdir");
        let root = dir.path().canonicalize().expect("canonical sandbox root");
        let sb = Sandbox {
            dir,
            root,
            base_url: base_url.to_string(),
            auth,
        };
        for d in [sb.home(), sb.tmp(), sb.bin_dir(), sb.work_dir()] {
            std::fs::create_dir_all(&d).expect("create sandbox folders");
        }
        std::os::unix::fs::symlink(claude_path(), sb.bin_dir().join("claude"))
            .expect("link claude into the sandbox bin");
        let state = json!({
            "hasCompletedOnboarding": true,
            "customApiKeyResponses": {"approved": [&API_KEY[API_KEY.len() - 20..]], "rejected": []},
            "projects": {},
        });
        sb.write_global_state(&state);
        sb.trust(&sb.work_dir());
        sb
    }

    pub fn auth(&self) -> Auth {
        self.auth
    }
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// The sandbox's top folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    /// `$HOME/.claude`.
    pub fn config_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }
    /// `$HOME/.claude.json`.
    pub fn global_state_file(&self) -> PathBuf {
        self.home().join(".claude.json")
    }
    pub fn projects_dir(&self) -> PathBuf {
        self.config_dir().join("projects")
    }
    /// Where claude keeps the sessions of `project`, by the bench's own slug rule.
    pub fn session_dir(&self, project: &Path) -> PathBuf {
        let real = project.canonicalize().expect("project exists");
        self.projects_dir().join(slug(&real))
    }
    pub fn session_file(&self, project: &Path, session_id: &str) -> PathBuf {
        self.session_dir(project)
            .join(format!("{session_id}.jsonl"))
    }
    /// The folder holding the `claude` link that is first on the children's PATH.
    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("bin")
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    fn work_dir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// Creates (if needed) the project folder `work/<name>` and returns its real path.
    /// `name` may hold spaces, dots, underscores and `/` for nesting.
    pub fn project(&self, name: &str) -> PathBuf {
        let dir = self.work_dir().join(name);
        std::fs::create_dir_all(&dir).expect("create the project folder");
        let real = dir.canonicalize().expect("canonical project path");
        self.trust(&real);
        real
    }

    /// A project with an awkward name: `my proj_v1.2`.
    pub fn awkward_project(&self) -> PathBuf {
        self.project("my proj_v1.2")
    }

    /// A project whose real path is longer than 200 characters (so its slug is cut and hashed).
    pub fn long_project(&self) -> PathBuf {
        let mut name = String::from("long");
        while self.work_dir().join(&name).to_string_lossy().len() <= 220 {
            name.push_str("/a rather_long.folder name");
        }
        let p = self.project(&name);
        assert!(p.to_string_lossy().len() > 200);
        p
    }

    /// The environment of every child, in full (children start from an empty environment).
    pub fn env(&self) -> Vec<(String, String)> {
        let inherited = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let path = format!("{}:{inherited}", self.bin_dir().display());
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), self.home().display().to_string()),
            ("TMPDIR".into(), self.tmp().display().to_string()),
            ("ANTHROPIC_BASE_URL".into(), self.base_url.clone()),
        ];
        env.push(match self.auth {
            Auth::ApiKey => ("ANTHROPIC_API_KEY".into(), API_KEY.into()),
            Auth::GatewayToken => ("ANTHROPIC_AUTH_TOKEN".into(), gateway_token()),
        });
        env.extend(
            ISOLATION_VARS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    /// A command for `program` in `cwd` with exactly the sandbox environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(self.env()).current_dir(cwd);
        cmd
    }

    /// `claude ARGS` in `project` (print mode is the caller's `-p`), not yet run.
    pub fn claude_command(&self, project: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(claude_path(), project);
        cmd.args(args);
        cmd
    }

    /// Runs `claude ARGS` in `project` to completion (stdin null, 120 s limit).
    pub fn claude(&self, project: &Path, args: &[&str]) -> Output {
        run_with_timeout(self.claude_command(project, args), RUN_TIMEOUT)
    }

    /// Runs the ccrescue binary (`exe` = `env!("CARGO_BIN_EXE_ccrescue")`) in `project`.
    pub fn ccrescue(&self, exe: &Path, project: &Path, args: &[&str]) -> Output {
        let mut cmd = self.command(exe, project);
        cmd.args(args);
        run_with_timeout(cmd, RUN_TIMEOUT)
    }

    /// The `*.jsonl` session files of `project`, oldest modification first.
    pub fn session_files(&self, project: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(self.session_dir(project)) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|p| (p.metadata().and_then(|m| m.modified()).expect("mtime"), p))
            .collect();
        files.sort();
        files.into_iter().map(|(_, p)| p).collect()
    }

    /// Marks `dir` trusted in `~/.claude.json`, keeping what claude wrote there.
    pub fn trust(&self, dir: &Path) {
        let mut state = self.global_state();
        let key = dir.display().to_string();
        state["projects"][key]["hasTrustDialogAccepted"] = json!(true);
        self.write_global_state(&state);
    }

    /// `~/.claude.json`, parsed.
    pub fn global_state(&self) -> Value {
        let text = std::fs::read_to_string(self.global_state_file()).expect("read ~/.claude.json");
        serde_json::from_str(&text).expect("~/.claude.json is JSON")
    }

    fn write_global_state(&self, state: &Value) {
        let text = serde_json::to_string_pretty(state).expect("serialise");
        std::fs::write(self.global_state_file(), text).expect("write ~/.claude.json");
    }

    /// Keeps the sandbox folder after the test (for debugging); returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

/// Gives SIGINT, SIGTERM and SIGHUP their default action in this test process, so every program a
/// test starts (ccrescue, claude, through a pty or not) gets them as it would from a terminal. A
/// test run started as a background job of a non-interactive shell inherits SIGINT ignored, and
/// an ignored signal stays ignored across exec: ccrescue then rightly leaves it alone (ctrlc
/// refuses to replace it), and every Ctrl-C test would fail for a reason that is not ccrescue's.
fn default_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: setting a disposition to SIG_DFL involves no handler code or pointers.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    });
}
