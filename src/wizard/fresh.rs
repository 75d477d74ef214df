//! The fresh-session path: the error on a (nearly) new session is mostly account-side. Shows the
//! `[1m]` pins and knobs found, offers the settings fix, gives the version notes, says honestly
//! what is left (usage credits, or a standard-context model), and offers that model.
use anyhow::Result;

use super::{EXIT_NOT_RECOVERED, Wizard};
use crate::diagnose::Diagnosis;
use crate::error::EXIT_OK;
use crate::ladder;
use crate::select::Chosen;
use crate::settings::fix::FileFix;

impl Wizard<'_> {
    pub(super) fn fresh(&mut self, c: &Chosen, d: &Diagnosis) -> Result<u8> {
        let findings = self.opts.settings.clone();
        if findings.pins.is_empty() {
            self.ui
                .say("No setting asks for the 1M window ([1m]): the cause is not local.");
        } else {
            self.ui.say("Settings that ask for the 1M window ([1m]):");
            for pin in &findings.pins {
                self.ui
                    .say(&format!("  {}: {} = {}", pin.file, pin.key, pin.value));
            }
        }
        for knob in &findings.knobs {
            self.ui.say(&format!(
                "Set: {} = {} ({})",
                knob.key, knob.value, knob.file
            ));
        }
        let fixed = self.fix_settings()?;
        for n in &d.notes {
            self.ui.say(&format!("Note: {n}"));
        }
        self.ui.say(&format!(
            "The rest is account-side (tracked in anthropics/claude-code#63060): turn on usage \
             credits at claude.ai/settings/usage, or ask for a standard-context model explicitly \
             with --model {}. ccrescue cannot fix the account from here.",
            self.opts.return_model
        ));
        let cwd = self.workdir(c);
        let cwd_text = cwd.to_string_lossy().into_owned();
        let input = self.ladder_input(c, Some(&cwd_text));
        let step = ladder::fresh_session(&input)
            .into_iter()
            .find(|s| s.step == "standard_model")
            .expect("the fresh-session ladder names a standard model");
        Ok(
            match self.hand_over_or_print(step, &cwd, "standard_model")? {
                Some(code) => code,
                None if fixed => EXIT_OK,
                // Nothing was fixed locally: the command printed may still meet the account gate.
                None => EXIT_NOT_RECOVERED,
            },
        )
    }

    /// The settings fix for `[1m]` pins, one file at a time. True when something was fixed.
    fn fix_settings(&mut self) -> Result<bool> {
        let plan = self.opts.settings_fix.clone();
        let mut files: Vec<Vec<FileFix>> = vec![];
        for f in plan.fixes {
            match files.iter_mut().find(|g| g[0].file == f.file) {
                Some(g) => g.push(f),
                None => files.push(vec![f]),
            }
        }
        let mut fixed = false;
        for group in files {
            let file = group[0].file.display().to_string();
            for f in &group {
                self.ui.say(&format!(
                    "  {file}:{}: {}  ->  {}",
                    f.line, f.before_text, f.after_text
                ));
            }
            let question = format!(
                "Change {} (a backup is kept)?",
                crate::settings::fix::target_words(&group[0].file)
            );
            if !self.ui.confirm("fix_settings", &question, true)? {
                continue;
            }
            let backup = self.world.fix_settings(&group)?;
            let kept = backup
                .map(|b| format!("; backup {}", b.display()))
                .unwrap_or_default();
            self.ui.outcome(&format!("Changed {file}{kept}"));
            fixed = true;
        }
        for u in &plan.untouched {
            self.ui.say(&format!(
                "Left as it is: {} = {} ({})",
                u.key, u.value, u.why
            ));
        }
        if !self.opts.shell_lines.is_empty() {
            self.ui.say(
                "Your environment asks for the 1M window too; ccrescue does not change it. \
                 In your shell (and its startup file):",
            );
            for line in self.opts.shell_lines.clone() {
                self.ui.say(&format!("  {line}"));
            }
        }
        Ok(fixed)
    }
}
