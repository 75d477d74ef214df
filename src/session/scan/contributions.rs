//! What each kind of record contributes to a [`SessionScan`](super::SessionScan): an assistant
//! reply (context, model, API errors), a user turn (first prompt, media), a failed compaction,
//! and the record fields kept raw until the scan ends. [`Scanner`](super::Scanner) dispatches.
use super::{
    ContextEstimate, ContextSource, ErrorRecord, KEEP_EXAMPLES, MediaSummary, SYNTHETIC_MODEL,
    SessionScan,
};
use crate::session::api_error::{self, ErrorKind};
use crate::session::json_span::{self as js, Span};
use crate::session::media::{self, MediaBlock, MediaKind};
use crate::session::record::Record;

/// The model id of a `{"type":"attachment","attachment":{"type":"model","identity":{"modelId"}}}`
/// record (small records; parsed only when the bytes say it is one).
pub(super) fn model_attachment(b: &[u8]) -> Option<String> {
    memchr::memmem::find(b, br#""type":"model""#)?;
    memchr::memmem::find(b, br#""modelId""#)?;
    let v: serde_json::Value = serde_json::from_slice(b).ok()?;
    if v.get("agentId").is_some() || v.get("isSidechain") == Some(&serde_json::Value::Bool(true)) {
        return None; // a subagent's model, not the session's
    }
    let a = v.get("attachment")?;
    (a.get("type")? == "model")
        .then(|| {
            a.get("identity")?
                .get("modelId")?
                .as_str()
                .map(str::to_owned)
        })
        .flatten()
}

pub(super) fn keep_raw(slot: &mut Vec<u8>, b: &[u8], span: &Option<Span>) {
    if let Some(span) = span {
        slot.clear();
        slot.extend_from_slice(&b[span.clone()]);
    }
}

pub(super) fn decode_raw(raw: &[u8]) -> Option<String> {
    serde_json::from_slice(raw).ok()
}

pub(super) fn resolve_error(s: &mut SessionScan) {
    s.set.resolved = true;
    for e in [&mut s.last_error, &mut s.last_long_context_error]
        .into_iter()
        .flatten()
    {
        e.resolved = true;
    }
}

/// Keeps `e` as the last error, and as the last long-context error when it is one.
pub(super) fn record_error(s: &mut SessionScan, e: ErrorRecord) {
    if e.kind == ErrorKind::LongContext {
        s.last_long_context_error = Some(e.clone());
    }
    s.last_error = Some(e);
}

pub(super) fn assistant(s: &mut SessionScan, no: u64, b: &[u8], r: &Record) {
    if r.message.is_none() {
        return;
    }
    let model = r.model.as_ref().and_then(|m| js::string(b, m));
    // claude also writes synthetic replies that are not errors ("No response requested."): only
    // the error flag or a recorded HTTP status make one an API error.
    if r.is_api_error || (r.api_error_status.is_some() && model.as_deref() == Some(SYNTHETIC_MODEL))
    {
        let text = r
            .message_content
            .as_ref()
            .map(|c| any_text(b, c))
            .unwrap_or_default();
        record_error(
            s,
            ErrorRecord {
                line: no,
                kind: api_error::classify(&text),
                text,
                status: r.api_error_status.as_ref().and_then(|v| js::uint(b, v)),
                api_error: r.api_error.as_ref().and_then(|v| js::string(b, v)),
                during_compaction: false,
                resolved: false,
            },
        );
        return;
    }
    if model.as_deref() == Some(SYNTHETIC_MODEL) {
        return; // a made-up reply: neither context usage nor the model in use
    }
    if let Some(usage) = &r.usage {
        let field = |name| {
            js::get(b, usage, name)
                .and_then(|v| js::uint(b, &v))
                .unwrap_or(0)
        };
        let tokens = field("input_tokens")
            .saturating_add(field("cache_creation_input_tokens"))
            .saturating_add(field("cache_read_input_tokens"))
            .saturating_add(field("output_tokens"));
        s.context = Some(ContextEstimate {
            tokens,
            source: ContextSource::Usage,
            line: no,
        });
        s.set.context = true;
    }
    s.last_model = model;
    s.last_entrypoint = r.entrypoint.as_ref().and_then(|e| js::string(b, e));
    s.set.reply = true;
    resolve_error(s);
}

pub(super) fn user(s: &mut SessionScan, no: u64, b: &[u8], r: &Record, content: &Span) {
    if b[content.start] == b'"' {
        let Some(text) = js::string(b, content) else {
            return;
        };
        if text.starts_with("<local-command-std") {
            compaction_failure(s, no, text);
        } else if s.first_prompt.is_none()
            && !r.is_meta
            && !r.is_compact_summary
            && is_typed_prompt(&text)
        {
            s.first_prompt = Some(shorten(&text));
        }
        return;
    }
    if s.first_prompt.is_none()
        && !r.is_meta
        && !r.is_compact_summary
        && let Some(text) = first_text(b, content)
    {
        s.first_prompt = Some(shorten(&text));
    }
    // The blocks were found by `Record::read`'s walk: the content is not walked again.
    for m in &r.media {
        let kind = if m.is_document {
            MediaKind::Document
        } else {
            MediaKind::Image
        };
        let media_type = js::string(b, &m.media_type).unwrap_or_default();
        let data = js::raw_str(b, &m.data).unwrap_or_default();
        add_media(&mut s.media, media::measure(no, kind, media_type, data));
    }
}

pub(super) fn add_media(m: &mut MediaSummary, block: MediaBlock) {
    match block.kind {
        MediaKind::Image => {
            m.images += 1;
            m.image_bytes += block.bytes;
        }
        MediaKind::Document => {
            m.documents += 1;
            m.document_bytes += block.bytes;
        }
    }
    m.est_tokens = m.est_tokens.saturating_add(block.est_tokens);
    let at = m.largest.partition_point(|x| x.bytes >= block.bytes);
    if at < KEEP_EXAMPLES {
        m.largest.insert(at, block);
        m.largest.truncate(KEEP_EXAMPLES);
    }
}

pub(super) fn compaction_failure(s: &mut SessionScan, no: u64, text: String) {
    if !api_error::is_compaction_failure(&text) {
        return;
    }
    s.failed_compactions += 1;
    record_error(
        s,
        ErrorRecord {
            line: no,
            kind: api_error::classify(&text),
            text: strip_command_tags(&text).to_owned(),
            status: None,
            api_error: None,
            during_compaction: true,
            resolved: false,
        },
    );
}

/// The text of a content value: the string itself, or the first `text` block of an array.
/// The content's text: the string, or the first text block of a list.
pub(crate) fn any_text(b: &[u8], content: &Span) -> String {
    if b[content.start] == b'"' {
        return js::string(b, content).unwrap_or_default();
    }
    js::Items::of(b, content)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
        .find_map(|block| js::get(b, &block, "text").and_then(|t| js::string(b, &t)))
        .unwrap_or_default()
}

/// The first text block of a list-shaped content that the person typed (see [`is_typed_prompt`]).
pub(super) fn first_text(b: &[u8], content: &Span) -> Option<String> {
    js::Items::of(b, content)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
        .filter_map(|block| js::get(b, &block, "text").and_then(|t| js::string(b, &t)))
        .find(|t| is_typed_prompt(t))
}

/// False for the text claude itself puts in a user record: `<ide_selection>`,
/// `<system-reminder>`, `<command-name>` and other tagged blocks that precede or replace the
/// prompt, and the `[Request interrupted by user…]` marker (issue 16.3: a real 2.0.37 session's
/// first block was an `<ide_selection>`, and its first untagged text was such a marker).
pub(super) fn is_typed_prompt(text: &str) -> bool {
    let t = text.trim_start();
    !t.is_empty() && !t.starts_with('<') && !t.starts_with("[Request interrupted")
}

/// The first line of a prompt, cut to a length that fits a listing.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// `<local-command-stderr>text</local-command-stderr>` → `text`.
pub(super) fn strip_command_tags(text: &str) -> &str {
    let t = text.trim();
    match (t.find('>'), t.rfind("</")) {
        (Some(open), Some(close)) if t.starts_with('<') && open < close => &t[open + 1..close],
        _ => t,
    }
}
