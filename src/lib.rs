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
pub mod trim;
mod trim_cmd;
pub mod ui;
pub mod wizard;

/// Runs ccrescue with `args` (the program name first) and returns its exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::EXIT_REFUSED
            } else {
                error::EXIT_OK
            });
        }
    };
    interrupt::install();
    match commands::dispatch(cli) {
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
            let _ = writeln!(
                err,
                "{} {e:#}",
                console::style("error:").for_stderr().red().bold()
            );
            if let Some(hint) = error::hint(&e) {
                let _ = writeln!(
                    err,
                    "{} {hint}",
                    console::style("hint:").for_stderr().cyan().bold()
                );
            }
            ExitCode::from(error::exit_code(&e))
        }
    }
}

/// `ccrescue sessions | head` closes the pipe early; that is not an error (as in ripgrep).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
