//! The prompter for a person at a terminal: dialoguer menus and confirmations on stderr, in one
//! style for every command (ColorfulTheme), each line cut to the terminal's width so that a
//! redraw never leaves stale rows behind (a wrapped row is two rows dialoguer does not clear),
//! and one Esc rule: Esc or `q` stops the command like Ctrl-C, having changed nothing.
use anyhow::{Result, anyhow};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Select};

use super::Prompter;
use crate::format::{fit, safe, width_of};
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

/// dialoguer 0.12 measures a menu row in bytes, not columns, when it clears the menu to redraw
/// it: a row of more bytes than the terminal has columns (any `…` or accented letter in a row
/// that fits) makes it clear rows above the menu. So rows are kept within that many bytes too.
fn within_bytes(item: String, width: Option<usize>) -> String {
    let Some(max) = width.map(|w| w - 3) else {
        return item;
    };
    if item.len() <= max {
        return item;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !item.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &item[..end])
}

/// The answered question, as one line that fits: `✔ <prompt> · <answer>`.
fn report(prompt: &str, answer: &str, width: Option<usize>) {
    let line = format!(
        "{} {prompt} {} {}",
        console::style("✔").for_stderr().green(),
        console::style("·").for_stderr().dim(),
        console::style(answer).for_stderr().green()
    );
    eprintln!("{}", fit(&line, width));
}

/// The questions have no "cancel": Esc or `q` stops like Ctrl-C.
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
        let width = width_of(&console::Term::stderr());
        // `? <prompt> ›` and `❯ <item>`: two and three columns besides the text.
        let shown_prompt = fit(&safe(prompt), width.map(|w| w - 5)).into_owned();
        let shown: Vec<String> = items
            .iter()
            .map(|i| within_bytes(fit(&safe(i), width.map(|w| w - 3)).into_owned(), width))
            .collect();
        let i = answered(ask(|term| {
            Select::with_theme(&self.theme)
                .with_prompt(&shown_prompt)
                .items(&shown)
                .default(default)
                .report(false)
                .interact_on_opt(term)
        })?)?;
        report(&shown_prompt, &shown[i], width);
        Ok(i)
    }

    fn confirm(&mut self, _id: &'static str, prompt: &str, default: bool) -> Result<bool> {
        let width = width_of(&console::Term::stderr());
        // `? <prompt> (y/n) › yes` and the cursor: sixteen columns besides the text.
        let shown_prompt = fit(&safe(prompt), width.map(|w| w - 16)).into_owned();
        let yes = answered(ask(|term| {
            Confirm::with_theme(&self.theme)
                .with_prompt(&shown_prompt)
                .default(default)
                .report(false)
                .interact_on_opt(term)
        })?)?;
        report(&shown_prompt, if yes { "yes" } else { "no" }, width);
        Ok(yes)
    }

    fn at_terminal(&self) -> bool {
        true
    }
}
