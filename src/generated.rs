//! What is generated from the clap definitions: shell completion scripts and the man page.
use std::io::Write;

use anyhow::Result;
use clap::CommandFactory as _;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    // Generated into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = vec![];
    clap_complete::generate(shell, &mut Cli::command(), "ccrescue", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// Writes the man page (roff) for ccrescue and its subcommands to `out`.
pub fn man_page(out: &mut dyn Write) -> Result<()> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("ccrescue-{}", sub.get_name());
        let sub = sub.clone().name(name);
        clap_mangen::Man::new(sub).render(out)?;
    }
    Ok(())
}
