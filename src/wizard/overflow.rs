//! The overflow ladder, rung by rung: wait for a live claude to quit, back up (ending a torn
//! line), compact in the small model, trim and compact again, start afresh with a handoff note as
//! the last resort, and return to the standard model.
use std::collections::VecDeque;
use std::path::Path;

use anyhow::Result;

use super::compact::Outcome;
use super::world::TrimScope;
use super::{EXIT_NOT_RECOVERED, Wizard, note};
use crate::error::{EXIT_OK, refused};
use crate::format::{human_bytes, thousands};
use crate::ladder::{self, Step, quote};
use crate::select::Chosen;
use crate::ui::CLEAR;

impl Wizard<'_> {
    pub(super) fn overflow(&mut self, chosen: &Chosen) -> Result<u8> {
        if !self.wait_until_not_live(chosen)? {
            self.ui
                .say("Nothing was changed. Run ccrescue again once claude has quit.");
            return Ok(EXIT_NOT_RECOVERED);
        }
        let question = format!(
            "Back up the session and compact it with {}?",
            self.opts.compact_model
        );
        if !self.ui.confirm("compact", &question, true)? {
            self.ui.say("Nothing was changed.");
            self.print_manual_steps(chosen)?;
            return Ok(EXIT_NOT_RECOVERED);
        }
        for line in self.world.sweep_stale_temps(&chosen.file.path) {
            self.ui.warn(&line);
        }
        let backup = self.world.backup(&chosen.file.path)?;
        self.ui.say(&format!(
            "Backup   {} (the session as it was)",
            backup.display()
        ));
        if self.world.end_torn_line(&chosen.file.path)? {
            self.ui.say(
                "The session's last line was cut off (claude was stopped mid-write): ended it \
                 with a newline so claude's next record starts on a line of its own.",
            );
        }
        let cwd = self.workdir(chosen);
        let mut current = Chosen {
            file: chosen.file.clone(),
            scan: self.world.scan(&chosen.file.path)?,
            why: None,
        };
        let (outcome, after) = self.compact(&current, &cwd)?;
        current.scan = after;
        // The estimate may order and explain the rungs, never skip one: a refusal for size is
        // evidence that the session must shrink, whatever the estimate said (issue "evidence").
        let Some(outcome) = self.trim_rungs(&mut current, &cwd, outcome)? else {
            return Ok(EXIT_NOT_RECOVERED);
        };
        if let Outcome::Done { .. } = outcome {
            return self.return_to_model(&current, &cwd);
        }
        // What the rungs below say follows what claude answered: a failure that is not about the
        // request's size (a model claude does not know, an overloaded server) is named as such.
        let for_size = outcome.failed_for_size();
        if matches!(outcome, Outcome::Failed(_)) && !for_size {
            self.ui.say(
                "The compaction did not fail for the request's size, so what follows may not \
                 help: a model claude cannot use is changed with --compact-model, and a server \
                 error passes if you try again later.",
            );
        }
        // The rung between the trims and the last resort: compact in pieces (issue 15).
        if let Some(code) = self.compact_in_pieces(&current, &cwd, for_size)? {
            return Ok(code);
        }
        self.start_afresh(&current, &cwd, for_size)
    }

    /// The trim rungs after a failed compaction, each followed by another compaction, until one
    /// works or none is left. A refusal for size is evidence that the session must shrink,
    /// whatever the estimate says (issue "evidence"): every image and document goes first, then
    /// the text tool outputs over the threshold. A failure that is not about size gets only the
    /// estimate's trim, and the evidence rungs if the compaction after it is refused for size.
    /// `None` when a claude started on the session meanwhile and the user did not quit it.
    fn trim_rungs(
        &mut self,
        current: &mut Chosen,
        cwd: &Path,
        mut outcome: Outcome,
    ) -> Result<Option<Outcome>> {
        let evidence = [
            TrimScope::Media,
            TrimScope::ToolOutputs(self.opts.tool_output_over),
        ];
        let mut scopes: VecDeque<TrimScope> = if outcome.failed_for_size() {
            evidence.into()
        } else {
            [TrimScope::Estimate].into()
        };
        let mut trimmed_any = false;
        let mut nothing_left = false;
        // The context as far as it is known: the last usage, less what the trims took out.
        let mut left = current.scan.context.map(|c| c.tokens);
        while let Some(scope) = scopes.pop_front() {
            if let Outcome::Done { .. } = outcome {
                break;
            }
            if trimmed_any && !outcome.failed_for_size() {
                break;
            }
            // The compaction's claude is gone, but another claude on the session (one behind a
            // wrapper, one started meanwhile) must not write it while it is trimmed (issue 17 #8).
            if !self.wait_until_not_live(current)? {
                self.ui
                    .say("The session was not trimmed. Run ccrescue again once claude has quit.");
                return Ok(None);
            }
            match self.trim(current, scope)? {
                Trimmed::Yes { tokens_after } => {
                    trimmed_any = true;
                    nothing_left = false;
                    left = tokens_after.or(left);
                }
                Trimmed::Declined => return Ok(Some(outcome)),
                Trimmed::Nothing if scope == TrimScope::Estimate => {
                    let over = left.is_some_and(|t| t > crate::diagnose::OVERFLOW_TOKENS);
                    self.ui.say(if over {
                        "Nothing to trim: the compaction did not fail for the request's size, and \
                         no images, documents or large tool outputs are left after the last \
                         compaction to take out."
                    } else {
                        "Nothing to trim: the compaction did not fail for the request's size, and \
                         the estimate says the session is under the 160K line, so a trim would \
                         not help."
                    });
                    return Ok(Some(outcome));
                }
                Trimmed::Nothing => {
                    nothing_left = true;
                    continue;
                }
            }
            current.scan = self.world.scan(&current.file.path)?;
            self.ui
                .say("Compacting again, now that the session is smaller.");
            let (again, after) = self.compact(current, cwd)?;
            current.scan = after;
            outcome = again;
            if scope == TrimScope::Estimate && outcome.failed_for_size() {
                scopes.extend(evidence);
            }
        }
        if nothing_left && !matches!(outcome, Outcome::Done { .. }) {
            self.say_nothing_to_trim(trimmed_any, left);
        }
        Ok(Some(outcome))
    }

    /// True once no claude runs on the session. On a terminal the user is asked to quit it;
    /// under `--yes` a live session is refused (exit 2).
    fn wait_until_not_live(&mut self, c: &Chosen) -> Result<bool> {
        while let Some(live) = self.world.live(&c.file.id) {
            if !self.ui.at_terminal() {
                return Err(refused(
                    format!(
                        "claude (pid {}) is running on session {}; ccrescue does not touch a session claude is writing",
                        live.pid, c.file.id
                    ),
                    Some("quit that claude (type /exit, or press Ctrl-C twice), then run ccrescue again".into()),
                ));
            }
            self.ui.say(&format!(
                "claude (pid {}) is running on this session: quit it first (type /exit there, \
                 or press Ctrl-C twice).",
                live.pid
            ));
            if !self
                .ui
                .confirm("quit_claude", "Have you quit it? (No stops here)", true)?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One trim rung: shows what would go, asks, trims.
    fn trim(&mut self, c: &Chosen, scope: TrimScope) -> Result<Trimmed> {
        let Some(preview) = self.world.trim_preview(&c.file.path, scope)? else {
            return Ok(Trimmed::Nothing);
        };
        let (intro, question) = match scope {
            TrimScope::ToolOutputs(over) => (
                "The compaction was still refused for its size. Next, the largest text tool \
                 outputs: each one over the threshold is shortened to its head and tail."
                    .to_owned(),
                format!(
                    "Shorten the text tool outputs over {} (change the threshold with \
                     --tool-output-over) in the session (a backup keeps the original)?",
                    human_bytes(over)
                ),
            ),
            TrimScope::Media => (
                "The compaction was refused for its size, so every image and document after the \
                 last compaction goes, whatever the estimate says. A trim takes these out of the \
                 session, leaving short placeholders:"
                    .to_owned(),
                "Trim them from the session (a backup keeps the original)?".to_owned(),
            ),
            TrimScope::Estimate => (
                "A trim takes these out of the session, leaving short placeholders:".to_owned(),
                "Trim them from the session (a backup keeps the original)?".to_owned(),
            ),
        };
        self.ui.say(&intro);
        for line in &preview.lines {
            self.ui.say(&format!("  {line}"));
        }
        if !self.ui.confirm("trim", &question, true)? {
            return Ok(Trimmed::Declined);
        }
        let backup = self.world.trim(&c.file.path)?;
        self.ui
            .say(&format!("Trimmed; backup {}", backup.display()));
        Ok(Trimmed::Yes {
            tokens_after: preview.tokens_after,
        })
    }

    /// Said when no trim rung found anything: what is left is the conversation's own text.
    fn say_nothing_to_trim(&mut self, trimmed: bool, left: Option<u64>) {
        let left = match left {
            Some(tokens) => format!(
                "; the conversation itself is about {} tokens of text (estimate)",
                thousands(tokens)
            ),
            None => String::new(),
        };
        self.ui.say(&format!(
            "Nothing {}to trim: no images, documents or text tool outputs over {} are left after \
             the last compaction{left}.",
            if trimmed { "more " } else { "" },
            human_bytes(self.opts.tool_output_over)
        ));
    }

    /// The last rung: a new session without the conversation, with a handoff note.
    /// `for_size`: the compaction was refused for its size (else it failed for another reason).
    fn start_afresh(&mut self, c: &Chosen, cwd: &Path, for_size: bool) -> Result<u8> {
        self.ui.say(&format!(
            "{} The last resort is to start afresh (what /clear does): nothing is deleted on disk \
             and the old session stays resumable with --resume, but the new session starts \
             without the conversation.",
            if for_size {
                "The session could not be brought under the standard window."
            } else {
                "The session could not be compacted."
            }
        ));
        self.ui.say(&format!(
            "To keep the old session as it was: {} --resume {}",
            self.opts.claude_name, c.file.id
        ));
        if !self.ui.confirm(
            CLEAR,
            "Start a new session without the conversation?",
            false,
        )? {
            self.ui.outcome(
                "Not recovered. The session and its backups are unchanged since the steps above.",
            );
            return Ok(EXIT_NOT_RECOVERED);
        }
        let gathered = self.world.gather_note(&c.file.path)?;
        let cwd_text = cwd.to_string_lossy().into_owned();
        let text = note::render(&gathered, &c.file.id, &cwd_text, &self.opts.claude_name);
        let path = note::note_path(&c.file.path, &c.file.id);
        self.world.write_new(&path, &text)?;
        self.ui.say(&format!("Handoff note {}", path.display()));
        let first_message = format!(
            "Carry on from my previous session ({}). Read the handoff note at {} first: it has \
             the summary, my last requests, the files we touched and the open todos.",
            c.file.id,
            path.display()
        );
        let input = self.ladder_input(c, Some(&cwd_text));
        let step = Step::runs(
            "clear",
            &input,
            &["--model", &self.opts.return_model, &first_message],
            "a new session that starts from the handoff note".into(),
        );
        if self.ui.at_terminal()
            && self.ui.confirm(
                "start_fresh",
                &format!(
                    "Start it now in {} with the note as its first message?",
                    self.opts.return_model
                ),
                true,
            )?
        {
            self.announce(&step);
            let code = self.world.hand_over(&self.invocation(&step, cwd))?;
            return Ok(exit_byte(code));
        }
        writeln!(self.out, "{}", step.shell_line().unwrap_or_default())?;
        self.ui
            .outcome("Not recovered: the command above starts a new session from the note.");
        Ok(EXIT_NOT_RECOVERED)
    }

    /// The last rung of success: back to the standard model.
    pub(super) fn return_to_model(&mut self, c: &Chosen, cwd: &Path) -> Result<u8> {
        self.warn_pins();
        if !self.opts.quiet {
            for line in PREVENTION {
                self.ui.say(line);
            }
        }
        let cwd_text = cwd.to_string_lossy().into_owned();
        let input = self.ladder_input(c, Some(&cwd_text));
        let step = ladder::overflow(&input)
            .into_iter()
            .find(|s| s.step == "return")
            .expect("the overflow ladder returns");
        Ok(self
            .hand_over_or_print(step, cwd, "return")?
            .unwrap_or(EXIT_OK))
    }

    /// On a terminal: ask, then give the terminal to claude; `Some(claude's exit code)`.
    /// Otherwise (or when declined) print the exact command on stdout; `None`.
    pub(super) fn hand_over_or_print(
        &mut self,
        step: Step,
        cwd: &Path,
        id: &'static str,
    ) -> Result<Option<u8>> {
        let question = format!("Continue in {} now?", self.opts.return_model);
        if self.ui.at_terminal() && self.ui.confirm(id, &question, true)? {
            self.announce(&step);
            let code = self.world.hand_over(&self.invocation(&step, cwd))?;
            return Ok(Some(exit_byte(code)));
        }
        self.ui.say("Carry on with:");
        writeln!(self.out, "{}", step.shell_line().unwrap_or_default())?;
        Ok(None)
    }

    /// Warns about `[1m]` pins: `--model` wins over them now, but a plain `claude` later asks for
    /// the 1M window again.
    pub(super) fn warn_pins(&mut self) {
        let pins = self.opts.settings.pins.clone();
        for pin in &pins {
            self.ui.warn(&format!(
                "{} sets {} = {}: a plain `claude` asks for the 1M window again; \
                 change it to a standard-context id such as {}",
                pin.file,
                pin.key,
                quote(&pin.value),
                self.opts.return_model
            ));
        }
    }

    /// The commands to run by hand, after the user declined to let ccrescue run them.
    fn print_manual_steps(&mut self, c: &Chosen) -> Result<()> {
        let cwd = self.workdir(c).to_string_lossy().into_owned();
        let input = self.ladder_input(c, Some(&cwd));
        let lines: Vec<String> = ladder::overflow(&input)
            .iter()
            .filter_map(Step::shell_line)
            .collect();
        self.ui.say("To do it by hand (back up the session first):");
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }
}

/// How one trim rung ended.
enum Trimmed {
    /// Trimmed; the estimated context after it, when known.
    Yes { tokens_after: Option<u64> },
    /// The user said no: the ladder goes on to the last resort.
    Declined,
    /// Nothing of this scope is in the session: the next scope is tried.
    Nothing,
}

/// Said after a rescue (not with `--quiet`): what keeps a session under the standard window.
const PREVENTION: [&str; 4] = [
    "To keep it from coming back:",
    "  - screenshots pile up fast (browser and screenshot MCP tools, pasted images): `ccrescue trim` takes them out",
    "  - keep big assets out of claude's reach with permissions.deny rules in .claude/settings.json, e.g. \"Read(./assets/**)\" (claude does not read a .claudeignore file)",
    "  - `ccrescue guard install` warns before the 200K window, refuses prompts past it and makes claude compact itself at 160K (`ccrescue guard uninstall` removes it)",
];

/// claude's exit code as ccrescue's (codes past 255 cannot be passed on).
pub(super) fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}
