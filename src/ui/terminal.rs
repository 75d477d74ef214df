//! The prompter for a person at a terminal: dialoguer menus and confirmations on stderr.
use anyhow::{Result, anyhow};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Select};

use super::{Prompter, Spinner, StderrSpinner};
use crate::interrupt::Interrupted;

pub struct TerminalPrompter {
    theme: ColorfulTheme,
}

impl TerminalPrompter {
    pub fn new() -> TerminalPrompter {
        TerminalPrompter {
            theme: ColorfulTheme::default(),
        }
    }
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        Self::new()
    }
}

/// Esc or `q` at a prompt, or Ctrl-C read as a key: stop like Ctrl-C, with the cursor back
/// (dialoguer hides it while a menu is up; cargo-dist had to restore it too, dialoguer#294).
fn stopped(e: Option<dialoguer::Error>) -> anyhow::Error {
    let _ = console::Term::stderr().show_cursor();
    match e {
        Some(dialoguer::Error::IO(io)) if io.kind() != std::io::ErrorKind::Interrupted => {
            anyhow!("unable to read the answer from the terminal: {io}")
        }
        _ => Interrupted.into(),
    }
}

impl Prompter for TerminalPrompter {
    fn select(
        &mut self,
        _id: &'static str,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_on_opt(&console::Term::stderr())
            .map_err(|e| stopped(Some(e)))?
            .ok_or_else(|| stopped(None))
    }

    fn confirm(&mut self, _id: &'static str, prompt: &str, default: bool) -> Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_on_opt(&console::Term::stderr())
            .map_err(|e| stopped(Some(e)))?
            .ok_or_else(|| stopped(None))
    }

    fn say(&mut self, line: &str) {
        eprintln!("{line}");
    }

    fn spinner(&mut self, message: &str) -> Box<dyn Spinner> {
        Box::new(StderrSpinner::start(message))
    }

    fn at_terminal(&self) -> bool {
        true
    }
}
