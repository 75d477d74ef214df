//! `--yes`: every prompt takes its default and says so, except starting afresh without the
//! conversation, which also needs `--allow-clear`.
use anyhow::Result;

use super::{CLEAR, Prompter};

pub struct AssumeYes {
    pub allow_clear: bool,
}

impl Prompter for AssumeYes {
    fn select(
        &mut self,
        _id: &'static str,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize> {
        eprintln!(
            "{}",
            super::for_stderr(&format!("{prompt} {} (--yes)", items[default]))
        );
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
        eprintln!(
            "{}",
            super::for_stderr(&format!("{prompt} {answer_text} ({why})"))
        );
        Ok(answer)
    }

    fn at_terminal(&self) -> bool {
        false
    }
}
