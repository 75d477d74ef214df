//! Facts → a Diagnosis: which symptom the evidence shows (context overflow, the brand-new-session
//! case, or nothing), the evidence in words, the recovery ladder for it, and version notes.
use std::path::Path;

use serde::Serialize;

use crate::claude::Version;
use crate::format::thousands;
use crate::ladder::{self, LadderInput, Step};
use crate::live::LiveClaude;
use crate::session::SessionScan;
use crate::settings::SettingsFindings;

/// The standard context window.
pub const STANDARD_WINDOW: u64 = 200_000;
/// About where claude compacts a 200K window by itself: at or above this, the session is overflowing.
pub const OVERFLOW_TOKENS: u64 = 160_000;
/// A long-context error with at least this much context is the overflow case; below, the fresh-session one.
pub const ERROR_OVERFLOW_TOKENS: u64 = 100_000;
/// Images after the last boundary costing at least this much make it an overflow by themselves.
pub const MEDIA_OVERFLOW_TOKENS: u64 = 50_000;

/// A session never compacted with at most this many records is "(nearly) new".
pub const NEARLY_NEW_RECORDS: u64 = 40;

/// True for a session that is new or nearly so: never compacted, few records.
pub fn nearly_new(scan: &SessionScan) -> bool {
    scan.compactions == 0 && scan.failed_compactions == 0 && scan.records <= NEARLY_NEW_RECORDS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    /// The session outgrew the standard window: compact in a small model and come back.
    ContextOverflow,
    /// The error on a (nearly) empty session: account-side, or a `[1m]` pin.
    FreshSession,
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub symptom: Symptom,
    /// The facts behind the symptom, in words.
    pub evidence: Vec<String>,
    pub plan: Vec<Step>,
    /// What the installed claude version changes about the advice.
    pub notes: Vec<String>,
    /// The causes recorded with the session (a `[1m]` model, 1M subagents).
    pub causes: Vec<crate::settings::causes::Cause>,
    /// The session's subagent transcripts, counted with it.
    pub subagents: Vec<crate::session::subagents::Subagent>,
}

/// Everything the diagnosis looks at.
pub struct Facts<'a> {
    pub scan: Option<&'a SessionScan>,
    pub session_id: Option<&'a str>,
    pub live: Option<&'a LiveClaude>,
    pub version: Option<Version>,
    pub settings: &'a SettingsFindings,
    /// How to name claude in commands.
    pub claude: &'a str,
    /// `--config-dir`, passed on to claude in every command.
    pub config_dir: Option<&'a str>,
    /// The project folder: where the commands run when the session's own folder is gone.
    pub project: &'a Path,
}

pub fn diagnose(f: &Facts) -> Diagnosis {
    let mut evidence = vec![];
    let symptom = match f.scan {
        Some(scan) => symptom(scan, &mut evidence),
        None => Symptom::None,
    };
    if !f.settings.pins.is_empty() {
        evidence.push(format!(
            "{} setting(s) ask for the 1M window ([1m])",
            f.settings.pins.len()
        ));
    }
    let (folder, gone) = crate::paths::run_folder(f.scan.and_then(|s| s.cwd.as_deref()), f.project);
    if let Some(gone) = gone {
        evidence.push(format!(
            "the session's folder {gone} is gone: claude runs in {} instead",
            folder.display()
        ));
    }
    let folder = folder.to_string_lossy();
    let input = LadderInput {
        config_dir: f.config_dir,
        claude: f.claude,
        session_id: f.session_id.unwrap_or("<session id>"),
        cwd: f.scan.map(|_| folder.as_ref()),
        live_pid: f.live.map(|l| l.pid),
        images: f.scan.map_or(0, |s| s.media.images + s.media.documents),
        media_tokens: f.scan.map_or(0, |s| s.media.est_tokens),
        pins: f.settings.pins.len(),
        compact_model: ladder::COMPACT_MODEL,
        return_model: ladder::RETURN_MODEL,
        tool_output_over: crate::trim::DEFAULT_TOOL_OUTPUT_KEEP,
    };
    let causes = f.scan.map_or_else(Vec::new, |s| {
        crate::settings::causes::in_session(&s.path, s.recorded_model.as_deref())
    });
    for c in f.settings.causes.iter().chain(&causes) {
        evidence.push(format!("{} = {} ({}): {}", c.key, c.value, c.file, c.why));
    }
    let subagents = f.scan.map_or_else(Vec::new, |s| {
        crate::session::subagents::find(&s.path, s.session_id.as_deref(), &s.sidechain)
    });
    if f.scan.is_some_and(|s| s.open_error().is_none())
        && let Some(a) = subagents.iter().find(|a| a.refused.is_some())
    {
        // anthropics/claude-code#92456: one subagent's 429 can hold the whole process to 200K.
        evidence.push(format!(
            "the subagent {} was refused for long context though the session shows no error: \
             that refusal can hold the whole claude to 200K (anthropics/claude-code#92456); give \
             subagents a standard model (`ccrescue settings` lists the agents' `model:` and \
             CLAUDE_CODE_SUBAGENT_MODEL, and its --fix fixes the variable)",
            a.name
        ));
    }
    let plan = match symptom {
        Symptom::ContextOverflow => ladder::overflow(&input),
        Symptom::FreshSession => ladder::fresh_session(&input),
        Symptom::None => vec![],
    };
    Diagnosis {
        symptom,
        evidence,
        plan,
        notes: version_notes(f.version, symptom),
        causes,
        subagents,
    }
}

fn symptom(scan: &SessionScan, evidence: &mut Vec<String>) -> Symptom {
    let tokens = scan.context.map(|c| c.tokens);
    let error = scan.blocked_by_long_context();
    let media = scan.media.est_tokens;
    let mut overflow = false;
    if let Some(t) = tokens.filter(|t| *t >= OVERFLOW_TOKENS) {
        evidence.push(format!(
            "context is {} tokens, at or past the {}K where claude compacts a {}K window",
            thousands(t),
            OVERFLOW_TOKENS / 1000,
            STANDARD_WINDOW / 1000
        ));
        overflow = true;
    }
    if error {
        match tokens {
            Some(t) if t >= ERROR_OVERFLOW_TOKENS => {
                evidence.push(format!(
                    "the 1M-context error came with {} tokens of context",
                    thousands(t)
                ));
                overflow = true;
            }
            Some(t) => evidence.push(format!(
                "the 1M-context error came with only {} tokens of context",
                thousands(t)
            )),
            None => evidence.push("the 1M-context error came before any reply was recorded".into()),
        }
    }
    if media >= MEDIA_OVERFLOW_TOKENS {
        evidence.push(format!(
            "images after the last compaction cost about {} tokens",
            thousands(media)
        ));
        overflow = true;
    }
    if scan.failed_compactions > 0 {
        evidence.push(format!("{} compaction(s) failed", scan.failed_compactions));
    }
    // A failed compaction is the overflow case, always (issue 16 point 5): the fix is another
    // compaction in a small model, with the trims when it is refused for size.
    let open_compaction_failure = scan.open_error().is_some_and(|e| e.during_compaction)
        || (error && scan.failed_compactions > 0);
    if open_compaction_failure && !overflow {
        evidence.push(
            "the error stands after a failed compaction: that is the overflow case, whatever the \
             context size recorded"
                .into(),
        );
        overflow = true;
    }
    // "(nearly) new" means what it says: the brand-new-session case only on a session that was
    // never compacted and holds few records; on an older one an unknown context is overflow.
    if error && !overflow && tokens.is_none() && !nearly_new(scan) {
        evidence.push(format!(
            "the session is not new ({} records{}), so its size is the likely cause",
            thousands(scan.records),
            if scan.compactions > 0 {
                format!(", {} compaction(s)", scan.compactions)
            } else {
                String::new()
            }
        ));
        overflow = true;
    }
    if overflow {
        Symptom::ContextOverflow
    } else if error {
        Symptom::FreshSession
    } else {
        Symptom::None
    }
}

fn version_notes(version: Option<Version>, symptom: Symptom) -> Vec<String> {
    let Some(v) = version else {
        return vec!["claude's version is unknown (not found, or --version failed), so the advice is not tailored to a version".into()];
    };
    let mut notes = vec![];
    if symptom == Symptom::None {
        return notes;
    }
    if v < Version(2, 1, 172) {
        notes.push(format!("claude {v} retries this refusal ten times (3–6 minutes) before it gives up; it will not change the answer"));
    } else {
        notes.push(format!("claude {v} may try to recover by compacting after this error; seeing it still means that did not work"));
    }
    if v >= Version(2, 1, 156) {
        notes.push(
            "CLAUDE_CODE_DISABLE_1M_CONTEXT=1 alone does not clear this error from 2.1.156 on \
             (anthropics/claude-code#63479): name a standard-context model with --model"
                .into(),
        );
    }
    if v >= Version(2, 1, 328) {
        notes.push(format!("in claude {v} the aliases sonnet, opus and haiku mean natively 1M-context models: use explicit ids such as {} and {}", ladder::RETURN_MODEL, ladder::COMPACT_MODEL));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ErrorKind;
    use crate::session::scan::{ContextEstimate, ContextSource, ErrorRecord};

    fn scan(tokens: Option<u64>, error: Option<ErrorKind>, media: u64) -> SessionScan {
        let mut s = SessionScan {
            context: tokens.map(|tokens| ContextEstimate {
                tokens,
                source: ContextSource::Usage,
                line: 1,
            }),
            ..Default::default()
        };
        s.last_error = error.map(|kind| ErrorRecord {
            line: 2,
            kind,
            text: String::new(),
            status: Some(429),
            api_error: None,
            during_compaction: false,
            resolved: false,
        });
        s.last_long_context_error = s
            .last_error
            .clone()
            .filter(|e| e.kind == ErrorKind::LongContext);
        s.media.est_tokens = media;
        s
    }

    /// The diagnosis of `s` for a project at `project`, with no pins and claude 2.1.328.
    fn diagnosis_of(s: &SessionScan, project: &Path) -> Diagnosis {
        let settings = SettingsFindings::default();
        diagnose(&Facts {
            scan: Some(s),
            session_id: Some("id"),
            live: None,
            version: Some(Version(2, 1, 328)),
            settings: &settings,
            claude: "claude",
            config_dir: None,
            project,
        })
    }

    fn symptom_of(s: &SessionScan) -> Symptom {
        diagnosis_of(s, Path::new("/")).symptom
    }

    #[test]
    fn thresholds() {
        use ErrorKind::*;
        assert_eq!(
            symptom_of(&scan(Some(OVERFLOW_TOKENS), None, 0)),
            Symptom::ContextOverflow
        );
        assert_eq!(
            symptom_of(&scan(Some(OVERFLOW_TOKENS - 1), None, 0)),
            Symptom::None
        );
        assert_eq!(
            symptom_of(&scan(Some(ERROR_OVERFLOW_TOKENS), Some(LongContext), 0)),
            Symptom::ContextOverflow
        );
        assert_eq!(
            symptom_of(&scan(Some(ERROR_OVERFLOW_TOKENS - 1), Some(LongContext), 0)),
            Symptom::FreshSession
        );
        assert_eq!(
            symptom_of(&scan(None, Some(LongContext), 0)),
            Symptom::FreshSession
        );
        assert_eq!(
            symptom_of(&scan(Some(5_000), Some(Other), 0)),
            Symptom::None
        );
        assert_eq!(
            symptom_of(&scan(Some(5_000), None, MEDIA_OVERFLOW_TOKENS)),
            Symptom::ContextOverflow
        );
        assert_eq!(
            symptom_of(&scan(Some(5_000), Some(LongContext), MEDIA_OVERFLOW_TOKENS)),
            Symptom::ContextOverflow
        );
    }

    /// Issue 16 point 5: a 1,865-record session with an earlier compaction whose last error is
    /// the gate during a compaction was preselected as "the error on a (nearly) new session".
    #[test]
    fn a_failed_compaction_is_overflow_and_nearly_new_means_new() {
        let mut s = scan(Some(30_000), Some(ErrorKind::LongContext), 0);
        s.records = 1_865;
        s.compactions = 1;
        s.failed_compactions = 1;
        if let Some(e) = s.last_error.as_mut() {
            e.during_compaction = true;
        }
        s.last_long_context_error = s.last_error.clone();
        let d = diagnosis_of(&s, Path::new("/"));
        assert_eq!(d.symptom, Symptom::ContextOverflow, "{:?}", d.evidence);
        assert!(
            d.evidence
                .iter()
                .any(|e| e.contains("the error stands after a failed compaction")),
            "{:?}",
            d.evidence
        );
        // An unknown context on a long session is not a new session.
        let mut s = scan(None, Some(ErrorKind::LongContext), 0);
        s.records = 1_865;
        assert_eq!(symptom_of(&s), Symptom::ContextOverflow);
        s.records = NEARLY_NEW_RECORDS;
        assert_eq!(symptom_of(&s), Symptom::FreshSession);
        // A compaction that failed long ago, with no error open now, is nothing to rescue.
        let mut s = scan(Some(5_000), None, 0);
        s.failed_compactions = 1;
        assert_eq!(symptom_of(&s), Symptom::None);
    }

    #[test]
    fn notes_follow_the_version() {
        let n = version_notes(Some(Version(2, 1, 150)), Symptom::ContextOverflow);
        assert!(n[0].contains("ten times"));
        assert_eq!(n.len(), 1);
        let n = version_notes(Some(Version(2, 1, 328)), Symptom::FreshSession);
        assert_eq!(n.len(), 3);
        assert!(version_notes(Some(Version(2, 1, 328)), Symptom::None).is_empty());
    }

    #[test]
    fn commands_run_in_the_project_when_the_recorded_folder_is_gone() {
        let project = tempfile::tempdir().unwrap();
        let here = project.path().to_string_lossy().into_owned();
        let mut s = scan(Some(260_000), Some(ErrorKind::LongContext), 0);
        s.cwd = Some("/nonexistent/renamed-project".into());
        let d = diagnosis_of(&s, project.path());
        assert_eq!(d.plan[0].cwd.as_deref(), Some(here.as_str()));
        assert!(
            d.evidence.iter().any(|e| e.contains(
                "the session's folder /nonexistent/renamed-project is gone: claude runs in"
            )),
            "{:?}",
            d.evidence
        );
        s.cwd = Some(here.clone());
        let d = diagnosis_of(&s, Path::new("/elsewhere"));
        assert_eq!(
            d.plan[0].cwd.as_deref(),
            Some(here.as_str()),
            "an existing folder is kept"
        );
    }
}
