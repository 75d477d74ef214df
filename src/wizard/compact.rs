//! One compaction rung: `claude -p /compact --resume <id> --model <small>` with stream-json, its
//! progress shown as it comes, claude stopped when it only retries a refusal, and the result
//! verified from the file — claude's word (`compact_result`), a new `compact_boundary` in the
//! session, and a post-compaction size under the window. The exit code is never trusted: a
//! failed compaction exits 0.
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Wizard;
use crate::claude::Version;
use crate::claude_run::{Event, Headless, Invocation, Verdict};
use crate::diagnose::STANDARD_WINDOW;
use crate::format::thousands;
use crate::interrupt::Interrupted;
use crate::ladder::{self, Step};
use crate::select::Chosen;
use crate::session::SessionScan;
use crate::ui::Spinner;

/// Retries of a 429 after which claude is stopped: 2.1.150/2.1.156 retry the long-context
/// refusal ten times over 3–6 minutes and the answer does not change (reference §4b).
pub const STOP_AFTER_RETRIES: u64 = 2;
/// The first claude that does not retry the long-context 429 (reference §4b).
const STOPS_RETRYING_429: Version = Version(2, 1, 172);
/// Observed on 2.1.156: during `-p /compact` the retries print no `api_retry` line (the stream
/// shows `compacting`, then nothing for ~3 minutes, then `compact_result:"failed"` after 11
/// requests), so the watcher cannot see them. claude reads `CLAUDE_CODE_MAX_RETRIES` (in the
/// 2.1.156 and 2.1.328 binaries); with 2 the same refusal ends after 3 requests in ~2.5 s, and a
/// transient error still gets two retries.
const MAX_RETRIES_FOR_OLD_CLAUDE: &str = "2";

/// How one compaction ended, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done { post_tokens: u64 },
    Failed(String),
}

/// How ccrescue's own stop of a claude that retried a 429 starts (old versions retry the
/// long-context refusal for minutes during `/compact`).
const RETRIED_429: &str = "claude kept retrying a 429 refusal";
/// How a compaction that succeeded but left the context over the window is reported.
const STILL_OVER: &str = "after the compaction the context is still";

impl Outcome {
    /// True when the compaction failed because its request was too large: the long-context
    /// gate or a size refusal in claude's words, the 429 an old claude kept retrying, or a
    /// summary that left the context over the window. This is evidence; the estimate is not.
    pub fn failed_for_size(&self) -> bool {
        match self {
            Outcome::Done { .. } => false,
            Outcome::Failed(why) => {
                crate::session::api_error::is_size_failure(why)
                    || why.starts_with(RETRIED_429)
                    || why.starts_with(STILL_OVER)
            }
        }
    }
}

/// The compaction step with the flags that make claude report as it goes.
pub fn with_stream_flags(mut step: Step) -> Step {
    if let Some(argv) = &mut step.command {
        argv.extend(["--output-format", "stream-json", "--verbose"].map(String::from));
    }
    step
}

/// What to do about one stream event: show it, and stop claude when it only retries a 429.
pub fn watch(event: &Event, spinner: &dyn Spinner, model: &str) -> Verdict {
    match event {
        Event::Status(s) => spinner.set_message(&format!("claude: {s} with {model}")),
        Event::Retry {
            attempt,
            max_retries,
            status,
        } => {
            let of = max_retries.map(|m| format!("/{m}")).unwrap_or_default();
            let code = status.map(|s| format!(" ({s})")).unwrap_or_default();
            spinner.println(&format!(
                "claude: the API refused the request{code}; retry {attempt}{of}"
            ));
            if *status == Some(429) && *attempt >= STOP_AFTER_RETRIES {
                return Verdict::Stop(format!(
                    "{RETRIED_429} (retry {attempt}{of}); this claude version retries it for minutes and the answer does not change, so \
                     ccrescue stopped it"
                ));
            }
        }
        _ => {}
    }
    Verdict::Continue
}

/// Success = claude said so, a new boundary is in the file, and the size is under the window.
pub fn verify(run: &Headless, before: &SessionScan, after: &SessionScan) -> Outcome {
    if let Some(why) = &run.stopped {
        return Outcome::Failed(why.clone());
    }
    match run.compacted() {
        Some((true, _)) => {}
        Some((false, error)) => {
            return Outcome::Failed(error.unwrap_or("the compaction failed").to_owned());
        }
        None => {
            let code = run
                .code
                .map_or("a signal".to_owned(), |c| format!("exit code {c}"));
            let tail = run.stderr.trim();
            let tail = tail.lines().last().unwrap_or_default();
            return Outcome::Failed(format!(
                "claude reported no compaction result ({code}){}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            ));
        }
    }
    if after.compactions <= before.compactions {
        return Outcome::Failed(
            "claude reported success, but no new compact_boundary is in the session file".into(),
        );
    }
    match after.context {
        Some(c) if c.tokens < STANDARD_WINDOW => Outcome::Done {
            post_tokens: c.tokens,
        },
        Some(c) => Outcome::Failed(format!(
            "{STILL_OVER} {} tokens, not under the {}-token window",
            thousands(c.tokens),
            thousands(STANDARD_WINDOW)
        )),
        None => Outcome::Failed("the new boundary records no post-compaction size".into()),
    }
}

impl Wizard<'_> {
    /// The folder claude runs in: the session's recorded cwd, else (said) the project folder.
    pub(super) fn workdir(&mut self, c: &Chosen) -> PathBuf {
        let (folder, gone) = crate::paths::run_folder(c.scan.cwd.as_deref(), &self.opts.project);
        if let Some(gone) = gone {
            self.ui.warn(&format!(
                "the session's folder {gone} is gone; claude runs in {} instead",
                folder.display()
            ));
        }
        folder
    }

    /// The ladder's compaction step as the wizard runs it: stream-json, and claude's retries
    /// capped on the versions that retry the 429 for minutes.
    pub(super) fn as_run(&self, step: Step) -> Step {
        let mut step = with_stream_flags(step);
        if self.opts.version.is_some_and(|v| v < STOPS_RETRYING_429) {
            step.env.insert(
                "CLAUDE_CODE_MAX_RETRIES".into(),
                MAX_RETRIES_FOR_OLD_CLAUDE.into(),
            );
        }
        step
    }

    /// The child process for a ladder step: the real claude binary, the step's args and env.
    pub(super) fn invocation(&self, step: &Step, cwd: &Path) -> Invocation {
        let argv = step.command.as_deref().unwrap_or_default();
        Invocation {
            program: self.opts.claude.clone(),
            args: argv.iter().skip(1).cloned().collect(),
            env: step.env.clone(),
            cwd: cwd.to_owned(),
        }
    }

    /// Runs one compaction on `c` in `cwd` and verifies it. `c.scan` is the state before.
    pub(super) fn compact(&mut self, c: &Chosen, cwd: &Path) -> Result<(Outcome, SessionScan)> {
        let cwd_text = cwd.to_string_lossy().into_owned();
        let input = self.ladder_input(c, Some(&cwd_text));
        let step = ladder::overflow(&input)
            .into_iter()
            .find(|s| s.step == "compact")
            .expect("the overflow ladder compacts");
        let step = self.as_run(step);
        self.announce(&step);
        let inv = self.invocation(&step, cwd);
        let model = self.opts.compact_model.clone();
        let spinner = self
            .ui
            .spinner(&format!("compacting with {model} (claude is summarising)"));
        let run = self
            .world
            .run_headless(&inv, &mut |e| watch(e, spinner.as_ref(), &model));
        spinner.finish();
        let run = match run {
            Err(e) if e.is::<Interrupted>() => {
                self.ui.say(
                    "Interrupted: claude was stopped during the compaction. The session is as \
                     claude left it; the backup above keeps it as it was before.",
                );
                return Err(e);
            }
            other => other?,
        };
        let after = self.world.scan(&c.file.path)?;
        let outcome = verify(&run, &c.scan, &after);
        match &outcome {
            Outcome::Done { post_tokens } => self.ui.say(&format!(
                "Compacted: the context is now {} tokens (a new compact_boundary is in the session).",
                thousands(*post_tokens)
            )),
            Outcome::Failed(why) => self.ui.say(&format!("The compaction failed: {why}")),
        }
        Ok((outcome, after))
    }
}
