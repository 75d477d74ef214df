//! The overflow ladder, rung by rung: wait for a live claude to quit, back up (ending a torn
//! line), compact in the small model, trim and compact again, start afresh with a handoff note as
//! the last resort, and return to the standard model.
use std::path::Path;

use anyhow::Result;

use super::compact::Outcome;
use super::{EXIT_NOT_RECOVERED, Wizard, note};
use crate::error::{EXIT_OK, refused};
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
            self.ui.say(&format!("warning: {line}"));
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
        if let Outcome::Done { .. } = outcome {
            return self.return_to_model(&current, &cwd);
        }
        // The compaction's claude is gone, but another claude on the session (one behind a
        // wrapper, one started meanwhile) must not write it while it is trimmed (issue 17 #8).
        if !self.wait_until_not_live(&current)? {
            self.ui
                .say("The session was not trimmed. Run ccrescue again once claude has quit.");
            return Ok(EXIT_NOT_RECOVERED);
        }
        if self.trim(&current)? {
            current.scan = self.world.scan(&current.file.path)?;
            self.ui
                .say("Compacting again, now that the session is smaller.");
            let (outcome, after) = self.compact(&current, &cwd)?;
            current.scan = after;
            if let Outcome::Done { .. } = outcome {
                return self.return_to_model(&current, &cwd);
            }
        }
        self.start_afresh(&current, &cwd)
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

    /// The trim rung: shows what would go, asks, trims. True when the session was trimmed.
    fn trim(&mut self, c: &Chosen) -> Result<bool> {
        let Some(preview) = self.world.trim_preview(&c.file.path)? else {
            self.ui.say(
                "Nothing to trim: the session holds no images or large tool outputs to take out.",
            );
            return Ok(false);
        };
        self.ui
            .say("A trim takes these out of the session, leaving short placeholders:");
        for line in &preview.lines {
            self.ui.say(&format!("  {line}"));
        }
        if !self.ui.confirm(
            "trim",
            "Trim them from the session (a backup keeps the original)?",
            true,
        )? {
            return Ok(false);
        }
        let backup = self.world.trim(&c.file.path)?;
        self.ui
            .say(&format!("Trimmed; backup {}", backup.display()));
        Ok(true)
    }

    /// The last rung: a new session without the conversation, with a handoff note.
    fn start_afresh(&mut self, c: &Chosen, cwd: &Path) -> Result<u8> {
        self.ui.say(
            "The session could not be brought under the standard window. The last resort is to \
             start afresh (what /clear does): nothing is deleted on disk and the old session \
             stays resumable with --resume, but the new session starts without the conversation.",
        );
        self.ui.say(&format!(
            "To keep the old session as it was: {} --resume {}",
            self.opts.claude_name, c.file.id
        ));
        if !self.ui.confirm(
            CLEAR,
            "Start a new session without the conversation?",
            false,
        )? {
            self.ui.say(
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
            .say("Not recovered: the command above starts a new session from the note.");
        Ok(EXIT_NOT_RECOVERED)
    }

    /// The last rung of success: back to the standard model.
    fn return_to_model(&mut self, c: &Chosen, cwd: &Path) -> Result<u8> {
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
            self.ui.say(&format!(
                "warning: {} sets {} = {}: a plain `claude` asks for the 1M window again; \
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

/// Said after a rescue (not with `--quiet`): what keeps a session under the standard window.
const PREVENTION: [&str; 4] = [
    "To keep it from coming back:",
    "  - screenshots pile up fast (browser and screenshot MCP tools, pasted images): `ccrescue trim` takes them out",
    "  - keep big assets out of claude's reach with permissions.deny rules in .claude/settings.json, e.g. \"Read(./assets/**)\" (claude does not read a .claudeignore file)",
    "  - CLAUDE_CODE_AUTO_COMPACT_WINDOW=160000 makes claude compact before a request passes the 200K window",
];

/// claude's exit code as ccrescue's (codes past 255 cannot be passed on).
pub(super) fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}
