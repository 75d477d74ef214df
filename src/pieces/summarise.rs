//! The summarising runs of the real claude: one `claude -p` per chunk in a private scratch folder
//! outside the project, no tools and no session persistence, the chunk on stdin after the
//! previous part's summary, asking for the sections of claude's own compaction summary. The
//! scratch folder (and any session folder claude made for it) is removed afterwards, also on
//! Ctrl-C and on failure.
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, Result, anyhow};

use super::plan::Plan;
use crate::claude_run::{self, Event, Invocation, Verdict};
use crate::format::thousands;
use crate::ui::Spinner;

/// The first words of every summarising prompt (tests find the requests by it).
pub const PROMPT_MARKER: &str = "ccrescue is compacting a long Claude Code conversation in parts";

/// How claude is run for the summaries.
#[derive(Debug, Clone)]
pub struct Summariser {
    pub claude: PathBuf,
    pub model: String,
    /// Passed on to claude (`CLAUDE_CONFIG_DIR` when the user gave one).
    pub env: BTreeMap<String, String>,
}

/// The instructions (claude's `-p` argument); the material follows on stdin.
pub fn prompt(part: usize, parts: usize) -> String {
    format!(
        "{PROMPT_MARKER}, because it is too long for one request. This is part {part} of \
         {parts}, oldest first. Below (after these instructions) come the summary of the parts \
         before this one, if any, and then the transcript of this part: user messages, your own \
         replies, tool calls and tool results. Do not call any tools; answer in plain text only.\n\n\
         Write a summary of THIS part that lets the conversation continue without it, with these \
         sections, keeping file names, code, commands, error messages and the user's exact \
         wording where they matter:\n\
         1. Primary Request and Intent\n\
         2. Key Technical Concepts\n\
         3. Files and Code Sections\n\
         4. Errors and fixes\n\
         5. Problem Solving\n\
         6. All user messages (every message the user typed in this part, not tool results)\n\
         7. Pending Tasks\n\
         8. Current Work (what was being done at the end of this part)\n\
         9. Optional Next Step\n\n\
         Use the summary of the earlier parts only to understand this one; do not repeat it. \
         Put your summary between <summary> and </summary>."
    )
}

/// What goes on stdin for chunk `i`: the previous summary (if any), then the transcript.
pub fn material(plan: &Plan, i: usize, previous: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(prev) = previous {
        s.push_str("<summary-of-earlier-parts>\n");
        s.push_str(prev);
        s.push_str("\n</summary-of-earlier-parts>\n\n");
    }
    s.push_str("<transcript>\n");
    for r in &plan.records[plan.chunks[i].clone()] {
        s.push_str(&r.text);
    }
    s.push_str("</transcript>\n");
    s
}

/// The argv after the program, without the material (stdin).
pub fn args(model: &str, part: usize, parts: usize) -> Vec<String> {
    [
        "-p",
        &prompt(part, parts),
        "--model",
        model,
        "--tools",
        "",
        "--no-session-persistence",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Summarises every chunk in order; returns one summary per chunk. Ctrl-C (or a failed run)
/// ends it with an error and the scratch folder removed; nothing else is touched.
pub fn summarise_all(
    plan: &Plan,
    s: &Summariser,
    config_root: &Path,
    spinner: &dyn Spinner,
) -> Result<Vec<String>> {
    let scratch = Scratch::new(config_root)?;
    let parts = plan.chunks.len();
    let mut out: Vec<String> = vec![];
    for i in 0..parts {
        let what = format!(
            "summarising part {} of {parts} (about {} tokens) with {}",
            i + 1,
            thousands(plan.chunk_tokens(i)),
            s.model
        );
        spinner.println(&what);
        spinner.set_message(&what);
        let input = material(plan, i, out.last().map(String::as_str));
        let text = run_one(s, &scratch, i + 1, parts, &input)
            .with_context(|| format!("summarising part {} of {parts}", i + 1))?;
        out.push(text);
    }
    Ok(out)
}

fn run_one(
    s: &Summariser,
    scratch: &Scratch,
    part: usize,
    parts: usize,
    input: &str,
) -> Result<String> {
    // The material goes through a private file: no writer thread, no pipe to fill.
    let input_path = scratch.dir.path().join(format!("part-{part}.txt"));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // The conversation is the user's: private from the first byte.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options
            .open(&input_path)
            .with_context(|| format!("cannot create {}", input_path.display()))?;
        f.write_all(input.as_bytes())?;
    }
    let stdin = std::fs::File::open(&input_path)?;
    let mut env = s.env.clone();
    env.insert("CLAUDE_CODE_DISABLE_1M_CONTEXT".into(), "1".into());
    // A side run: no update check or other background traffic of claude's.
    for k in [
        "DISABLE_AUTOUPDATER",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    ] {
        env.insert(k.into(), "1".into());
    }
    let inv = Invocation {
        program: s.claude.clone(),
        args: args(&s.model, part, parts),
        env,
        cwd: scratch.dir.path().to_owned(),
    };
    let run = claude_run::run_headless_fed(&inv, Stdio::from(stdin), stop_retrying_429)?;
    if let Some(why) = &run.stopped {
        return Err(anyhow!("{why}"));
    }
    let _ = std::fs::remove_file(&input_path);
    let result = run.events.iter().rev().find_map(|e| match e {
        Event::Result { is_error, text } => Some((*is_error, text.clone())),
        _ => None,
    });
    match result {
        Some((false, text)) if !text.trim().is_empty() => Ok(summary_of(&text)),
        Some((_, text)) => Err(anyhow!(
            "claude answered with an error: {}",
            crate::format::cut(text.trim(), 300)
        )),
        None => Err(anyhow!(
            "claude gave no answer (exit code {}): {}",
            run.code.map_or("none".into(), |c| c.to_string()),
            crate::format::cut(run.stderr.trim(), 300)
        )),
    }
}

/// 2.1.150 and 2.1.156 retry a long-context 429 ten times over minutes and the answer does not
/// change (reference §4b): stopped at the second retry, as the wizard's compaction is.
fn stop_retrying_429(event: &Event) -> Verdict {
    match event {
        Event::Retry {
            attempt,
            status: Some(429),
            ..
        } if *attempt >= 2 => Verdict::Stop(format!(
            "claude kept retrying a 429 refusal of the summary request (retry {attempt}); \
             ccrescue stopped it"
        )),
        _ => Verdict::Continue,
    }
}

/// The text between `<summary>` and `</summary>` when present, else the whole answer without an
/// `<analysis>` block.
pub fn summary_of(answer: &str) -> String {
    if let Some(start) = answer.find("<summary>") {
        let rest = &answer[start + "<summary>".len()..];
        let end = rest.find("</summary>").unwrap_or(rest.len());
        return rest[..end].trim().to_owned();
    }
    let mut s = answer.to_owned();
    if let (Some(a), Some(b)) = (s.find("<analysis>"), s.find("</analysis>"))
        && a < b
    {
        s.replace_range(a..b + "</analysis>".len(), "");
    }
    s.trim().to_owned()
}

/// A private temp folder for claude's summarising runs, and the session folder claude would
/// give it under `<config>/projects/`; both removed on drop.
struct Scratch {
    dir: tempfile::TempDir,
    sessions: PathBuf,
}

impl Scratch {
    fn new(config_root: &Path) -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("ccrescue-pieces-")
            .tempdir()
            .context("cannot make a scratch folder for the summaries")?;
        let real = dunce::canonicalize(dir.path()).unwrap_or_else(|_| dir.path().to_owned());
        let sessions = config_root
            .join("projects")
            .join(crate::paths::project_slug(&real.to_string_lossy()));
        Ok(Scratch { dir, sessions })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // `--no-session-persistence` writes no session file; a claude that ignored it would have
        // written here, a folder named after this scratch folder alone.
        if self.sessions.exists() {
            let _ = std::fs::remove_dir_all(&self.sessions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_retried_twice_stops_claude() {
        let retry = |attempt, status| Event::Retry {
            attempt,
            max_retries: Some(10),
            status,
        };
        assert!(matches!(
            stop_retrying_429(&retry(1, Some(429))),
            Verdict::Continue
        ));
        assert!(matches!(
            stop_retrying_429(&retry(2, Some(529))),
            Verdict::Continue
        ));
        assert!(matches!(
            stop_retrying_429(&retry(2, Some(429))),
            Verdict::Stop(_)
        ));
    }

    #[test]
    fn the_summary_is_taken_from_its_tags() {
        assert_eq!(
            summary_of("<analysis>x</analysis>\n<summary>\n1. A\n</summary>"),
            "1. A"
        );
        assert_eq!(summary_of("<analysis>x</analysis> plain"), "plain");
        assert_eq!(summary_of("<summary>cut off"), "cut off");
    }
}
