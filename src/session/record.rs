//! One session record seen through the span walker, in one walk of the line: the top-level fields
//! ccrescue reads, the message fields, and the base64 media blocks inside `message.content` (at
//! any depth of `tool_result` nesting), found while the walk passes them.
use super::json_span::{self as js, Span, SyntaxError, Value};

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
    /// `message.content`, `message.model` and `message.usage` (last occurrences: `JSON.parse`
    /// keeps the last of repeated keys, and that is what claude sends).
    pub message_content: Option<Span>,
    pub model: Option<Span>,
    pub usage: Option<Span>,
    /// The base64 blocks in `message.content`, in document order (a block before its nested ones).
    pub media: Vec<MediaSpan>,
    pub content: Option<Span>,
    pub compact_metadata: Option<Span>,
    pub cwd: Option<Span>,
    pub session_id: Option<Span>,
    pub timestamp: Option<Span>,
    pub entrypoint: Option<Span>,
    pub api_error: Option<Span>,
    pub api_error_status: Option<Span>,
    pub version: Option<Span>,
    /// The top-level `toolUseResult` (where claude keeps a second copy of a Read image).
    pub tool_use_result: Option<Span>,
}

impl Record {
    /// Walks the whole line (validating it) and picks out the known fields.
    pub fn read(line: &[u8]) -> Result<Record, SyntaxError> {
        let mut r = Record::default();
        js::for_each_entry(line, |key, v| {
            if &line[key.clone()] == b"message" {
                let end = r.read_message(line, v)?;
                r.message = Some(v.start..end);
                return Ok(end);
            }
            let end = v.skip()?;
            let value = v.start..end;
            match &line[key] {
                b"type" => r.kind = Some(value),
                b"subtype" => r.subtype = Some(value),
                b"isSidechain" => r.is_sidechain = js::is_true(line, &value),
                b"isApiErrorMessage" => r.is_api_error = js::is_true(line, &value),
                b"isCompactSummary" => r.is_compact_summary = js::is_true(line, &value),
                b"isMeta" => r.is_meta = js::is_true(line, &value),
                b"content" => r.content = Some(value),
                b"compactMetadata" => r.compact_metadata = Some(value),
                b"cwd" => r.cwd = Some(value),
                b"sessionId" => r.session_id = Some(value),
                b"timestamp" => r.timestamp = Some(value),
                b"entrypoint" => r.entrypoint = Some(value),
                b"apiError" => r.api_error = Some(value),
                b"apiErrorStatus" => r.api_error_status = Some(value),
                b"version" => r.version = Some(value),
                b"toolUseResult" => r.tool_use_result = Some(value),
                _ => {}
            }
            Ok(end)
        })?;
        Ok(r)
    }

    /// Walks the `message` value; a later `message` key replaces what an earlier one gave.
    fn read_message(&mut self, line: &[u8], v: Value<'_>) -> Result<usize, SyntaxError> {
        (self.message_content, self.model, self.usage) = (None, None, None);
        self.media.clear();
        if v.first() != Some(b'{') {
            return v.skip();
        }
        v.object(|key, v| {
            let key = &line[key];
            if key == b"content" {
                self.media.clear();
                let end = content_media(line, v, &mut self.media)?;
                self.message_content = Some(v.start..end);
                return Ok(end);
            }
            let end = v.skip()?;
            match key {
                b"model" => self.model = Some(v.start..end),
                b"usage" => self.usage = Some(v.start..end),
                _ => {}
            }
            Ok(end)
        })
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
    let mut media = vec![];
    // A line that fails to walk yields the blocks found before the error.
    let _ = content_media(line, Value::at(line, content.start, 0), &mut media);
    media.into_iter().for_each(found);
}

/// Walks a content value, adding its base64 blocks to `found`; returns the value's end.
fn content_media(
    line: &[u8],
    content: Value<'_>,
    found: &mut Vec<MediaSpan>,
) -> Result<usize, SyntaxError> {
    if content.first() != Some(b'[') {
        return content.skip();
    }
    content.array(|block| block_media(line, block, found))
}

/// Walks one content block: a base64 block is added before the blocks nested in its `content`.
/// Of repeated keys the last counts.
fn block_media(
    line: &[u8],
    block: Value<'_>,
    found: &mut Vec<MediaSpan>,
) -> Result<usize, SyntaxError> {
    if block.first() != Some(b'{') {
        return block.skip();
    }
    let mark = found.len();
    let (mut kind, mut source) = (None, None);
    let end = block.object(|key, v| match &line[key] {
        b"type" => {
            let end = v.skip()?;
            kind = js::raw_str(line, &(v.start..end));
            Ok(end)
        }
        b"source" => {
            let (end, media) = base64_source(line, v)?;
            source = media;
            Ok(end)
        }
        b"content" => {
            found.truncate(mark);
            content_media(line, v, found)
        }
        _ => v.skip(),
    })?;
    if let (Some(kind @ (b"image" | b"document")), Some((media_type, data))) = (kind, source) {
        let media = MediaSpan {
            block: block.start..end,
            is_document: kind == b"document",
            media_type,
            data,
        };
        found.insert(mark, media);
    }
    Ok(end)
}

/// Walks a `source` value: its end, and `(media_type, data)` if it is a `{"type":"base64",…}`.
fn base64_source(
    line: &[u8],
    source: Value<'_>,
) -> Result<(usize, Option<(Span, Span)>), SyntaxError> {
    if source.first() != Some(b'{') {
        return Ok((source.skip()?, None));
    }
    let (mut is_base64, mut media_type, mut data) = (false, None, None);
    let end = source.object(|key, v| {
        let end = v.skip()?;
        let value = v.start..end;
        match &line[key] {
            b"type" => is_base64 = js::raw_str(line, &value) == Some(b"base64"),
            b"media_type" => media_type = Some(value),
            b"data" => data = Some(value),
            _ => {}
        }
        Ok(end)
    })?;
    let media = data
        .filter(|d: &Span| line[d.start] == b'"')
        .filter(|_| is_base64)
        .map(|d| (media_type.unwrap_or(d.start..d.start), d));
    Ok((end, media))
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
        let content = r.message_content.clone().unwrap();
        assert_eq!(r.media, {
            let mut v = vec![];
            media_blocks(line, &content, &mut |m| v.push(m));
            v
        });
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
        media_blocks(line, r.message_content.as_ref().unwrap(), &mut |_| n += 1);
        assert!(r.media.is_empty());
        assert_eq!(n, 0);
    }

    #[test]
    fn of_repeated_message_keys_the_last_counts_as_in_json_parse() {
        // Issue 17 point 15: claude's JSON.parse keeps the last `content`; ccrescue read the first.
        let line = br#"{"type":"user","message":{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}],"model":"a","content":"only text","model":"b"}}"#;
        let r = Record::read(line).unwrap();
        assert_eq!(&line[r.message_content.clone().unwrap()], br#""only text""#);
        assert!(r.media.is_empty(), "the image is in the copy claude drops");
        assert_eq!(&line[r.model.clone().unwrap()], br#""b""#);
        let line = br#"{"type":"user","message":{"content":"first","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}}"#;
        let r = Record::read(line).unwrap();
        assert_eq!(r.media.len(), 1, "the image is in the copy claude keeps");
    }
}
