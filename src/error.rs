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

/// The hint to print under an error, if it has one.
pub fn hint(err: &anyhow::Error) -> Option<&str> {
    err.downcast_ref::<Refused>()
        .and_then(|r| r.hint.as_deref())
}
