//! A prompter for unit tests: answers from a script keyed by prompt id, records every prompt and
//! message, and fails the test on a prompt the script did not expect.
use std::collections::VecDeque;

use anyhow::{Result, bail};

use super::{Prompter, Silent, Spinner};

/// A scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Press Enter: take the default.
    Enter,
    Pick(usize),
    Yes,
    No,
}

#[derive(Default)]
pub struct Scripted {
    script: VecDeque<(&'static str, Answer)>,
    /// Every prompt id asked, in order.
    pub asked: Vec<&'static str>,
    /// Every line said (and printed above a spinner), in order.
    pub said: Vec<String>,
    /// The text of every yes/no question asked, in order.
    pub questions: Vec<String>,
    pub terminal: bool,
}

impl Scripted {
    pub fn new(terminal: bool, script: &[(&'static str, Answer)]) -> Scripted {
        Scripted {
            script: script.iter().cloned().collect(),
            terminal,
            ..Default::default()
        }
    }

    fn next(&mut self, id: &'static str) -> Result<Answer> {
        self.asked.push(id);
        match self.script.pop_front() {
            Some((want, answer)) if want == id => Ok(answer),
            Some((want, _)) => bail!("the wizard asked {id:?}, the script expected {want:?}"),
            None => bail!("the wizard asked {id:?} after the script ended"),
        }
    }

    /// True when every scripted answer was used.
    pub fn done(&self) -> bool {
        self.script.is_empty()
    }

    pub fn transcript(&self) -> String {
        self.said.join("\n")
    }
}

impl Prompter for Scripted {
    fn select(
        &mut self,
        id: &'static str,
        _prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize> {
        Ok(match self.next(id)? {
            Answer::Enter => default,
            Answer::Pick(i) if i < items.len() => i,
            other => bail!("{other:?} is no answer to the choice {id:?}"),
        })
    }

    fn confirm(&mut self, id: &'static str, prompt: &str, default: bool) -> Result<bool> {
        self.questions.push(prompt.to_owned());
        Ok(match self.next(id)? {
            Answer::Enter => default,
            Answer::Yes => true,
            Answer::No => false,
            other => bail!("{other:?} is no answer to the question {id:?}"),
        })
    }

    fn say(&mut self, line: &str) {
        self.said.push(line.to_owned());
    }

    fn spinner(&mut self, _message: &str) -> Box<dyn Spinner> {
        Box::new(Silent)
    }

    fn at_terminal(&self) -> bool {
        self.terminal
    }
}
