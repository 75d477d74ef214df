//! The rung between the trims and the last resort: compact in pieces when the conversation
//! itself is too long for the small model to read in one request (issue 15). Shows the chunk
//! plan, asks (default Yes; `--yes` runs it), summarises part by part with progress, and on
//! success returns to the standard model; on failure the session is as it was and the last
//! resort follows.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::Wizard;
use crate::format::thousands;
use crate::interrupt::Interrupted;
use crate::pieces::{KEEP_RECENT_TOKENS, Summariser};
use crate::select::Chosen;

impl Wizard<'_> {
    /// Runs the rung; `Some(exit code)` when it ended the walk (recovered), `None` to go on to
    /// the last resort.
    /// `for_size`: the compaction was refused for its size (else it failed for another reason,
    /// and smaller requests may still get through).
    pub(super) fn compact_in_pieces(
        &mut self,
        c: &Chosen,
        cwd: &Path,
        for_size: bool,
    ) -> Result<Option<u8>> {
        let lines = match self.world.pieces_plan(&c.file.path, KEEP_RECENT_TOKENS) {
            Ok(Some(lines)) => lines,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.ui
                    .say(&format!("It cannot be compacted in pieces either: {e:#}"));
                return Ok(None);
            }
        };
        self.ui.say(&if for_size {
            format!(
                "The conversation itself is too long for {} to read in one request. It can be \
                 summarised in pieces that each fit, keeping the most recent turns verbatim:",
                self.opts.compact_model
            )
        } else {
            "It can also be summarised in pieces, each a smaller request, keeping the most \
             recent turns verbatim:"
                .to_owned()
        });
        for line in &lines {
            self.ui.say(&format!("  {line}"));
        }
        if !self.ui.confirm(
            "pieces",
            "Summarise it in pieces and compact the session (a backup first)?",
            true,
        )? {
            return Ok(None);
        }
        let mut env = BTreeMap::new();
        if let Some(dir) = &self.opts.config_dir {
            env.insert("CLAUDE_CONFIG_DIR".to_owned(), dir.clone());
        }
        let summariser = Summariser {
            claude: self.opts.claude.clone(),
            model: self.opts.compact_model.clone(),
            env,
        };
        let spinner = self.ui.spinner("summarising");
        let done = self.world.compact_in_pieces(
            &c.file.path,
            KEEP_RECENT_TOKENS,
            &summariser,
            spinner.as_ref(),
        );
        spinner.finish();
        match done {
            Ok(done) => {
                self.ui.say(&format!(
                    "Compacted in {}: the context is now about {} tokens (backup {}).",
                    crate::pieces::parts(done.parts),
                    thousands(done.post_tokens),
                    done.appended.backup.display()
                ));
                let current = Chosen {
                    file: c.file.clone(),
                    scan: done.appended.after,
                    why: None,
                };
                self.return_to_model(&current, cwd).map(Some)
            }
            Err(e) if e.is::<Interrupted>() => {
                self.ui.say(
                    "Interrupted while summarising: the session was not changed by this step.",
                );
                Err(e)
            }
            Err(e) => {
                self.ui
                    .say(&format!("The compaction in pieces failed: {e:#}"));
                Ok(None)
            }
        }
    }
}
