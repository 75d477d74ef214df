//! The errors that choose ccrescue's exit code, and the codes themselves (documented in --help).
use std::fmt;

/// Done (for read-only commands: ran, whatever it found).
pub const EXIT_OK: u8 = 0;
/// The operation failed: I/O error, validation failure, a rescue that did not succeed.
pub const EXIT_FAILED: u8 = 1;
/// Usage error or refused: bad flag, path escape, unknown id, live session, no terminal.
pub const EXIT_REFUSED: u8 = 2;
/// Interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// ccrescue will not do what was asked; the message says why and the hint what to do instead.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// A refusal (exit 2) with an optional hint line.
pub fn refused(message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    Refused {
        message: message.into(),
        hint,
    }
    .into()
}

/// The exit code for an error that ended a command.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|c| c.is::<crate::interrupt::Interrupted>()) {
        EXIT_INTERRUPTED
    } else if err.downcast_ref::<Refused>().is_some() {
        EXIT_REFUSED
    } else {
        EXIT_FAILED
    }
}

/// The hint to print under an error, if it has one: a refusal's own, else one for the I/O
/// failures a user can do something about. Every write goes through a temp file that is removed
/// on failure, so a failed write has changed nothing.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    if let Some(r) = err.downcast_ref::<Refused>() {
        return r.hint.clone();
    }
    let io = err
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())?;
    match io.kind() {
        std::io::ErrorKind::StorageFull => Some(
            "nothing was changed; free some disk space (the folder named above) and run the same command again".into(),
        ),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => Some(
            "nothing was changed; run ccrescue as the user who owns the file (the one who runs claude), or make the folder writable".into(),
        ),
        _ => None,
    }
}

/// The error as `--json` prints it on stdout (issue 16.9), besides the human lines on stderr:
/// `{"error": {"message", "hint", "exit_code"}}`.
pub fn json_error(message: &str, hint: Option<&str>, code: u8) -> serde_json::Value {
    serde_json::json!({
        "error": {
            "message": message,
            "hint": hint,
            "exit_code": code,
        }
    })
}

/// True when the command line asks for JSON output (read before parsing, so that a usage error
/// can be answered in JSON too).
pub fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_get_a_hint_and_refusals_keep_theirs() {
        let full = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::StorageFull))
            .context("writing the new /s.jsonl");
        assert!(hint(&full).unwrap().contains("free some disk space"));
        let denied =
            anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(
            hint(&denied)
                .unwrap()
                .contains("the user who owns the file")
        );
        let other = anyhow::Error::from(std::io::Error::other("boom"));
        assert_eq!(hint(&other), None);
        assert_eq!(
            hint(&refused("no", Some("do this".into()))).as_deref(),
            Some("do this")
        );
        assert_eq!(exit_code(&full), EXIT_FAILED);
    }
}
