//! What every command starts from: the global flags resolved against the environment into the
//! config root, the project and its session folder, the claude binary, and whether a person is
//! at a terminal. All reads of the process environment happen here.
use std::env;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;

use crate::claude::{self, ClaudeEnv};
use crate::cli::GlobalArgs;
use crate::error::refused;
use crate::paths;
use crate::settings;

pub struct Ctx {
    pub args: GlobalArgs,
    /// The config root (`--config-dir`, `$CLAUDE_CONFIG_DIR`, `~/.claude`).
    pub root: PathBuf,
    /// The project folder, absolute.
    pub project: PathBuf,
    /// `<root>/projects/<slug of project>`.
    pub sessions_dir: PathBuf,
    /// The claude binary, or why it was not found.
    pub claude: Result<PathBuf, String>,
    pub claude_env: ClaudeEnv,
    /// stdin and stderr are both terminals: prompts are possible.
    pub interactive: bool,
    /// The process variables that choose claude's model (for the settings check).
    pub model_env: Vec<(String, OsString)>,
    /// `$SHELL`, to print lines for the user's shell.
    pub shell: Option<OsString>,
}

impl Ctx {
    pub fn new(args: GlobalArgs) -> Result<Ctx> {
        let env_root = env::var_os("CLAUDE_CONFIG_DIR");
        let root = paths::config_root(args.config_dir.as_deref(), env_root.as_deref())?;
        let project = match &args.project {
            Some(dir) => paths::normalize(dir)?,
            None => env::current_dir()?,
        };
        if !project.is_dir() {
            return Err(refused(
                format!("the project folder {} does not exist", project.display()),
                Some("pass -C with the folder you ran claude in".into()),
            ));
        }
        // claude honours CLAUDE_CODE_PROJECT_DIR_NAME only together with an explicit config dir.
        let explicit_root = args.config_dir.is_some() || env_root.is_some();
        let dir_name = env::var_os("CLAUDE_CODE_PROJECT_DIR_NAME").filter(|_| explicit_root);
        let sessions_dir = paths::project_sessions_dir(&root, &project, dir_name.as_deref())?;
        let claude = claude::locate(
            args.claude.as_deref(),
            env::var_os("CCRESCUE_CLAUDE").as_deref(),
        );
        let claude_env = ClaudeEnv {
            config_dir: args.config_dir.as_ref().map(|_| root.clone()),
        };
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let model_env = settings::MODEL_VARS
            .iter()
            .chain(settings::KNOB_VARS.iter())
            .filter_map(|name| env::var_os(name).map(|v| ((*name).to_owned(), v)))
            .collect();
        Ok(Ctx {
            args,
            root,
            project,
            sessions_dir,
            claude,
            claude_env,
            interactive,
            model_env,
            shell: env::var_os("SHELL"),
        })
    }

    /// The way to name claude in commands shown to the user: `claude` when it came from PATH.
    pub fn claude_display(&self) -> String {
        match (
            &self.claude,
            &self.args.claude,
            env::var_os("CCRESCUE_CLAUDE"),
        ) {
            (Ok(path), Some(_), _) | (Ok(path), None, Some(_)) => path.display().to_string(),
            _ => "claude".to_owned(),
        }
    }
}
