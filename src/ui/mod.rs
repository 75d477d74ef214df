//! How the wizard talks to a person: the `Prompter` trait (choices, confirmations, messages,
//! spinners) and its three implementations — dialoguer on a terminal, assume-yes for `--yes`,
//! and a scripted one for unit tests. Prompts, messages and progress all go to stderr.
use anyhow::Result;

mod assume_yes;
#[cfg(test)]
pub mod scripted;
mod terminal;

pub use assume_yes::AssumeYes;
pub use terminal::{TerminalPrompter, ask};

/// The id of the one confirmation `--yes` does not answer with its default: starting afresh
/// without the conversation needs `--allow-clear` as well.
pub const CLEAR: &str = "clear";

/// One question the wizard asks: a stable id (tests and `--yes` key on it), the text, the default.
pub trait Prompter {
    /// One of `items` (index returned); `default` is preselected.
    fn select(
        &mut self,
        id: &'static str,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize>;
    /// Yes or no; `default` is what Enter (and `--yes`) answers, except for [`CLEAR`].
    fn confirm(&mut self, id: &'static str, prompt: &str, default: bool) -> Result<bool>;
    /// A line for the person (stderr): what was found, what is being done.
    fn say(&mut self, line: &str) {
        eprintln!("{}", for_stderr(line));
    }
    /// A warning (after `warning: `): said even under `-q`.
    fn warn(&mut self, line: &str) {
        self.say(&format!("warning: {line}"));
    }
    /// How the run ended, when that is not the command printed on stdout: said even under `-q`.
    fn outcome(&mut self, line: &str) {
        self.say(line);
    }
    /// A spinner showing elapsed time and a message; hidden when stderr is not a terminal.
    fn spinner(&mut self, message: &str) -> Box<dyn Spinner> {
        Box::new(StderrSpinner::start(message))
    }
    /// True when a person is at a terminal ccrescue can hand to claude.
    fn at_terminal(&self) -> bool;
}

/// `text` as it goes to stderr: each of its lines made [`safe`](crate::format::safe) (it may
/// quote a session or settings file) and fitted to the terminal's width (issue 16.4), so that
/// no line wraps under a menu that redraws. Prose is word-wrapped rather than cut, so nothing
/// said is lost; a `$ command` line and a word longer than the width (a path) stay whole, to
/// be copied.
pub fn for_stderr(text: &str) -> String {
    crate::format::wrap(text, crate::format::width_of(&console::Term::stderr()))
}

/// A running spinner.
pub trait Spinner {
    fn set_message(&self, message: &str);
    /// Prints a line above the spinner (or plainly when the spinner is hidden).
    fn println(&self, line: &str);
    fn finish(&self);
}

/// A spinner that shows nothing (`--yes -q`; the tests' scripted prompter).
pub(crate) struct Silent;

impl Spinner for Silent {
    fn set_message(&self, _: &str) {}
    fn println(&self, _: &str) {}
    fn finish(&self) {}
}

/// A spinner on stderr (indicatif hides it when stderr is not a terminal).
pub struct StderrSpinner(indicatif::ProgressBar);

impl StderrSpinner {
    pub fn start(message: &str) -> StderrSpinner {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                .expect("a valid template"),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        StderrSpinner(bar)
    }
}

impl Spinner for StderrSpinner {
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_owned());
    }
    fn println(&self, line: &str) {
        // `ProgressBar::println` prints nothing while the bar is hidden; suspend always prints.
        self.0.suspend(|| eprintln!("{}", for_stderr(line)));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for StderrSpinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
