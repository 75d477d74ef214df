//! The command line: clap definitions only; `resolve` turns them into the one set of flags
//! every command reads.
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
    pub global: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub wizard: WizardArgs,
    /// The wizard's session, claude, --yes and --dry-run (also accepted before a subcommand that
    /// takes them: `ccrescue --session ID trim`).
    #[command(flatten)]
    pub session: SessionArg,
    #[command(flatten)]
    pub claude: ClaudeArg,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    /// Only before a subcommand that prints JSON (`ccrescue --json diagnose`).
    #[arg(long, hide = true)]
    pub json: bool,
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
    /// When the compaction is still refused for size once the images are out, shorten text tool
    /// outputs larger than SIZE (bytes; K and M suffixes) to their head and tail.
    #[arg(long, value_name = "SIZE", value_parser = crate::format::parse_size, default_value_t = crate::trim::DEFAULT_TOOL_OUTPUT_KEEP)]
    pub tool_output_over: u64,
    /// Allow the last resort, starting afresh without the conversation (`/clear`), under --yes.
    #[arg(long)]
    pub allow_clear: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look at a session and say what is wrong and what to run next (changes nothing).
    #[command(after_help = AFTER_HELP)]
    Diagnose(DiagnoseArgs),
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
    /// Compact a session too long for the small model in pieces: summarise it part by part
    /// with claude, then append the compaction as claude writes it (after a backup).
    ///
    /// The conversation after the last compaction is cut into parts that each fit the
    /// standard-context model (a tool call never apart from its result); each part is summarised
    /// by `claude -p` in a scratch folder outside the project, with the previous part's summary
    /// as context; the most recent turns (--keep-recent) stay verbatim after the summary.
    /// --dry-run shows the parts and the exact claude commands. Ctrl-C changes nothing.
    #[command(after_help = AFTER_HELP)]
    Compact(CompactArgs),
    /// List a session's backups, put one back (backing up the current state first), or prune old ones.
    #[command(after_help = AFTER_HELP)]
    Restore(RestoreArgs),
    /// Show every settings layer claude reads a model from and which one wins; --fix changes
    /// `[1m]` model ids in settings files to standard-context ids (asks first; backup kept).
    #[command(after_help = AFTER_HELP)]
    Settings(SettingsArgs),
    /// Keep sessions from reaching the 1M error: hooks that warn before the 200K window and
    /// refuse prompts past it, and a compaction window so claude compacts itself in time.
    ///
    /// `ccrescue guard install` (asks first; backup kept), `ccrescue guard uninstall` (removes
    /// exactly what install added), `ccrescue guard` (where it is installed and with what).
    #[command(after_help = GUARD_HELP)]
    Guard(GuardArgs),
    /// What claude runs for the guard's hooks (reads the hook JSON on stdin); not for people.
    #[command(hide = true)]
    Hook(HookArgs),
    /// A context gauge for claude's statusLine: tokens against the 200K window (reads claude's
    /// status JSON on stdin, prints one line). Use it as yours or call it from your own script.
    Statusline(StatuslineArgs),
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

const GUARD_HELP: &str = "\
A refused prompt says why; run /compact, then send it again. To send it anyway, send the same
prompt again within 10 minutes, or start claude with CCRESCUE_GUARD=off. Slash commands always pass.
If ccrescue itself fails (or is deleted), claude goes on as if there were no guard.";

#[derive(Debug, Args)]
pub struct GuardArgs {
    #[command(subcommand)]
    pub verb: Option<GuardVerb>,
    #[command(flatten)]
    pub claude: ClaudeArg,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum GuardVerb {
    /// Add the guard to a settings file: the compaction window, the hooks, optionally the status
    /// line. Shows the change and asks first (--yes: no question; --dry-run: only show).
    Install(InstallArgs),
    /// Remove what `guard install` added (recognised by its `ccrescue hook` commands); the file
    /// is left as it was before the install when nothing else changed.
    Uninstall(UninstallArgs),
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Which settings file.
    #[arg(long, value_enum, default_value = "user")]
    pub scope: GuardScope,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Which settings file: user (~/.claude/settings.json), project (.claude/settings.json) or
    /// local (.claude/settings.local.json).
    #[arg(long, value_enum, default_value = "user")]
    pub scope: GuardScope,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub json: JsonArg,
    /// Show a one-time warning per session past this many context tokens.
    #[arg(long, value_name = "TOKENS", default_value_t = 150_000)]
    pub warn_at: u64,
    /// Refuse prompts (not slash commands) past this many context tokens.
    #[arg(long, value_name = "TOKENS", default_value_t = 185_000)]
    pub block_at: u64,
    /// Make claude compact itself past this many tokens, even on a 1M model (kept when the file
    /// already sets a window).
    #[arg(long, value_name = "TOKENS", default_value_t = 160_000)]
    pub compact_window: u64,
    /// Also set ccrescue's context gauge as claude's statusLine (never over one you have).
    #[arg(long)]
    pub statusline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuardScope {
    User,
    Project,
    Local,
}

#[derive(Debug, Args, Clone)]
pub struct HookArgs {
    /// The hook event (claude also says it in the input's `hook_event_name`).
    pub event: String,
    #[arg(long, value_name = "TOKENS", default_value_t = 150_000)]
    pub warn_at: u64,
    #[arg(long, value_name = "TOKENS", default_value_t = 185_000)]
    pub block_at: u64,
    /// The compaction window guard install set (it names what uninstall removes).
    #[arg(long, value_name = "TOKENS")]
    pub compact_window: Option<u64>,
    /// The containers guard install created (they go again with uninstall); unused by the hook.
    #[arg(long, value_name = "LIST")]
    pub made: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatuslineArgs {
    /// Show the gauge in yellow past this many tokens (red past 200K).
    #[arg(long, value_name = "TOKENS", default_value_t = 150_000)]
    pub warn_at: u64,
    /// Marks the status line `guard install` sets, so that `guard uninstall` removes that one
    /// and never a `ccrescue statusline` of the user's own; changes nothing.
    #[arg(long, hide = true)]
    pub guard: bool,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub session: SessionArg,
    #[command(flatten)]
    pub claude: ClaudeArg,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    /// Keep about this many tokens of the most recent conversation verbatim after the summary.
    #[arg(long, value_name = "TOKENS", default_value_t = crate::pieces::KEEP_RECENT_TOKENS)]
    pub keep_recent: u64,
    /// The standard-context model that writes the summaries (an explicit 200K id).
    #[arg(long, value_name = "MODEL", default_value = crate::ladder::COMPACT_MODEL)]
    pub model: String,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub session: SessionArg,
    #[command(flatten)]
    pub claude: ClaudeArg,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    pub claude: ClaudeArg,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub json: JsonArg,
    /// Change each `[1m]` model id in a writable settings file to a standard-context id, in
    /// place (every other byte kept); asks per file unless --yes; --dry-run shows the changes.
    #[arg(long)]
    pub fix: bool,
}

/// The largest `restore --prune DAYS` (issue 17: a huge DAYS once wrapped round to minutes).
pub const MAX_PRUNE_DAYS: u64 = 36_500;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub session: SessionArg,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub json: JsonArg,
    /// List the session's backups, newest first; change nothing.
    #[arg(long, conflicts_with_all = ["backup", "prune"])]
    pub list: bool,
    /// The backup to put back: a <session>.jsonl.bak[.N] file of this session (it names the
    /// session, so --session is not needed) [default: ask, preselecting the state before
    /// ccrescue's latest change still in effect; --yes takes that one, if any].
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
    #[command(flatten)]
    pub json: JsonArg,
    /// List the sessions of every project under the config root, not just this one.
    #[arg(long)]
    pub all_projects: bool,
}

#[derive(Debug, Args)]
pub struct TrimArgs {
    #[command(flatten)]
    pub session: SessionArg,
    #[command(flatten)]
    pub yes: YesArg,
    #[command(flatten)]
    pub dry_run: DryRunArg,
    #[command(flatten)]
    pub json: JsonArg,
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

/// Flags every command accepts (also after the subcommand's name).
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The project folder whose sessions to look at [default: the current directory].
    #[arg(short = 'C', long = "project", value_name = "DIR", global = true)]
    pub project: Option<PathBuf>,
    /// Claude's config root [default: $CLAUDE_CONFIG_DIR, else ~/.claude]; passed on to claude.
    #[arg(long, value_name = "DIR", global = true)]
    pub config_dir: Option<PathBuf>,
    /// Print only errors, warnings and the final line (the wizard: with --yes or without a
    /// terminal; at a terminal its questions need what comes before them).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (every finding, timings).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// `--session`, for the commands that work on one session.
#[derive(Debug, Args, Default)]
pub struct SessionArg {
    /// The session: its id (a UUID) or the path of its .jsonl file [default: the newest].
    #[arg(long, value_name = "ID|PATH")]
    pub session: Option<String>,
}

/// `--claude`, for the commands that run or ask claude.
#[derive(Debug, Args, Default)]
pub struct ClaudeArg {
    /// The claude binary to use [default: $CCRESCUE_CLAUDE, else `claude` on PATH].
    #[arg(long, value_name = "PATH")]
    pub claude: Option<PathBuf>,
}

/// `--yes`, for the commands that ask before changing something.
#[derive(Debug, Args, Default)]
pub struct YesArg {
    /// Answer every prompt with its default (needed when there is no terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `--dry-run`, for the commands that change something.
#[derive(Debug, Args, Default)]
pub struct DryRunArg {
    /// Show what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--json`, for the commands that print a report.
#[derive(Debug, Args, Default)]
pub struct JsonArg {
    /// Print one JSON document on stdout instead of the report.
    #[arg(long)]
    pub json: bool,
}

mod resolve;
pub use resolve::GlobalArgs;
