//! Unit tests of the scan on records shaped like claude's (reference §3); the same facts are
//! checked against sessions the real claude wrote in tests/sessions_*.rs.
use base64::Engine as _;

use super::api_error::ErrorKind;
use super::media::tests::png_header;
use super::scan::{ContextSource, SessionScan, scan_bytes_in_parts};

/// The scan of `data` in one piece, checked against the scans of its two parts joined, for a
/// cut at every line start (a large file is scanned in parts: session/scan/parts.rs). Every
/// test here checks the join too.
fn scan_bytes(data: &[u8]) -> SessionScan {
    let whole = super::scan::scan_bytes(data);
    for cut in line_starts(data) {
        assert_joins_to(&whole, data, &[cut]);
    }
    whole
}

/// 0, the offset after every `\n`, and the end.
fn line_starts(data: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr::memchr_iter(b'\n', data).map(|i| i + 1));
    if starts.last() != Some(&data.len()) {
        starts.push(data.len());
    }
    starts
}

/// Everything the scan holds, the fields `--json` leaves out included.
fn assert_joins_to(whole: &SessionScan, data: &[u8], cuts: &[usize]) {
    let joined = scan_bytes_in_parts(data, cuts);
    assert_eq!(
        format!("{joined:#?}"),
        format!("{whole:#?}"),
        "scan in parts cut at {cuts:?}"
    );
}

fn user(text: &str) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"type":"user","message":{{"role":"user","content":{}}},"uuid":"u1","timestamp":"2026-11-23T23:13:56.807Z","entrypoint":"sdk-cli","cwd":"/home/u/proj","sessionId":"55fc","version":"2.1.328"}}"#,
        serde_json::to_string(text).unwrap()
    )
}

fn assistant(id: &str, input: u64, cache_read: u64, output: u64) -> String {
    format!(
        r#"{{"parentUuid":"u1","isSidechain":false,"type":"assistant","message":{{"id":"{id}","role":"assistant","model":"claude-sonnet-4-6","content":[{{"type":"text","text":"Hi"}}],"usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":{cache_read},"output_tokens":{output}}}}},"uuid":"a-{id}","timestamp":"2026-11-23T23:14:00.000Z","sessionId":"55fc","entrypoint":"cli","cwd":"/home/u/proj"}}"#
    )
}

fn error_record(text: &str) -> String {
    format!(
        r#"{{"parentUuid":"a","isSidechain":false,"type":"assistant","message":{{"id":"x","role":"assistant","model":"<synthetic>","content":[{{"type":"text","text":{}}}],"usage":{{"input_tokens":0,"output_tokens":0}}}},"isApiErrorMessage":true,"apiError":"long_context_credits_required","error":"rate_limit","apiErrorStatus":429,"uuid":"e","timestamp":"t"}}"#,
        serde_json::to_string(text).unwrap()
    )
}

fn boundary(post: u64) -> String {
    format!(
        r#"{{"type":"system","subtype":"compact_boundary","parentUuid":null,"logicalParentUuid":"a","content":"Conversation compacted","compactMetadata":{{"trigger":"manual","preTokens":250000,"postTokens":{post}}},"uuid":"b","timestamp":"t"}}"#
    )
}

fn image_result(w: u32, h: u32, filler: usize) -> String {
    let mut png = png_header(w, h);
    png.extend(vec![0u8; filler]);
    let data = base64::engine::general_purpose::STANDARD.encode(&png);
    format!(
        r#"{{"parentUuid":"a","isSidechain":false,"type":"user","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_1","content":[{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"{data}"}}}}]}}]}},"toolUseResult":{{"type":"image","file":{{"base64":"{data}","type":"image/png"}}}},"uuid":"i","timestamp":"t"}}"#
    )
}

fn session(lines: &[String]) -> Vec<u8> {
    let mut v = lines.join("\n").into_bytes();
    v.push(b'\n');
    v
}

const LONG_CONTEXT: &str = "API Error: Usage credits required for 1M context · run /usage-credits to turn them on, or /model to switch to standard context";

#[test]
fn context_is_the_last_real_reply_and_errors_do_not_reset_it() {
    let s = scan_bytes(&session(&[
        user("hello"),
        assistant("m1", 10, 100, 5),
        assistant("m2", 200_000, 59_000, 1_000),
        error_record(LONG_CONTEXT),
    ]));
    assert_eq!(s.records, 4);
    let c = s.context.unwrap();
    assert_eq!(
        (c.tokens, c.source, c.line),
        (260_000, ContextSource::Usage, 3)
    );
    let e = s.open_error().unwrap();
    assert_eq!(
        (e.kind, e.line, e.status, e.during_compaction),
        (ErrorKind::LongContext, 4, Some(429), false)
    );
    assert_eq!(
        e.api_error.as_deref(),
        Some("long_context_credits_required")
    );
    assert!(s.blocked_by_long_context());
    assert_eq!(s.first_prompt.as_deref(), Some("hello"));
    assert_eq!(s.last_model.as_deref(), Some("claude-sonnet-4-6"));
    assert_eq!(s.last_entrypoint.as_deref(), Some("cli"));
    assert_eq!(s.cwd.as_deref(), Some("/home/u/proj"));
    assert_eq!(s.session_id.as_deref(), Some("55fc"));
}

#[test]
fn a_later_reply_or_compaction_resolves_the_error() {
    let s = scan_bytes(&session(&[
        user("x"),
        error_record(LONG_CONTEXT),
        assistant("m3", 1, 0, 1),
    ]));
    assert!(s.last_error.as_ref().unwrap().resolved);
    assert!(!s.blocked_by_long_context());
    let s = scan_bytes(&session(&[error_record(LONG_CONTEXT), boundary(12_345)]));
    assert!(s.open_error().is_none());
    assert_eq!(s.context.unwrap().tokens, 12_345);
    assert_eq!(s.context.unwrap().source, ContextSource::CompactBoundary);
}

#[test]
fn media_counts_only_after_the_last_boundary() {
    let s = scan_bytes(&session(&[
        image_result(2560, 1600, 1000),
        boundary(5_000),
        image_result(1280, 800, 30_000),
        image_result(100, 100, 10),
    ]));
    assert_eq!((s.compactions, s.last_boundary_line), (1, Some(2)));
    assert_eq!(
        s.media.images, 2,
        "the image before the boundary is not sent any more"
    );
    assert_eq!(s.media.est_tokens, 1366 + 14); // 1280×800/750, 100×100/750
    assert_eq!(s.media.largest[0].line, 3);
    assert_eq!(
        (s.media.largest[0].width, s.media.largest[0].height),
        (Some(1280), Some(800))
    );
    assert_eq!(s.media.largest[1].line, 4);
}

#[test]
fn failed_compactions_are_counted_from_local_command_records() {
    let stderr = r#"{"type":"system","subtype":"local_command","content":"<local-command-stderr>Error during compaction: API Error: Usage credits required for 1M context · run /model to switch to standard context</local-command-stderr>","level":"info","uuid":"f","timestamp":"t"}"#;
    let stdout = r#"{"type":"system","subtype":"local_command","content":"<local-command-stdout>Compaction failed · conversation could not be reduced below the context limit</local-command-stdout>","uuid":"g","timestamp":"t"}"#;
    let media = r#"{"type":"system","subtype":"local_command","content":"<local-command-stderr>Compaction failed · attached media exceeds size limits</local-command-stderr>","uuid":"h","timestamp":"t"}"#;
    let s = scan_bytes(&session(&[stderr.into(), stdout.into()]));
    assert_eq!(s.failed_compactions, 2);
    let e = s.open_error().unwrap();
    assert!(e.during_compaction);
    assert_eq!(
        e.kind,
        ErrorKind::LongContext,
        "a failed reduction is the same stuck session"
    );
    assert_eq!(
        e.text,
        "Compaction failed · conversation could not be reduced below the context limit"
    );
    // A later failure of another kind does not hide the long-context error before it.
    let s = scan_bytes(&session(&[
        assistant("m", 120_000, 0, 0),
        error_record(LONG_CONTEXT),
        media.into(),
    ]));
    assert_eq!(s.open_error().unwrap().kind, ErrorKind::Other);
    assert!(s.blocked_by_long_context());
    assert_eq!(s.last_long_context_error.as_ref().unwrap().line, 2);
}

#[test]
fn synthetic_replies_that_are_not_errors_change_nothing() {
    let not_error = r#"{"type":"assistant","isSidechain":false,"message":{"id":"s","role":"assistant","model":"<synthetic>","content":[{"type":"text","text":"No response requested."}],"usage":{"input_tokens":0,"output_tokens":0}},"uuid":"n","timestamp":"t"}"#;
    let s = scan_bytes(&session(&[
        assistant("m", 120_000, 0, 0),
        error_record(LONG_CONTEXT),
        not_error.into(),
    ]));
    assert!(s.blocked_by_long_context());
    assert_eq!(s.context.unwrap().tokens, 120_000);
    assert_eq!(s.last_model.as_deref(), Some("claude-sonnet-4-6"));
}

#[test]
fn absurd_usage_numbers_saturate_instead_of_overflowing() {
    let huge = assistant("m", u64::MAX, 5, 5);
    let s = scan_bytes(&session(&[huge]));
    assert_eq!(s.context.unwrap().tokens, u64::MAX);
}

#[test]
fn bad_lines_are_counted_and_located_and_nothing_panics() {
    let mut data = session(&[
        user("a"),
        "{not json".into(),
        String::new(),
        "[1,2]".into(),
        user("b"),
    ]);
    data.extend_from_slice(b"{\"type\":\"user\",\"mess"); // cut short, but terminated below
    data.extend_from_slice(b"\n\xff\xfe{}\n"); // not UTF-8, not JSON
    let s = scan_bytes(&data);
    assert_eq!(s.blank_lines, 1);
    assert_eq!(s.malformed, 4);
    let lines: Vec<u64> = s.malformed_examples.iter().map(|b| b.line).collect();
    assert_eq!(lines, vec![2, 4, 6, 7]);
    assert_eq!(s.non_utf8_lines, 1);
    assert!(!s.torn_last_line);

    let s = scan_bytes(b"{\"type\":\"user\"}\n{\"type\":\"us");
    assert!(s.torn_last_line);
    assert_eq!((s.records, s.malformed), (1, 1));

    let s = scan_bytes(b"");
    assert_eq!((s.lines, s.records, s.bytes), (0, 0, 0));
    assert!(s.context.is_none());
}

#[test]
fn sidechain_replies_do_not_count_as_context() {
    let side =
        assistant("s", 999_999, 0, 0).replace(r#""isSidechain":false"#, r#""isSidechain":true"#);
    let s = scan_bytes(&session(&[assistant("m", 1000, 0, 0), side]));
    assert_eq!(s.context.unwrap().tokens, 1000);
}

/// A session with every kind of event the scan keeps, in an order where each later event
/// changes what an earlier one left (cleared, replaced, reset, resolved).
fn every_event() -> Vec<Vec<u8>> {
    let side = |r: String| r.replace(r#""isSidechain":false"#, r#""isSidechain":true"#);
    let stderr = r#"{"type":"system","subtype":"local_command","content":"<local-command-stderr>Error during compaction: API Error: Usage credits required for 1M context · run /model to switch to standard context</local-command-stderr>","uuid":"f","timestamp":"t"}"#;
    let model = r#"{"type":"attachment","attachment":{"type":"model","identity":{"modelId":"claude-opus-4-7[1m]"}},"uuid":"m","timestamp":"t"}"#;
    let copy = r#"{"type":"api-request-blob","hash":"ab","message":{"role":"user","content":[]}}"#;
    let no_post = boundary(1).replace(r#","postTokens":1"#, "");
    [
        user("<ide_selection>not typed</ide_selection>"),
        image_result(100, 80, 10),
        assistant("a", 1_000, 0, 5),
        "{not json".into(),
        user("the first prompt"),
        error_record(LONG_CONTEXT),
        side(error_record(LONG_CONTEXT)),
        model.into(),
        copy.into(),
        image_result(300, 200, 40),
        boundary(12_345),
        image_result(200, 50, 20),
        image_result(200, 50, 20),
        String::new(),
        stderr.into(),
        side(assistant("s", 5, 0, 0)),
        user("a later prompt"),
        no_post,
        assistant("b", 2_000, 7, 1),
        error_record("API Error: 500 Internal server error"),
        side(error_record(LONG_CONTEXT)),
        image_result(64, 64, 5),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([b"\xff\xfe{}".to_vec()])
    .collect()
}

#[test]
fn a_scan_in_two_or_three_parts_joins_to_the_scan_in_one() {
    let lines = every_event();
    let forwards = lines.join(&b'\n');
    let mut backwards = lines.clone();
    backwards.reverse();
    let mut backwards = backwards.join(&b'\n');
    backwards.extend_from_slice(b"\n{\"type\":\"us"); // and a torn last line
    for data in [forwards, backwards] {
        let whole = scan_bytes(&data); // every cut into two parts
        let counts = (
            whole.records,
            whole.malformed,
            whole.compactions,
            whole.non_utf8_lines,
        );
        assert!(
            counts.0 > 15 && counts.1 >= 2 && counts.2 == 2,
            "{counts:?}"
        );
        assert!(
            whole.sidechain.records == 3 && whole.media.images > 0,
            "{whole:#?}"
        );
        let starts = line_starts(&data);
        for (i, &a) in starts.iter().enumerate() {
            for &b in &starts[i..] {
                assert_joins_to(&whole, &data, &[a, b]);
            }
        }
    }
}

/// The real transcripts in ../shared/corpus, in name order (at least 20 are expected there).
pub(crate) fn corpus_sessions() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus beside the project (../shared)")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let found = files.len();
    assert!(
        found >= 20,
        "only {found} corpus sessions found in {}",
        dir.display()
    );
    files
}

#[test]
fn the_corpus_scans_the_same_in_parts() {
    for path in corpus_sessions() {
        let data = std::fs::read(&path).unwrap();
        let whole = super::scan::scan_bytes(&data);
        let starts = line_starts(&data);
        let pick = |k: usize| starts[k * (starts.len() - 1) / 8];
        for k in 0..=8 {
            assert_joins_to(&whole, &data, &[pick(k)]);
            assert_joins_to(&whole, &data, &[pick(k / 2), pick(k)]);
            assert_joins_to(&whole, &data, &[pick(k / 4), pick(k / 2), pick(k)]);
        }
    }
}
