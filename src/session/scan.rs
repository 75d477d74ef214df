//! One streaming pass over a session file that measures everything ccrescue decides on: records,
//! bad lines, context tokens now, compactions, base64 media after the last boundary, the last API
//! error, and the model, entrypoint and working directory the session last recorded.
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::api_error::ErrorKind;
use super::json_span as js;
use super::lines::{Line, for_each_line_in};
use super::media::MediaBlock;
use super::record::{Class, Record};

mod contributions;
#[cfg(unix)]
mod cut_short;
mod join;
#[cfg(unix)]
mod mapped;
mod parts;
pub(crate) use contributions::any_text;
use contributions::{
    assistant, compaction_failure, decode_raw, keep_raw, model_attachment, resolve_error, user,
};

/// How many examples of bad lines and large blocks a scan keeps.
const KEEP_EXAMPLES: usize = 10;
/// The model claude writes on the records it makes up itself (API errors).
const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Where the context-size figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextSource {
    /// The `usage` of the last real assistant reply.
    Usage,
    /// `compactMetadata.postTokens` of the last compact boundary (no reply since).
    CompactBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContextEstimate {
    pub tokens: u64,
    pub source: ContextSource,
    pub line: u64,
}

/// The last error claude recorded in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    pub line: u64,
    pub kind: ErrorKind,
    pub text: String,
    /// HTTP status, when claude recorded one.
    pub status: Option<u64>,
    /// claude's own classification (`apiError`, 2.1.328+ only).
    pub api_error: Option<String>,
    /// True for a failed `/compact` (a local-command record), false for an API error reply.
    pub during_compaction: bool,
    /// True when a real reply or a compaction came after it: the session moved on.
    pub resolved: bool,
}

/// Base64 media after the last compact boundary (what the next request still carries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MediaSummary {
    pub images: u64,
    pub image_bytes: u64,
    pub documents: u64,
    pub document_bytes: u64,
    pub est_tokens: u64,
    /// The largest blocks by bytes, largest first.
    pub largest: Vec<MediaBlock>,
}

/// Records of one class counted together: how many, their bytes, and the base64 media in them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordGroup {
    pub records: u64,
    pub bytes: u64,
    pub images: u64,
    pub documents: u64,
    /// The base64 bytes of those images and documents.
    pub media_bytes: u64,
}

/// A line that is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub line: u64,
    pub problem: String,
}

/// Everything one pass over a session file learns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionScan {
    pub path: PathBuf,
    pub bytes: u64,
    pub lines: u64,
    pub records: u64,
    pub blank_lines: u64,
    pub malformed: u64,
    pub malformed_examples: Vec<BadLine>,
    pub non_utf8_lines: u64,
    pub non_utf8_examples: Vec<u64>,
    pub torn_last_line: bool,
    pub largest_line: u64,
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub version: Option<String>,
    pub last_timestamp: Option<String>,
    pub first_prompt: Option<String>,
    pub context: Option<ContextEstimate>,
    pub compactions: u64,
    pub last_boundary_line: Option<u64>,
    pub failed_compactions: u64,
    pub media: MediaSummary,
    pub last_error: Option<ErrorRecord>,
    /// The last long-context error: a later error of another kind (a failed compaction after
    /// the 429, say) does not make the session any less stuck.
    pub last_long_context_error: Option<ErrorRecord>,
    pub last_model: Option<String>,
    pub last_entrypoint: Option<String>,
    /// `user`, `assistant` and `system` records: the conversation (the context and the media
    /// above are the conversation's alone).
    pub conversation_records: u64,
    /// claude's copies of its requests (`api-request`, `-shape`, `-blob`), counted apart: not
    /// read back on `--resume`, so no part of the context (issue 11 point 2).
    pub request_copies: RecordGroup,
    /// Every other record (attachments, queue operations, costs, …).
    pub other_records: RecordGroup,
    /// The model claude last recorded the session runs on (a `model` attachment, 2.1.3xx), as
    /// written, `[1m]` included.
    pub recorded_model: Option<String>,
    /// The `isSidechain` records in the file: a subagent inlined in its session (early 2.0.x).
    pub sidechain: super::subagents::Sidechain,
    /// Which of the last-wins values above this scan's own records set (see [`join`]).
    #[serde(skip)]
    pub(crate) set: Set,
}

/// What the records of a scan did to the values that the latest record decides, so that the
/// scans of a file's consecutive parts join into the scan of the whole ([`join`]): a part whose
/// `context` is `None` may have cleared it, or never touched it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Set {
    /// An assistant reply or a compact boundary set `context` (a boundary may set it to `None`).
    pub context: bool,
    /// A real assistant reply set `last_model` and `last_entrypoint` (either may be `None`).
    pub reply: bool,
    /// A reply or a compaction resolved the errors before it.
    pub resolved: bool,
}

impl SessionScan {
    /// The last error, if nothing has happened since that would have cleared it.
    pub fn open_error(&self) -> Option<&ErrorRecord> {
        self.last_error.as_ref().filter(|e| !e.resolved)
    }

    /// True when the session is blocked by the long-context gate right now.
    pub fn blocked_by_long_context(&self) -> bool {
        self.last_long_context_error
            .as_ref()
            .is_some_and(|e| !e.resolved)
    }
}

/// Scans the session file at `path`; a large one in parts, side by side (see [`parts`]).
pub fn scan(path: &Path) -> Result<SessionScan> {
    let file =
        File::open(path).with_context(|| format!("cannot open session {}", path.display()))?;
    let (state, bytes) = parts::scan_file(&file, Scanner::new(path))
        .with_context(|| format!("cannot read session {}", path.display()))?;
    Ok(state.finish(bytes))
}

/// Under `--json`: a session cut short while a scan maps it is then also reported as a JSON
/// error on stdout ([`cut_short`]; only unix maps).
pub fn report_cut_short_as_json() {
    #[cfg(unix)]
    cut_short::report_as_json();
}

/// Scans bytes already in memory (tests, and callers that hold a line).
pub fn scan_bytes(data: &[u8]) -> SessionScan {
    let mut state = Scanner::default();
    let bytes = for_each_line_in(
        data,
        |_| {},
        |line| {
            state.line(line);
        },
    );
    state.finish(bytes)
}

/// The scan as a state machine fed one line at a time, for passes that do more than scan (trim).
#[derive(Default)]
pub struct Scanner {
    scan: SessionScan,
    // Raw (still escaped) values of the latest records; decoded once at the end.
    cwd: Vec<u8>,
    session_id: Vec<u8>,
    timestamp: Vec<u8>,
    version: Vec<u8>,
}

impl Scanner {
    pub fn new(path: &Path) -> Scanner {
        Scanner {
            scan: SessionScan {
                path: path.to_owned(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// What the scan has learnt so far (`bytes` and the decoded strings are filled by `finish`).
    pub fn so_far(&self) -> &SessionScan {
        &self.scan
    }

    /// Takes in the next line; returns its record when it is one.
    pub fn line(&mut self, line: Line<'_>) -> Option<Record> {
        let s = &mut self.scan;
        s.lines += 1;
        s.largest_line = s.largest_line.max(line.bytes.len() as u64);
        if !line.terminated {
            s.torn_last_line = true;
        }
        if line.bytes.iter().all(u8::is_ascii_whitespace) {
            s.blank_lines += 1;
            return None;
        }
        if !line.utf8 {
            s.non_utf8_lines += 1;
            if s.non_utf8_examples.len() < KEEP_EXAMPLES {
                s.non_utf8_examples.push(line.number);
            }
        }
        match Record::read(line.bytes) {
            Ok(record) => {
                s.records += 1;
                self.record(line.number, line.bytes, &record);
                Some(record)
            }
            Err(e) => {
                s.malformed += 1;
                if s.malformed_examples.len() < KEEP_EXAMPLES {
                    s.malformed_examples.push(BadLine {
                        line: line.number,
                        problem: e.to_string(),
                    });
                }
                None
            }
        }
    }

    fn record(&mut self, no: u64, b: &[u8], r: &Record) {
        if r.is_sidechain {
            self.scan.sidechain.take(b, r);
        }
        let group = match r.class(b) {
            Class::Conversation => {
                self.scan.conversation_records += 1;
                None
            }
            Class::RequestCopy => Some(&mut self.scan.request_copies),
            Class::Other => {
                if let Some(model) = model_attachment(b) {
                    self.scan.recorded_model = Some(model);
                }
                Some(&mut self.scan.other_records)
            }
        };
        if let Some(g) = group {
            g.records += 1;
            g.bytes += b.len() as u64;
            for m in &r.media {
                if m.is_document {
                    g.documents += 1;
                } else {
                    g.images += 1;
                }
                g.media_bytes += m.data.len().saturating_sub(2) as u64;
            }
        }
        keep_raw(&mut self.cwd, b, &r.cwd);
        keep_raw(&mut self.session_id, b, &r.session_id);
        keep_raw(&mut self.timestamp, b, &r.timestamp);
        keep_raw(&mut self.version, b, &r.version);
        let kind = r
            .kind
            .as_ref()
            .and_then(|k| js::raw_str(b, k))
            .unwrap_or_default();
        let subtype = r
            .subtype
            .as_ref()
            .and_then(|k| js::raw_str(b, k))
            .unwrap_or_default();
        let s = &mut self.scan;
        match (kind, subtype) {
            (b"assistant", _) if !r.is_sidechain => assistant(s, no, b, r),
            (b"system", b"compact_boundary") => {
                s.compactions += 1;
                s.last_boundary_line = Some(no);
                s.media = MediaSummary::default();
                let post = r
                    .compact_metadata
                    .as_ref()
                    .and_then(|m| js::get(b, m, "postTokens"));
                s.context = post
                    .and_then(|p| js::uint(b, &p))
                    .map(|tokens| ContextEstimate {
                        tokens,
                        source: ContextSource::CompactBoundary,
                        line: no,
                    });
                s.set.context = true;
                resolve_error(s);
            }
            (b"system", b"local_command") => {
                if let Some(text) = r.content.as_ref().and_then(|c| js::string(b, c)) {
                    compaction_failure(s, no, text);
                }
            }
            (b"user", _) if !r.is_sidechain => {
                if let Some(content) = &r.message_content {
                    user(s, no, b, r, content);
                }
            }
            _ => {}
        }
    }

    pub fn finish(mut self, bytes: u64) -> SessionScan {
        let s = &mut self.scan;
        s.bytes = bytes;
        s.cwd = decode_raw(&self.cwd);
        s.session_id = decode_raw(&self.session_id);
        s.last_timestamp = decode_raw(&self.timestamp);
        s.version = decode_raw(&self.version);
        self.scan
    }
}

/// Scans `data` as [`scan`] scans a large file: in parts cut at `cuts` (byte offsets, in order),
/// each part on its own, joined in order.
#[cfg(test)]
pub(crate) fn scan_bytes_in_parts(data: &[u8], cuts: &[usize]) -> SessionScan {
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cuts.iter().copied())
        .chain(std::iter::once(data.len()))
        .collect();
    let mut bytes = 0;
    let mut joined: Option<Scanner> = None;
    for part in bounds.windows(2) {
        let mut state = Scanner::default();
        bytes += super::lines::for_each_line(&data[part[0]..part[1]], |line| {
            state.line(line);
        })
        .expect("reading memory cannot fail");
        joined = Some(match joined {
            Some(before) => before.then(state),
            None => state,
        });
    }
    joined.expect("there is one part at least").finish(bytes)
}
