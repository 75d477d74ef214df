//! The command line: clap definitions only, no behaviour.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
  0    done: the session was recovered or there was nothing to do (read-only commands: ran)
  1    the operation failed or the session was not recovered
  2    usage error or refused (bad flag, unknown session id, live session, no terminal without --yes)
  130  interrupted
  After the wizard hands the terminal to claude, ccrescue exits with claude's own code.

Where things are looked up:
  config root  --config-dir, else $CLAUDE_CONFIG_DIR, else ~/.claude
  project      -C/--project, else the current directory
  session      --session, else the newest session of the project (the stuck one, if a newer
               session without the error hides it)
  claude       --claude, else $CCRESCUE_CLAUDE, else `claude` on PATH

A claude step that prints nothing for 10 minutes is stopped (SIGINT, then SIGTERM, to it and
everything it started); $CCRESCUE_CLAUDE_IDLE_SECS sets another limit, in seconds.";

/// Gets Claude Code unstuck from "API Error: Usage credits required for 1M context".
///
/// Without a subcommand, ccrescue is the rescue wizard: it looks at the project's stuck session,
/// asks which symptom you see, then compacts the session in a small standard-context model (a
/// backup first), trims images if that fails, and hands you back to claude in Sonnet. Every step
/// prints the exact claude command it runs. `ccrescue diagnose` only looks.
#[derive(Debug, Parser)]
#[command(name = "ccrescue", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub wizard: WizardArgs,
}

/// Flags of the wizard (bare `ccrescue`).
#[derive(Debug, Args, Clone)]
pub struct WizardArgs {
    /// The standard-context model to compact with (an explicit 200K id).
    #[arg(long, value_name = "MODEL", default_value = crate::ladder::COMPACT_MODEL)]
    pub compact_model: String,
    /// The standard-context model to return to after the rescue.
    #[arg(long, value_name = "MODEL", default_value = crate::ladder::RETURN_MODEL)]
    pub model: String,
    /// Allow the last resort, starting afresh without the conversation (`/clear`), under --yes.
    #[arg(long)]
    pub allow_clear: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look at a session and say what is wrong and what to run next (changes nothing).
    #[command(after_help = AFTER_HELP)]
    Diagnose,
    /// List the project's sessions, newest first, with size, context tokens and last error.
    #[command(after_help = AFTER_HELP)]
    Sessions(SessionsArgs),
    /// Take base64 images and documents out of a session file (after a backup) so it fits again.
    ///
    /// Replaces each image or document block in the records after the last compaction with a
    /// short text naming the backup that keeps the original. Never deletes a line. Shows what it
    /// will change and asks first (--yes: no question; --dry-run: only show).
    #[command(after_help = AFTER_HELP)]
    Trim(TrimArgs),
    /// List a session's backups, put one back (backing up the current state first), or prune old ones.
    #[command(after_help = AFTER_HELP)]
    Restore(RestoreArgs),
    /// Show every settings layer claude reads a model from and which one wins; --fix changes
    /// `[1m]` model ids in settings files to standard-context ids (asks first; backup kept).
    #[command(after_help = AFTER_HELP)]
    Settings(SettingsArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    ///
    /// bash: `ccrescue completions bash > ~/.local/share/bash-completion/completions/ccrescue`;
    /// zsh: `ccrescue completions zsh > ~/.zfunc/_ccrescue` (with ~/.zfunc in $fpath);
    /// fish: `ccrescue completions fish > ~/.config/fish/completions/ccrescue.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `ccrescue man > ~/.local/share/man/man1/ccrescue.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Change each `[1m]` model id in a writable settings file to a standard-context id, in
    /// place (every other byte kept); asks per file unless --yes; --dry-run shows the changes.
    #[arg(long)]
    pub fix: bool,
}

/// The largest `restore --prune DAYS` (issue 17: a huge DAYS once wrapped round to minutes).
pub const MAX_PRUNE_DAYS: u64 = 36_500;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// List the session's backups, newest first; change nothing.
    #[arg(long, conflicts_with_all = ["backup", "prune"])]
    pub list: bool,
    /// The backup to put back: a <session>.jsonl.bak[.N] file of this session (it names the
    /// session, so --session is not needed) [default: ask; with --yes the newest].
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    /// Delete the session's backups made more than DAYS days ago (asks first; --yes confirms).
    /// DAYS is 0 to 36500 (a hundred years).
    #[arg(long, value_name = "DAYS", conflicts_with = "backup",
          value_parser = clap::value_parser!(u64).range(..=MAX_PRUNE_DAYS))]
    pub prune: Option<u64>,
    /// Restore even though a live claude is attached to the session.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// List the sessions of every project under the config root, not just this one.
    #[arg(long)]
    pub all_projects: bool,
}

#[derive(Debug, Args)]
pub struct TrimArgs {
    /// Look at every record, not only those after the last compaction.
    #[arg(long)]
    pub all: bool,
    /// Also shorten text tool outputs larger than SIZE (bytes; K and M suffixes), keeping their
    /// head and tail.
    #[arg(long, value_name = "SIZE", value_parser = crate::format::parse_size)]
    pub tool_output_over: Option<u64>,
    /// Replace only as much as needed to get the estimated context under N tokens: images and
    /// documents first, then long text tool outputs, the largest first.
    #[arg(long, value_name = "N")]
    pub target_tokens: Option<u64>,
    /// Trim even though a running claude is attached to the session (that claude keeps sending
    /// the removed blocks until it is restarted).
    #[arg(long)]
    pub force: bool,
}

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The project folder whose sessions to look at [default: the current directory].
    #[arg(short = 'C', long = "project", value_name = "DIR", global = true)]
    pub project: Option<PathBuf>,
    /// Claude's config root [default: $CLAUDE_CONFIG_DIR, else ~/.claude]; passed on to claude.
    #[arg(long, value_name = "DIR", global = true)]
    pub config_dir: Option<PathBuf>,
    /// The claude binary to use [default: $CCRESCUE_CLAUDE, else `claude` on PATH].
    #[arg(long, value_name = "PATH", global = true)]
    pub claude: Option<PathBuf>,
    /// The session: its id (a UUID) or the path of its .jsonl file [default: the newest].
    #[arg(long, value_name = "ID|PATH", global = true)]
    pub session: Option<String>,
    /// Answer every prompt with its default (needed when there is no terminal).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Show what would be done; change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Print one JSON document on stdout instead of the report.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors and the final line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (every finding, timings).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}
