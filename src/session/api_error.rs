//! Recognises the long-context gate in error texts, in every wording claude has used.
//!
//! One server condition (HTTP 429, "long context requests") reads differently by version and login:
//! "Usage credits required for 1M context" (subscriber wording, 2.1.144+), "Extra usage is required
//! for long context requests" (API keys, and everyone before 2.1.144), "Usage credits are required
//! for long context requests" (newer servers), each possibly behind "Error during compaction: ".
use serde::Serialize;

/// What kind of error an error text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The 1M / long-context gate: the error ccrescue exists for.
    LongContext,
    /// Any other API or compaction error.
    Other,
}

/// The subjects, verbs and objects of the detector
/// `(Usage credits|Extra usage) (are |is )?required for (1M context|long context)`.
const SUBJECTS: [&str; 2] = ["Usage credits ", "Extra usage "];
const VERBS: [&str; 3] = ["", "are ", "is "];
const OBJECTS: [&str; 2] = ["required for 1M context", "required for long context"];

/// Classifies an error text.
pub fn classify(text: &str) -> ErrorKind {
    if is_long_context(text) {
        ErrorKind::LongContext
    } else {
        ErrorKind::Other
    }
}

/// What claude says when its own reduction (dropping the oldest rounds after the gate's refusal,
/// 2.1.328) could not get under the limit (anthropics/claude-code#73823): the same stuck session.
const REDUCTION_FAILED: &str = "could not be reduced below the context limit";

/// True if `text` contains any wording of the long-context gate.
pub fn is_long_context(text: &str) -> bool {
    text.contains(REDUCTION_FAILED)
        || SUBJECTS.iter().any(|subject| {
            text.match_indices(subject).any(|(at, _)| {
                let rest = &text[at + subject.len()..];
                VERBS
                    .iter()
                    .filter_map(|verb| rest.strip_prefix(verb))
                    .any(|after| OBJECTS.iter().any(|object| after.starts_with(object)))
            })
        })
}

/// Wordings that say a request was refused because of its size, other than the long-context
/// gate: the API's 400 (`prompt is too long`, `input length and max_tokens exceed context limit`),
/// its 413 (`request_too_large`, shown as `Request too large`), claude's own
/// `Conversation too long` and, from 2.1.332, `Compaction failed · attached media exceeds size
/// limits`.
const SIZE_WORDINGS: [&str; 8] = [
    "prompt is too long",
    "exceed context limit",
    "Request too large",
    "request too large",
    "request_too_large",
    "(413)",
    "Conversation too long",
    "attached media exceeds size limits",
];

/// True when an error (a compaction's, typically) says the request was too large: the
/// long-context gate in any wording, or a size refusal. A refusal for size is evidence that the
/// session must shrink, whatever the estimate of its size says.
pub fn is_size_failure(text: &str) -> bool {
    is_long_context(text)
        || SIZE_WORDINGS.iter().any(|w| text.contains(w))
        || text.contains("413 ")
            && (text.contains("API Error") || text.contains("\"type\":\"error\""))
}

/// The texts ccrescue treats as a failed compaction (as written by claude in the session).
pub fn is_compaction_failure(text: &str) -> bool {
    text.contains("Error during compaction") || text.contains("Compaction failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wording_in_the_reference_is_long_context() {
        for text in [
            "API Error: Usage credits required for 1M context · turn on usage credits at claude.ai/settings/usage, or use --model to switch to standard context",
            "API Error: Usage credits required for 1M context · turn on usage credits at https://claude.ai/settings/usage?from=cc_cli_limit_message (they take effect in a new session), or use --model to switch to standard context",
            "API Error: Usage credits required for 1M context · run /usage-credits to turn them on, or /model to switch to standard context",
            "API Error: Usage credits required for 1M context · run /model to switch to standard context",
            "Extra usage is required for long context requests",
            "Error during compaction: API Error: Usage credits required for 1M context · run /model to switch to standard context",
            "API Error: Request rejected (429) · Extra usage is required for long context requests.",
            "Usage credits are required for long context requests.",
            r#"429 {"type":"error","error":{"type":"rate_limit_error","message":"Extra usage is required for long context requests."}}"#,
            "Compaction failed · conversation could not be reduced below the context limit",
        ] {
            assert_eq!(classify(text), ErrorKind::LongContext, "{text}");
        }
    }

    #[test]
    fn other_errors_are_not() {
        for text in [
            "API Error: 400 prompt is too long: 250000 tokens > 200000 maximum",
            "API Error: Request rejected (429) · rate limited, try again later",
            "usage credits required for 1M context", // lower case: not claude's text
            "Extra usage required",
            "Compaction failed · attached media exceeds size limits",
            "",
        ] {
            assert_eq!(classify(text), ErrorKind::Other, "{text}");
        }
    }

    #[test]
    fn size_failures_are_the_gate_and_every_too_large_wording() {
        for text in [
            "Error during compaction: API Error: Request rejected (429) · Extra usage is required for long context requests.",
            "Error during compaction: API Error: Usage credits required for 1M context · run /model to switch to standard context",
            "Compaction failed · conversation could not be reduced below the context limit",
            "Compaction failed · attached media exceeds size limits",
            "Error during compaction: API Error: 400 prompt is too long: 250000 tokens > 200000 maximum",
            "API Error: 413 {\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"Request exceeds the maximum size\"}}",
            "Error during compaction: API Error: Request too large (max 32MB). Try with a smaller file.",
            "Error during compaction: Error: Conversation too long. Press esc twice to go up a few messages and try again.",
            "API Error: 400 input length and `max_tokens` exceed context limit: 198000 + 21333 > 200000",
        ] {
            assert!(is_size_failure(text), "{text}");
        }
        for text in [
            "Error during compaction: API Error: Request rejected (429) · rate limited, try again later",
            "Error during compaction: API Error: 500 Internal server error",
            "Error during compaction: API Error: 401 invalid x-api-key",
            "claude reported no compaction result (exit code 1): No conversation found",
            "Not enough messages to compact.",
            "",
        ] {
            assert!(!is_size_failure(text), "{text}");
        }
    }

    #[test]
    fn compaction_failures() {
        assert!(is_compaction_failure(
            "<local-command-stderr>Error during compaction: API Error: …</local-command-stderr>"
        ));
        assert!(is_compaction_failure(
            "Compaction failed · conversation could not be reduced below the context limit"
        ));
        assert!(!is_compaction_failure(
            "Compacted (ctrl+o to see full summary)"
        ));
    }
}
