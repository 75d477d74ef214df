//! From the parsed command line to the one set of flags every command reads ([`GlobalArgs`]),
//! refusing a shared flag given before a subcommand it means nothing for.
use std::path::PathBuf;

use super::{
    ClaudeArg, Cli, Command, DryRunArg, GuardVerb, JsonArg, RestoreArgs, SessionArg, TrimArgs,
    YesArg,
};

/// What every command starts from: the flags it was given, wherever on the command line.
#[derive(Debug, Clone, Default)]
pub struct GlobalArgs {
    pub project: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
    pub claude: Option<PathBuf>,
    pub session: Option<String>,
    pub yes: bool,
    pub dry_run: bool,
    pub json: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Cli {
    /// The flags of the command line as one set. A flag given before a subcommand for which it
    /// means nothing is refused, naming the subcommand (issue 16.9: `ccrescue --session x
    /// settings` used to be accepted silently; after the subcommand clap refuses it itself).
    pub fn resolve(&self) -> Result<GlobalArgs, String> {
        let c = &self.global;
        let mut g = GlobalArgs {
            project: c.project.clone(),
            config_dir: c.config_dir.clone(),
            claude: self.claude.claude.clone(),
            session: self.session.session.clone(),
            yes: self.yes.yes,
            dry_run: self.dry_run.dry_run,
            json: self.json,
            quiet: c.quiet,
            verbose: c.verbose,
        };
        // What the subcommand takes (claude, session, yes, dry-run, json), and its own values.
        let (name, takes, own): (&str, [bool; 5], Own) = match &self.command {
            None => return Ok(g),
            Some(Command::Diagnose(a)) => (
                "diagnose",
                [true, true, false, false, true],
                Own::of(Some(&a.claude), Some(&a.session), None, None, Some(&a.json)),
            ),
            Some(Command::Sessions(a)) => (
                "sessions",
                [false, false, false, false, true],
                Own::of(None, None, None, None, Some(&a.json)),
            ),
            // Both change one session: the same four flags.
            Some(Command::Trim(TrimArgs {
                session,
                yes,
                dry_run,
                json,
                ..
            }))
            | Some(Command::Restore(RestoreArgs {
                session,
                yes,
                dry_run,
                json,
                ..
            })) => (
                if matches!(self.command, Some(Command::Trim(_))) {
                    "trim"
                } else {
                    "restore"
                },
                [false, true, true, true, true],
                Own::of(None, Some(session), Some(yes), Some(dry_run), Some(json)),
            ),
            Some(Command::Settings(a)) => (
                "settings",
                [true, false, true, true, true],
                Own::of(
                    Some(&a.claude),
                    None,
                    Some(&a.yes),
                    Some(&a.dry_run),
                    Some(&a.json),
                ),
            ),
            Some(Command::Compact(a)) => (
                "compact",
                [true, true, true, true, false],
                Own::of(
                    Some(&a.claude),
                    Some(&a.session),
                    Some(&a.yes),
                    Some(&a.dry_run),
                    None,
                ),
            ),
            Some(Command::Guard(a)) => {
                // --json counts before the verb too (`ccrescue guard --json install`).
                let json = Some(&a.json).filter(|j| j.json);
                let (name, change) = match &a.verb {
                    Some(GuardVerb::Install(i)) => {
                        ("guard install", Some((&i.yes, &i.dry_run, &i.json)))
                    }
                    Some(GuardVerb::Uninstall(u)) => {
                        ("guard uninstall", Some((&u.yes, &u.dry_run, &u.json)))
                    }
                    None => ("guard", None),
                };
                let changes = change.is_some();
                (
                    name,
                    [true, false, changes, changes, true],
                    Own::of(
                        Some(&a.claude),
                        None,
                        change.map(|c| c.0),
                        change.map(|c| c.1),
                        json.or(change.map(|c| c.2)),
                    ),
                )
            }
            // claude runs these, and dispatch handles them before resolving.
            Some(Command::Hook(_)) => ("hook", [false; 5], Own::default()),
            Some(Command::Statusline(_)) => ("statusline", [false; 5], Own::default()),
            Some(Command::Completions { .. }) => ("completions", [false; 5], Own::default()),
            Some(Command::Man) => ("man", [false; 5], Own::default()),
        };
        let given = [
            ("--claude", g.claude.is_some()),
            ("--session", g.session.is_some()),
            ("--yes", g.yes),
            ("--dry-run", g.dry_run),
            ("--json", g.json),
        ];
        for ((flag, set), ok) in given.iter().zip(takes) {
            if *set && !ok {
                return Err(format!(
                    "{flag} means nothing for `ccrescue {name}` (see `ccrescue {name} --help`)"
                ));
            }
        }
        g.claude = g.claude.or(own.claude);
        g.session = g.session.or(own.session);
        g.yes |= own.yes;
        g.dry_run |= own.dry_run;
        g.json |= own.json;
        Ok(g)
    }
}

/// A subcommand's own values of the shared flags.
#[derive(Default)]
struct Own {
    claude: Option<PathBuf>,
    session: Option<String>,
    yes: bool,
    dry_run: bool,
    json: bool,
}

impl Own {
    fn of(
        claude: Option<&ClaudeArg>,
        session: Option<&SessionArg>,
        yes: Option<&YesArg>,
        dry_run: Option<&DryRunArg>,
        json: Option<&JsonArg>,
    ) -> Own {
        Own {
            claude: claude.and_then(|a| a.claude.clone()),
            session: session.and_then(|a| a.session.clone()),
            yes: yes.is_some_and(|a| a.yes),
            dry_run: dry_run.is_some_and(|a| a.dry_run),
            json: json.is_some_and(|a| a.json),
        }
    }
}
