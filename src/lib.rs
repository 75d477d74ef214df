//! ccrescue: get Claude Code unstuck from "API Error: Usage credits required for 1M context".
//!
//! `run` parses the command line, builds the context, dispatches, and maps the outcome to an exit
//! code (see `error`). Data flows one way: paths → session scan → diagnosis → ladder → report.
use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser as _;

pub mod claude;
pub mod claude_run;
pub mod cli;
mod commands;
pub mod context;
pub mod diagnose;
pub mod error;
pub mod format;
pub mod fsx;
mod generated;
pub mod guard;
pub mod hook;
pub mod interrupt;
mod json;
pub mod ladder;
pub mod live;
pub mod paths;
pub mod pieces;
pub mod report;
pub mod restore;
pub mod select;
pub mod session;
pub mod settings;
pub mod statusline;
#[cfg(all(test, unix))]
mod test_child;
pub mod trim;
mod trim_cmd;
pub mod ui;
pub mod wizard;

/// Runs ccrescue with `args` (the program name first) and returns its exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let json = error::wants_json(&args);
    // The guard's hook runs inside claude, where exit 2 blocks the prompt: `CCRESCUE_GUARD=off`
    // must work whatever the arguments, and a command line this ccrescue does not take (a
    // threshold edited by hand, a newer install's flag) must let the prompt through.
    let is_hook = args.get(1).is_some_and(|a| a == "hook");
    if is_hook && hook::turned_off() {
        return ExitCode::from(error::EXIT_OK);
    }
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if is_hook && e.use_stderr() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!(
                "ccrescue guard: its hook's command line is not one this ccrescue takes ({}); let \
                 through — `ccrescue guard install` writes it again",
                format::safe(first.trim_start_matches("error: "))
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return ExitCode::from(error::EXIT_OK);
            }
            if json {
                let message = e
                    .kind()
                    .as_str()
                    .unwrap_or("invalid command line")
                    .to_owned();
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or(&message);
                print_json_error(
                    first.trim_start_matches("error: "),
                    Some("see `ccrescue --help`"),
                    error::EXIT_REFUSED,
                );
            }
            return ExitCode::from(error::EXIT_REFUSED);
        }
    };
    interrupt::install();
    if json {
        session::scan::report_cut_short_as_json();
    }
    let outcome = commands::dispatch(cli);
    if json && let Err(e) = &outcome {
        let code = if is_broken_pipe(e) {
            error::EXIT_OK
        } else {
            error::exit_code(e)
        };
        if code != error::EXIT_OK {
            print_json_error(&format!("{e:#}"), error::hint(e).as_deref(), code);
        }
    }
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(error::EXIT_OK),
        Err(e) if e.chain().any(|c| c.is::<interrupt::Interrupted>()) => {
            let _ = writeln!(
                io::stderr(),
                "{} {e:#}",
                console::style("error:").for_stderr().red().bold()
            );
            interrupt::die()
        }
        Err(e) => {
            let mut err = io::stderr().lock();
            // An error can quote a session or settings file: never raw to the terminal.
            let _ = writeln!(
                err,
                "{} {}",
                console::style("error:").for_stderr().red().bold(),
                format::safe_lines(&format!("{e:#}"))
            );
            if let Some(hint) = error::hint(&e) {
                let _ = writeln!(
                    err,
                    "{} {}",
                    console::style("hint:").for_stderr().cyan().bold(),
                    format::safe_lines(&hint)
                );
            }
            ExitCode::from(error::exit_code(&e))
        }
    }
}

fn print_json_error(message: &str, hint: Option<&str>, code: u8) {
    let doc = error::json_error(message, hint, code);
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    );
    let _ = out.flush();
}

/// `ccrescue sessions | head` closes the pipe early; that is not an error (as in ripgrep).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
