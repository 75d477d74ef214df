//! The prompter for a person at a terminal: dialoguer menus and confirmations on stderr.
use anyhow::{Result, anyhow};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Select};

use super::Prompter;
use crate::interrupt::{self, Interrupted};

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

/// Puts one dialoguer question on the terminal (stderr). `Ok(None)` is Esc or `q`. Ctrl-C ends
/// it as `Interrupted` instead of ending ccrescue on the spot (see `interrupt::prompting`), so
/// the caller can say what was changed; the cursor, which dialoguer hides while a question is up
/// and leaves hidden on an error (dialoguer#294), is shown again.
pub fn ask<T>(
    question: impl FnOnce(&console::Term) -> dialoguer::Result<Option<T>>,
) -> Result<Option<T>> {
    interrupt::check()?;
    let term = console::Term::stderr();
    let prompting = interrupt::prompting();
    let answer = question(&term);
    let stopped = interrupt::interrupted()
        || matches!(&answer, Err(dialoguer::Error::IO(io)) if io.kind() == std::io::ErrorKind::Interrupted);
    if stopped {
        interrupt::defer_to_exit();
    }
    drop(prompting);
    if stopped || answer.is_err() {
        let _ = term.show_cursor();
    }
    match answer {
        _ if stopped => Err(Interrupted.into()),
        Ok(answer) => Ok(answer),
        Err(dialoguer::Error::IO(io)) => {
            Err(anyhow!("unable to read the answer from the terminal: {io}"))
        }
    }
}

/// The wizard's questions have no "cancel": Esc or `q` stops like Ctrl-C.
fn answered<T>(answer: Option<T>) -> Result<T> {
    answer.ok_or_else(|| {
        let _ = console::Term::stderr().show_cursor();
        Interrupted.into()
    })
}

impl Prompter for TerminalPrompter {
    fn select(
        &mut self,
        _id: &'static str,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize> {
        answered(ask(|term| {
            Select::with_theme(&self.theme)
                .with_prompt(prompt)
                .items(items)
                .default(default)
                .interact_on_opt(term)
        })?)
    }

    fn confirm(&mut self, _id: &'static str, prompt: &str, default: bool) -> Result<bool> {
        answered(ask(|term| {
            Confirm::with_theme(&self.theme)
                .with_prompt(prompt)
                .default(default)
                .interact_on_opt(term)
        })?)
    }

    fn at_terminal(&self) -> bool {
        true
    }
}
