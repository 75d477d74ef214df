//! One session record seen through the span walker: the top-level fields ccrescue reads, and the
//! base64 media blocks inside `message.content` (at any depth of `tool_result` nesting).
use super::json_span::{self as js, Entries, Items, Span, SyntaxError};

/// The fields of one record that matter to ccrescue, as spans into the line.
#[derive(Debug, Default)]
pub struct Record {
    pub kind: Option<Span>,
    pub subtype: Option<Span>,
    pub is_sidechain: bool,
    pub is_api_error: bool,
    pub is_compact_summary: bool,
    pub is_meta: bool,
    pub message: Option<Span>,
    pub content: Option<Span>,
    pub compact_metadata: Option<Span>,
    pub cwd: Option<Span>,
    pub session_id: Option<Span>,
    pub timestamp: Option<Span>,
    pub entrypoint: Option<Span>,
    pub api_error: Option<Span>,
    pub api_error_status: Option<Span>,
    pub version: Option<Span>,
}

impl Record {
    /// Walks the whole line (validating it) and picks out the known top-level fields.
    pub fn read(line: &[u8]) -> Result<Record, SyntaxError> {
        let mut r = Record::default();
        js::for_each_entry(line, |key, value| match &line[key] {
            b"type" => r.kind = Some(value),
            b"subtype" => r.subtype = Some(value),
            b"isSidechain" => r.is_sidechain = js::is_true(line, &value),
            b"isApiErrorMessage" => r.is_api_error = js::is_true(line, &value),
            b"isCompactSummary" => r.is_compact_summary = js::is_true(line, &value),
            b"isMeta" => r.is_meta = js::is_true(line, &value),
            b"message" => r.message = Some(value),
            b"content" => r.content = Some(value),
            b"compactMetadata" => r.compact_metadata = Some(value),
            b"cwd" => r.cwd = Some(value),
            b"sessionId" => r.session_id = Some(value),
            b"timestamp" => r.timestamp = Some(value),
            b"entrypoint" => r.entrypoint = Some(value),
            b"apiError" => r.api_error = Some(value),
            b"apiErrorStatus" => r.api_error_status = Some(value),
            b"version" => r.version = Some(value),
            _ => {}
        })?;
        Ok(r)
    }

    /// `message.content`, when the record has a message.
    pub fn message_content(&self, line: &[u8]) -> Option<Span> {
        js::get(line, self.message.as_ref()?, "content")
    }
}

/// Where a base64 block sits in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSpan {
    /// The whole block object `{"type":"image","source":{…}}`.
    pub block: Span,
    pub is_document: bool,
    pub media_type: Span,
    /// The base64 string, quotes included.
    pub data: Span,
}

/// Calls `found` for every base64 image or document block in the content array at `content`,
/// descending into the `content` of nested blocks (tool results).
pub fn media_blocks(line: &[u8], content: &Span, found: &mut impl FnMut(MediaSpan)) {
    let Ok(items) = Items::of(line, content) else {
        return;
    };
    for block in items.map_while(Result::ok) {
        let Ok(entries) = Entries::of(line, &block) else {
            continue;
        };
        let (mut kind, mut source, mut nested) = (None, None, None);
        for (k, v) in entries.map_while(Result::ok) {
            match &line[k] {
                b"type" => kind = js::raw_str(line, &v),
                b"source" => source = Some(v),
                b"content" => nested = Some(v),
                _ => {}
            }
        }
        if let (Some(kind @ (b"image" | b"document")), Some(source)) = (kind, source)
            && let Some(m) = base64_source(line, &source)
        {
            found(MediaSpan {
                block: block.clone(),
                is_document: kind == b"document",
                media_type: m.0,
                data: m.1,
            });
        }
        if let Some(nested) = nested {
            media_blocks(line, &nested, found);
        }
    }
}

/// `(media_type, data)` of a `{"type":"base64",…}` source.
fn base64_source(line: &[u8], source: &Span) -> Option<(Span, Span)> {
    let (mut is_base64, mut media_type, mut data) = (false, None, None);
    for (k, v) in Entries::of(line, source).ok()?.map_while(Result::ok) {
        match &line[k] {
            b"type" => is_base64 = js::raw_str(line, &v) == Some(b"base64"),
            b"media_type" => media_type = Some(v),
            b"data" => data = Some(v),
            _ => {}
        }
    }
    let data = data.filter(|d| line[d.start] == b'"')?;
    is_base64.then(|| (media_type.unwrap_or(data.start..data.start), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_images_directly_and_inside_tool_results() {
        let line = br#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"tool_result","tool_use_id":"t1","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"BBBBBBBB"}},{"type":"image","source":{"type":"url","url":"https://x"}}]}]},"toolUseResult":{"file":{"base64":"AAAA"}}}"#;
        let r = Record::read(line).unwrap();
        assert_eq!(
            js::raw_str(line, r.kind.as_ref().unwrap()),
            Some(&b"user"[..])
        );
        let content = r.message_content(line).unwrap();
        let mut found = vec![];
        media_blocks(line, &content, &mut |m| found.push(m));
        assert_eq!(
            found.len(),
            2,
            "the url image and the toolUseResult copy are not base64 content blocks"
        );
        assert_eq!(&line[found[0].data.clone()], b"\"AAAA\"");
        assert_eq!(&line[found[0].media_type.clone()], b"\"image/png\"");
        assert!(!found[0].is_document);
        assert!(found[1].is_document);
        assert_eq!(&line[found[1].data.clone()], b"\"BBBBBBBB\"");
        assert!(line[found[0].block.clone()].starts_with(b"{\"type\":\"image\""));
    }

    #[test]
    fn string_content_has_no_media() {
        let line =
            br#"{"type":"user","message":{"content":"just text with \"type\":\"base64\" in it"}}"#;
        let r = Record::read(line).unwrap();
        let mut n = 0;
        media_blocks(line, &r.message_content(line).unwrap(), &mut |_| n += 1);
        assert_eq!(n, 0);
    }
}
