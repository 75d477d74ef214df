//! The wizard's first screen: the few lines it shows about the chosen session (its first prompt,
//! size, context, images, open error, subagents, a live claude, and what the evidence found)
//! before it asks anything.
use crate::diagnose::{self, Diagnosis, Symptom};
use crate::format::{ago, cut, human_bytes, thousands};
use crate::select::Chosen;

use super::Wizard;

impl Wizard<'_> {
    /// The few lines shown before the first question.
    pub(super) fn look(&mut self, c: &Chosen, d: &Diagnosis) {
        let s = &c.scan;
        // The first prompt gets what is left of the line (`Session  <id>  "…"`).
        let room = crate::format::width_of(&console::Term::stderr()).map_or(50, |w| {
            w.saturating_sub(9 + c.file.id.len() + 5).clamp(8, 50)
        });
        let prompt = s
            .first_prompt
            .as_deref()
            .map(|p| format!("  \"{}\"", cut(p, room)))
            .unwrap_or_default();
        self.ui.say(&format!(
            "Session  {}{prompt}\n         modified {}, {}",
            c.file.id,
            ago(c.file.modified),
            human_bytes(c.file.bytes)
        ));
        if let Some(why) = &c.why {
            self.ui.say(&format!("         ({why})"));
        }
        let context = match s.context {
            Some(ctx) => format!(
                "{} tokens of {} (the standard window)",
                thousands(ctx.tokens),
                thousands(diagnose::STANDARD_WINDOW)
            ),
            None => "unknown (no reply recorded)".to_owned(),
        };
        self.ui.say(&format!("Context  {context}"));
        let media = s.media.images + s.media.documents;
        if media > 0 {
            let since = if s.compactions > 0 {
                " since the last compaction"
            } else {
                ""
            };
            self.ui.say(&format!(
                "Images   {media}{since}, about {} tokens",
                thousands(s.media.est_tokens)
            ));
        }
        let error = match s.open_error() {
            Some(e) => format!("{} (line {})", cut(&e.text, 90), e.line),
            // The words diagnose uses for the same facts.
            None if s.last_error.is_some() => "none open (the session moved on since)".to_owned(),
            None => "none recorded".to_owned(),
        };
        self.ui.say(&format!("Error    {error}"));
        if !d.subagents.is_empty() {
            // As diagnose's `Subagents` line: their transcripts count with the session.
            let refused = d.subagents.iter().filter(|a| a.refused.is_some()).count();
            let verdict = match refused {
                0 => "none refused for long context".to_owned(),
                n => format!("{n} refused for long context"),
            };
            self.ui.say(&format!(
                "Agents   {} subagent transcript{}: {verdict}",
                d.subagents.len(),
                if d.subagents.len() == 1 { "" } else { "s" }
            ));
        }
        let live = match self.world.live(&c.file.id) {
            Some(l) => format!("claude (pid {}) is running on this session", l.pid),
            None => "no claude is running on this session".to_owned(),
        };
        self.ui.say(&format!("Live     {live}"));
        let found = match d.symptom {
            Symptom::ContextOverflow if s.open_error().is_some_and(|e| e.during_compaction) => {
                "a failed compaction: the overflow case"
            }
            Symptom::ContextOverflow => "the session outgrew the standard window",
            Symptom::FreshSession if diagnose::nearly_new(s) => {
                "the error on a (nearly) new session"
            }
            Symptom::FreshSession => {
                "the error with little context: not the session's size (account-side, or a [1m] setting)"
            }
            Symptom::None => "nothing stuck",
        };
        self.ui.say(&format!("Found    {found}"));
    }
}
