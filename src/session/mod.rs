//! Reading Claude Code session files: a streaming scan that never loads a whole file, the lazy
//! JSON walker it stands on, media measurement, and the long-context error detector.
pub mod api_error;
pub mod json_span;
mod json_string;
pub mod lines;
pub mod media;
pub mod record;
pub mod scan;
mod string_end;
pub mod subagents;

#[cfg(test)]
mod json_span_tests;
#[cfg(test)]
mod scan_tests;

pub use api_error::ErrorKind;
pub use scan::{Scanner, SessionScan, scan};
