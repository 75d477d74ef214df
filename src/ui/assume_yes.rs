//! `--yes`: every prompt takes its default and says so, except starting afresh without the
//! conversation, which also needs `--allow-clear`. With `-q` it says only warnings and the
//! outcome (the command to run next goes to stdout either way).
use anyhow::Result;

use super::{CLEAR, Prompter, Spinner};

pub struct AssumeYes {
    pub allow_clear: bool,
    /// `-q`: nothing but warnings and the outcome on stderr.
    pub quiet: bool,
}

impl Prompter for AssumeYes {
    fn select(
        &mut self,
        _id: &'static str,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize> {
        self.say(&format!("{prompt} {} (--yes)", items[default]));
        Ok(default)
    }

    fn confirm(&mut self, id: &'static str, prompt: &str, default: bool) -> Result<bool> {
        let answer = if id == CLEAR {
            self.allow_clear
        } else {
            default
        };
        let why = match (id == CLEAR, answer) {
            (true, true) => "--yes --allow-clear",
            (true, false) => "--yes without --allow-clear",
            _ => "--yes",
        };
        let answer_text = if answer { "yes" } else { "no" };
        self.say(&format!("{prompt} {answer_text} ({why})"));
        Ok(answer)
    }

    fn say(&mut self, line: &str) {
        if !self.quiet {
            eprintln!("{}", super::for_stderr(line));
        }
    }

    fn warn(&mut self, line: &str) {
        eprintln!("{}", super::for_stderr(&format!("warning: {line}")));
    }

    fn outcome(&mut self, line: &str) {
        eprintln!("{}", super::for_stderr(line));
    }

    fn spinner(&mut self, message: &str) -> Box<dyn Spinner> {
        if self.quiet {
            return Box::new(super::Silent);
        }
        Box::new(super::StderrSpinner::start(message))
    }

    fn at_terminal(&self) -> bool {
        false
    }
}
