//! What in one record trim could replace, found from the span walk: the base64 image and document
//! blocks of `message.content` (any depth), the long text tool outputs, and the duplicate base64
//! claude keeps under `toolUseResult`. Each comes with the bytes that would replace it.
use serde::Serialize;

use crate::session::json_span::{self as js, Span, Value};
use crate::session::media::{self, MediaKind};
use crate::session::record::Record;

use super::rewrite;

/// Text tool outputs are estimated at this many bytes per token.
pub const TEXT_BYTES_PER_TOKEN: u64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Image,
    Document,
    ToolOutput,
    /// The second copy of an image under `toolUseResult` (never sent to the API).
    DuplicateCopy,
}

impl ChangeKind {
    /// A short name for listings.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Image => "image",
            ChangeKind::Document => "document",
            ChangeKind::ToolOutput => "tool output",
            ChangeKind::DuplicateCopy => "toolUseResult copy",
        }
    }

    pub fn noun(self, n: u64) -> &'static str {
        match (self, n == 1) {
            (ChangeKind::Image, true) => "image",
            (ChangeKind::Image, false) => "images",
            (ChangeKind::Document, true) => "document",
            (ChangeKind::Document, false) => "documents",
            (ChangeKind::ToolOutput, true) => "tool output shortened",
            (ChangeKind::ToolOutput, false) => "tool outputs shortened",
            (ChangeKind::DuplicateCopy, true) => "duplicate image copy (toolUseResult)",
            (ChangeKind::DuplicateCopy, false) => "duplicate image copies (toolUseResult)",
        }
    }
}

/// One replaceable block of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub kind: ChangeKind,
    /// What is replaced: a whole block object, or (tool outputs, duplicates) a string value.
    pub span: Span,
    /// What replaces it (valid JSON for the same position).
    pub replacement: Vec<u8>,
    pub media_type: Option<String>,
    pub width: Option<u64>,
    pub height: Option<u64>,
    /// Media: the size of the file the base64 holds (the size the placeholder states).
    pub image_bytes: Option<u64>,
    /// Estimated context tokens the change saves.
    pub est_tokens: u64,
}

impl Candidate {
    pub fn bytes(&self) -> u64 {
        self.span.len() as u64
    }
}

/// Limits that decide what counts as a candidate.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// Text tool outputs longer than this many bytes are candidates.
    pub tool_output_over: Option<u64>,
    /// The backup file name the placeholders point at.
    pub backup_name: &'a str,
}

/// The candidates of one line, in a fixed order (media in document order, then tool outputs):
/// a plan refers to them by their index here. Nested media inside a replaced block are left out.
pub fn find(line: &[u8], record: &Record, limits: &Limits<'_>) -> Vec<Candidate> {
    let mut out = vec![];
    let mut covered = 0..0;
    for m in &record.media {
        if m.block.start < covered.end {
            continue; // inside a block that is itself replaced
        }
        covered = m.block.clone();
        let kind = if m.is_document {
            MediaKind::Document
        } else {
            MediaKind::Image
        };
        let media_type = js::string(line, &m.media_type).unwrap_or_default();
        let data = js::raw_str(line, &m.data).unwrap_or_default();
        let measured = media::measure(0, kind, media_type.clone(), data);
        let text = rewrite::media_placeholder(&measured, limits.backup_name);
        out.push(Candidate {
            kind: match kind {
                MediaKind::Image => ChangeKind::Image,
                MediaKind::Document => ChangeKind::Document,
            },
            span: m.block.clone(),
            replacement: rewrite::text_block(&text),
            media_type: Some(media_type),
            width: measured.width,
            height: measured.height,
            image_bytes: Some(media::decoded_bytes(measured.bytes)),
            est_tokens: measured.est_tokens,
        });
    }
    if let (Some(over), Some(content)) = (limits.tool_output_over, &record.message_content)
        && line.len() as u64 > over
    {
        // The media blocks are in document order and do not overlap, and so are the tool
        // outputs: one sweep tells which outputs lie inside a replaced block (issue 17 point 12:
        // checking every pair took 21 s for 80,000 of each).
        let media = out.len();
        let mut m = 0;
        for span in tool_output_strings(line, content, over) {
            while m < media && out[m].span.end <= span.start {
                m += 1;
            }
            if m < media && out[m].span.start <= span.start && span.end <= out[m].span.end {
                continue;
            }
            if let Some((replacement, cut)) =
                rewrite::shortened_string(&line[span.clone()], over, limits.backup_name)
            {
                out.push(Candidate {
                    kind: ChangeKind::ToolOutput,
                    span,
                    replacement,
                    media_type: None,
                    width: None,
                    height: None,
                    image_bytes: None,
                    est_tokens: cut.div_ceil(TEXT_BYTES_PER_TOKEN),
                });
            }
        }
    }
    out
}

/// The spans of text tool outputs longer than `over` raw bytes: a `tool_result` block's string
/// `content`, or the `text` of the text blocks in its array `content` (top-level blocks only).
fn tool_output_strings(line: &[u8], content: &Span, over: u64) -> Vec<Span> {
    let mut out = vec![];
    let Ok(blocks) = js::Items::of(line, content) else {
        return out;
    };
    for block in blocks.map_while(Result::ok) {
        let is_tool_result = js::get(line, &block, "type")
            .and_then(|t| js::raw_str(line, &t).map(|t| t == b"tool_result"))
            .unwrap_or(false);
        let Some(inner) = is_tool_result
            .then(|| js::get(line, &block, "content"))
            .flatten()
        else {
            continue;
        };
        let long = |s: &Span| line[s.start] == b'"' && s.len() as u64 > over;
        if long(&inner) {
            out.push(inner);
        } else if line[inner.start] == b'[' {
            let Ok(items) = js::Items::of(line, &inner) else {
                continue;
            };
            for item in items.map_while(Result::ok) {
                let is_text = js::get(line, &item, "type")
                    .and_then(|t| js::raw_str(line, &t).map(|t| t == b"text"))
                    .unwrap_or(false);
                if let Some(text) = is_text.then(|| js::get(line, &item, "text")).flatten()
                    && long(&text)
                {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// The non-empty base64 strings anywhere in `toolUseResult`, each to be replaced by `""`: the
/// values under a `base64` key (claude keeps a second copy of a Read image at
/// `toolUseResult.file.base64`), and the `data` of `{"type":"base64",…}` sources (an MCP tool's
/// result is kept there as a list of content blocks, images included; issue 16 point 2).
pub fn duplicate_copies(line: &[u8], record: &Record) -> Vec<Span> {
    let mut out = vec![];
    if let Some(span) = &record.tool_use_result {
        let _ = base64_strings(line, Value::at(line, span.start, 1), &mut out);
    }
    out
}

fn base64_strings(
    line: &[u8],
    v: Value<'_>,
    out: &mut Vec<Span>,
) -> Result<usize, js::SyntaxError> {
    match v.first() {
        Some(b'{') => {
            let (mut data, mut is_base64) = (None, false);
            let end = v.object(|key, v| {
                let key = &line[key];
                if (key == b"base64" || key == b"data") && v.first() == Some(b'"') {
                    let end = v.skip()?;
                    if end - v.start > 2 {
                        if key == b"base64" {
                            out.push(v.start..end);
                        } else {
                            data = Some(v.start..end);
                        }
                    }
                    Ok(end)
                } else if key == b"type" && v.first() == Some(b'"') {
                    let end = v.skip()?;
                    is_base64 = &line[v.start..end] == b"\"base64\"";
                    Ok(end)
                } else {
                    base64_strings(line, v, out)
                }
            })?;
            if let (Some(data), true) = (data, is_base64) {
                out.push(data);
            }
            Ok(end)
        }
        Some(b'[') => v.array(|v| base64_strings(line, v, out)),
        _ => v.skip(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits<'static> = Limits {
        tool_output_over: Some(20),
        backup_name: "s.jsonl.bak",
    };

    /// `s` with every `LONG` replaced by 300 letters.
    fn long(s: &[u8]) -> Vec<u8> {
        String::from_utf8_lossy(s)
            .replace("LONG", &"abcdefghij".repeat(30))
            .into_bytes()
    }

    #[test]
    fn finds_media_tool_outputs_and_the_duplicate_copy() {
        let line = &long(br#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"text","text":"LONG"}]},{"type":"tool_result","tool_use_id":"t2","content":"short"},{"type":"tool_result","tool_use_id":"t3","content":"LONG"}]},"toolUseResult":{"file":{"base64":"AAAA","type":"image/png"}}}"#);
        let r = Record::read(line).unwrap();
        let found = find(line, &r, &LIMITS);
        let kinds: Vec<_> = found.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::Image,
                ChangeKind::ToolOutput,
                ChangeKind::ToolOutput
            ]
        );
        assert_eq!(found[1].span.len(), 302);
        assert!(line[..found[1].span.start].ends_with(br#""text":"#));
        assert!(line[..found[2].span.start].ends_with(br#""t3","content":"#));
        assert!(found[2].replacement.len() < 200);
        let dups = duplicate_copies(line, &r);
        assert_eq!(dups.len(), 1);
        assert_eq!(&line[dups[0].clone()], b"\"AAAA\"");
    }

    #[test]
    fn a_list_shaped_tool_use_result_copy_is_found() {
        // An MCP screenshot tool: toolUseResult holds the content blocks themselves.
        let line = br#"{"message":{"content":[{"type":"tool_result","content":[{"type":"image","source":{"data":"QUJD","media_type":"image/png","type":"base64"}}]}]},"toolUseResult":[{"type":"text","text":"shot"},{"type":"image","source":{"data":"QUJD","media_type":"image/png","type":"base64"}},{"type":"url","data":"keep"}]}"#;
        let r = Record::read(line).unwrap();
        let dups = duplicate_copies(line, &r);
        assert_eq!(dups.len(), 1);
        assert_eq!(&line[dups[0].clone()], b"\"QUJD\"");
        assert!(line[..dups[0].start].ends_with(br#"{"data":"#));
        assert!(dups[0].start > r.tool_use_result.unwrap().start);
    }

    #[test]
    fn without_a_limit_tool_outputs_are_not_candidates() {
        let line = &long(br#"{"message":{"content":[{"type":"tool_result","content":"LONG"}]}}"#);
        let r = Record::read(line).unwrap();
        let limits = Limits {
            tool_output_over: None,
            ..LIMITS
        };
        assert!(find(line, &r, &limits).is_empty());
        assert_eq!(find(line, &r, &LIMITS).len(), 1);
    }
}
