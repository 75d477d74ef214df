//! The pure line rewriter: bytes in, bytes out. A rewritten line is the original with some byte
//! spans replaced (splicing, not re-serialising), so everything outside the replaced blocks stays
//! byte-identical. Also makes the replacement texts: placeholders and shortened tool outputs.
use std::io::{self, Write};

use crate::format::human_bytes;
use crate::session::json_span::Span;
use crate::session::media::{self, MediaBlock, MediaKind};
use crate::session::record::Record;

use super::blocks::{self, Limits};

/// One span of a line and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub span: Span,
    pub with: Vec<u8>,
}

/// Writes `line` with `splices` applied. `splices` are sorted by start and do not overlap.
pub fn write_spliced(
    line: &[u8],
    splices: &[Splice],
    out: &mut (impl Write + ?Sized),
) -> io::Result<()> {
    let mut at = 0;
    for s in splices {
        debug_assert!(s.span.start >= at, "splices overlap or are unsorted");
        out.write_all(&line[at..s.span.start])?;
        out.write_all(&s.with)?;
        at = s.span.end;
    }
    out.write_all(&line[at..])
}

/// Length of `line` once `splices` are applied.
pub fn spliced_len(line_len: usize, splices: &[Splice]) -> usize {
    splices
        .iter()
        .fold(line_len, |n, s| n - s.span.len() + s.with.len())
}

/// Sorts `splices` and drops any that overlap an earlier one (a nested block of a replaced one).
pub fn normalize(splices: &mut Vec<Splice>) {
    splices.sort_by_key(|s| s.span.start);
    let mut end = 0;
    splices.retain(|s| {
        let keep = s.span.start >= end;
        if keep {
            end = s.span.end;
        }
        keep
    });
}

/// Rewrites one line replacing every candidate block (and the `toolUseResult` copies on a line
/// that had media replaced). `None` when the line is not a record or has nothing to replace.
pub fn rewrite_line(line: &[u8], limits: &Limits<'_>, drop_copies: bool) -> Option<Vec<u8>> {
    let record = Record::read(line).ok()?;
    let found = blocks::find(line, &record, limits);
    let had_media = found
        .iter()
        .any(|c| c.kind != blocks::ChangeKind::ToolOutput);
    let mut splices: Vec<Splice> = found
        .into_iter()
        .map(|c| Splice {
            span: c.span,
            with: c.replacement,
        })
        .collect();
    if drop_copies && had_media {
        splices.extend(copy_splices(line, &record));
    }
    if splices.is_empty() {
        return None;
    }
    normalize(&mut splices);
    let mut out = Vec::with_capacity(spliced_len(line.len(), &splices));
    write_spliced(line, &splices, &mut out).expect("writing to memory cannot fail");
    Some(out)
}

/// The splices that empty the duplicate base64 copies under `toolUseResult`.
pub fn copy_splices(line: &[u8], record: &Record) -> Vec<Splice> {
    blocks::duplicate_copies(line, record)
        .into_iter()
        .map(|span| Splice {
            span,
            with: b"\"\"".to_vec(),
        })
        .collect()
}

/// `{"type":"text","text":"…"}` for `text`.
pub fn text_block(text: &str) -> Vec<u8> {
    let mut out = br#"{"type":"text","text":"#.to_vec();
    out.extend(serde_json::to_vec(text).expect("a string serialises"));
    out.push(b'}');
    out
}

/// `[image removed by ccrescue: image/png 1280×800, 1.9 MB — original in <backup>]`.
pub fn media_placeholder(m: &MediaBlock, backup_name: &str) -> String {
    let what = match m.kind {
        MediaKind::Image => "image",
        MediaKind::Document => "document",
    };
    let media_type = if m.media_type.is_empty() {
        "unknown type"
    } else {
        &m.media_type
    };
    let dims = match (m.width, m.height) {
        (Some(w), Some(h)) => format!(" {w}×{h}"),
        _ => String::new(),
    };
    let size = human_bytes(media::decoded_bytes(m.bytes));
    format!("[{what} removed by ccrescue: {media_type}{dims}, {size} — original in {backup_name}]")
}

/// A JSON string (`raw`, quotes included) cut to about `keep` bytes of text: its head and tail
/// around a marker that says how much was cut. Returns the new JSON string and the bytes of text
/// cut, or `None` when the text is not longer than `keep` (or does not decode).
pub fn shortened_string(raw: &[u8], keep: u64, backup_name: &str) -> Option<(Vec<u8>, u64)> {
    let text: String = serde_json::from_slice(raw).ok()?;
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    if text.len() <= keep {
        return None;
    }
    let mut head = keep / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - (keep - keep / 2);
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    let cut = &text[head..tail];
    let lines = cut.bytes().filter(|&b| b == b'\n').count();
    let marker = format!(
        "\n[… {} ({} line{}) cut by ccrescue — original in {backup_name} …]\n",
        human_bytes(cut.len() as u64),
        crate::format::thousands(lines as u64),
        if lines == 1 { "" } else { "s" }
    );
    let new = [&text[..head], &marker, &text[tail..]].concat();
    let encoded = serde_json::to_vec(&new).expect("a string serialises");
    (encoded.len() < raw.len()).then_some((encoded, cut.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const LIMITS: Limits<'static> = Limits {
        tool_output_over: None,
        backup_name: "abc.jsonl.bak",
    };

    fn png_b64(w: u32, h: u32) -> String {
        use base64::Engine as _;
        let mut png = crate::session::media::tests::png_header(w, h);
        png.extend(vec![0u8; 3000]);
        base64::engine::general_purpose::STANDARD.encode(png)
    }

    #[test]
    fn replaces_an_image_and_keeps_every_other_byte() {
        let data = png_b64(1280, 800);
        let line = format!(
            r#"{{"parentUuid":"p1","type":"user","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_1","content":[{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"{data}"}}}}]}}]}},"uuid":"u1",  "toolUseResult":{{"type":"image","file":{{"base64":"{data}","type":"image/png"}}}}}}"#
        );
        let out = rewrite_line(line.as_bytes(), &LIMITS, true).unwrap();
        let out = String::from_utf8(out).unwrap();
        let placeholder = r#"{"type":"text","text":"[image removed by ccrescue: image/png 1280×800, 3.0 KB — original in abc.jsonl.bak]"}"#;
        let want = line
            .replacen(
                &format!(
                    r#"{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"{data}"}}}}"#
                ),
                placeholder,
                1,
            )
            .replacen(&format!(r#""base64":"{data}""#), r#""base64":"""#, 1);
        assert_eq!(out, want);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["message"]["content"][0]["tool_use_id"], "toolu_1");
        assert_eq!(v["uuid"], "u1");
    }

    #[test]
    fn a_line_without_media_is_left_alone() {
        for line in [
            &br#"{"type":"user","message":{"content":"hi"}}"#[..],
            br#"{"type":"user","message":{"content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}}"#,
            b"not json",
            br#"{"type":"user","message":{"content":[{"type":"image","source":{"type":"base64","data":"AA"}}]"#,
        ] {
            assert_eq!(rewrite_line(line, &LIMITS, true), None);
        }
    }

    #[test]
    fn documents_and_images_directly_in_a_user_message() {
        let line = br#"{"message":{"content":[{"type":"text","text":"see"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"QUJD"}},{"type":"image","source":{"data":"!!!!","type":"base64"}}]}}"#;
        let out = String::from_utf8(rewrite_line(line, &LIMITS, true).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"message":{"content":[{"type":"text","text":"see"},{"type":"text","text":"[document removed by ccrescue: application/pdf, 3 B — original in abc.jsonl.bak]"},{"type":"text","text":"[image removed by ccrescue: unknown type, 3 B — original in abc.jsonl.bak]"}]}}"#
        );
    }

    #[test]
    fn the_tool_use_result_copy_stays_without_drop_copies() {
        let line = br#"{"message":{"content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"QUJD"}}]},"toolUseResult":{"file":{"base64":"QUJD"}}}"#;
        let out = rewrite_line(line, &LIMITS, false).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with(r#""toolUseResult":{"file":{"base64":"QUJD"}}}"#)
        );
    }

    #[test]
    fn shortens_a_tool_output_to_head_marker_tail() {
        let text = format!("{}\n{}", "a".repeat(50), "é".repeat(50));
        let raw = serde_json::to_vec(&text).unwrap();
        let (new, cut) = shortened_string(&raw, 20, "x.bak").unwrap();
        let new: String = serde_json::from_slice(&new).unwrap();
        assert_eq!(
            new,
            "aaaaaaaaaa\n[… 131 B (1 line) cut by ccrescue — original in x.bak …]\nééééé"
        );
        assert_eq!(cut, text.len() as u64 - 20);
        assert_eq!(shortened_string(&raw, 1000, "x.bak"), None);
        assert_eq!(shortened_string(b"\"\\ud800\"", 0, "x.bak"), None);
    }

    #[test]
    fn tool_outputs_only_over_the_limit() {
        let long = "x".repeat(500);
        let line = format!(
            r#"{{"message":{{"content":[{{"type":"tool_result","tool_use_id":"t","content":"{long}"}},{{"type":"tool_result","tool_use_id":"t2","content":[{{"type":"text","text":"{long}"}}]}}]}}}}"#
        );
        let limits = Limits {
            tool_output_over: Some(100),
            ..LIMITS
        };
        let out = rewrite_line(line.as_bytes(), &limits, true).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        for text in [
            &v["message"]["content"][0]["content"],
            &v["message"]["content"][1]["content"][0]["text"],
        ] {
            let t = text.as_str().unwrap();
            assert!(t.len() < 250 && t.starts_with(&"x".repeat(50)), "{t}");
            assert!(t.contains("400 B (0 lines) cut by ccrescue"), "{t}");
        }
        assert_eq!(v["message"]["content"][1]["tool_use_id"], "t2");
        let limits = Limits {
            tool_output_over: Some(600),
            ..LIMITS
        };
        assert_eq!(rewrite_line(line.as_bytes(), &limits, true), None);
    }
}
