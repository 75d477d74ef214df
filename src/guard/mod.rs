//! `ccrescue guard`: keeps sessions from reaching the 1M error with claude's own settings and
//! hooks, no daemon. `edit` splices settings files, `plan` says what guard adds and finds it
//! again, `measure` sizes a session from its tail, `state` is the hook's memory, `command` is
//! the front-end (install, uninstall), `status` what bare `guard` shows.
pub mod command;
pub mod edit;
pub mod measure;
pub mod plan;
pub mod state;
mod status;

use crate::claude::Version;

/// The hook events guard uses, in install order. Not `StopFailure`: claude ignores its output
/// (2.1.328, tests/guard_real.rs), so the next `UserPromptSubmit` tells the user instead.
pub const EVENTS: [&str; 3] = ["UserPromptSubmit", "SessionStart", "PostToolBatch"];

/// What the installed claude supports, as observed (docs/claude-versions.md, "guard").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Support {
    pub events: Vec<&'static str>,
    /// claude reads the `autoCompactWindow` setting (else guard writes the env entry).
    pub window_setting: bool,
    /// `SessionStart` on resume carries `context_tokens`.
    pub context_tokens: bool,
}

/// The oldest version whose hooks and window setting were observed (2.1.150).
const OLDEST_OBSERVED: Version = Version(2, 1, 150);

/// What claude `version` supports; an unknown or older version gets the conservative choice:
/// the two oldest hook events and the env entry.
pub fn support(version: Option<Version>) -> Support {
    match version {
        Some(v) if v >= OLDEST_OBSERVED => Support {
            events: EVENTS.to_vec(),
            window_setting: true,
            context_tokens: v >= Version(2, 1, 212),
        },
        _ => Support {
            events: vec!["UserPromptSubmit", "SessionStart"],
            window_setting: false,
            context_tokens: false,
        },
    }
}
