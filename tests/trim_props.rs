//! Property tests of `trim::apply` over generated sessions (images and documents directly in user
//! messages and nested in tool results, toolUseResult copies, escapes, odd spacing, malformed and
//! torn lines, compact boundaries): the line count is kept, lines without media are byte-identical,
//! no base64 image or document is left in message.content, and everything outside the replaced
//! blocks parses equal to the original.
mod common;

use std::fs;

use base64::Engine as _;
use ccrescue::trim::{self, TrimOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

const PLACEHOLDERS: [&str; 2] = [
    "[image removed by ccrescue: ",
    "[document removed by ccrescue: ",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,20}",
        Just("quote \" backslash \\ newline \n tab \t".to_owned()),
        Just("unicode é € 😀 \u{2028}".to_owned()),
        Just(r#"looks like {"type":"image","source":{"type":"base64"}}"#.to_owned()),
    ]
}

fn media() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(document, bytes, source_first)| {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            let (kind, media_type) = if document {
                ("document", "application/pdf")
            } else {
                ("image", "image/png")
            };
            let source = json!({"type": "base64", "media_type": media_type, "data": data});
            // serde_json keeps keys sorted: "source" < "type", so build both orders by hand.
            if source_first {
                json!({"source": source, "type": kind})
            } else {
                let mut m = serde_json::Map::new();
                m.insert("type".into(), json!(kind));
                m.insert("source".into(), source);
                Value::Object(m)
            }
        })
}

fn block() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(|t| json!({"type": "text", "text": t})),
        media(),
        Just(json!({"type": "image", "source": {"type": "url", "url": "https://x"}})),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        (proptest::collection::vec(inner, 0..4), "[a-z0-9]{4}").prop_map(|(content, id)| {
            json!({"type": "tool_result", "tool_use_id": format!("toolu_{id}"), "content": content})
        })
    })
}

fn record() -> impl Strategy<Value = String> {
    let user = (
        proptest::collection::vec(block(), 0..4),
        "[a-f0-9]{8}",
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(content, uuid, copy, spaced)| {
            let mut r = json!({
                "parentUuid": format!("p-{uuid}"), "isSidechain": false, "type": "user",
                "message": {"role": "user", "content": content},
                "uuid": uuid, "timestamp": "2026-01-01T00:00:00Z", "sessionId": "s",
            });
            if copy {
                r["toolUseResult"] =
                    json!({"type": "image", "file": {"base64": "QUJDRA==", "type": "image/png"}});
            }
            let line = r.to_string();
            if spaced { spaced_out(&line) } else { line }
        });
    prop_oneof![
        6 => user,
        1 => text().prop_map(|t| json!({"type": "user", "uuid": "u", "message": {"role": "user", "content": t}}).to_string()),
        1 => Just(r#"{"type":"system","subtype":"compact_boundary","uuid":"b","compactMetadata":{"postTokens":100}}"#.to_owned()),
        1 => Just(r#"{"type":"assistant","uuid":"a","message":{"model":"m","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":1000}}}"#.to_owned()),
        1 => Just(r#"{"type":"user","message":{"content":[{"type":"image","source":{"type":"base64","data":"QUJD"}}"#.to_owned()),
        1 => Just("".to_owned()),
    ]
}

/// The same JSON with a space after every `:` and `,` outside strings.
fn spaced_out(line: &str) -> String {
    let (mut out, mut in_str, mut escaped) = (String::new(), false, false);
    for c in line.chars() {
        out.push(c);
        match c {
            _ if escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            ':' | ',' if !in_str => out.push(' '),
            _ => {}
        }
    }
    out
}

/// `v` with base64 media in content (and placeholders) as "MEDIA", toolUseResult base64 as "".
fn canonical(mut v: Value) -> Value {
    fn content(v: &mut Value) {
        let Value::Array(blocks) = v else { return };
        for b in blocks {
            let is_media = matches!(b["type"].as_str(), Some("image" | "document"))
                && b["source"]["type"] == "base64";
            let is_placeholder = b["type"] == "text"
                && b["text"]
                    .as_str()
                    .is_some_and(|t| PLACEHOLDERS.iter().any(|p| t.starts_with(p)));
            if is_media || is_placeholder {
                *b = json!("MEDIA");
            } else if let Some(inner) = b.get_mut("content") {
                content(inner);
            }
        }
    }
    if let Some(c) = v.pointer_mut("/message/content") {
        content(c);
    }
    if let Some(b) = v.pointer_mut("/toolUseResult/file/base64") {
        *b = json!("");
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn trim_keeps_everything_but_the_media(
        lines in proptest::collection::vec(record(), 1..12),
        torn in any::<bool>(),
        all in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut data = lines.join("\n");
        if !torn {
            data.push('\n');
        }
        fs::write(&path, &data).unwrap();
        let trimmed = trim::apply(&path, &TrimOptions { all, ..Default::default() }).unwrap();
        let after = fs::read_to_string(&path).unwrap();
        if trimmed.plan.is_empty() {
            prop_assert_eq!(&after, &data);
            return Ok(());
        }
        prop_assert_eq!(fs::read_to_string(&trimmed.backup).unwrap(), data.clone());
        let old: Vec<&str> = data.split('\n').collect();
        let new: Vec<&str> = after.split('\n').collect();
        prop_assert_eq!(old.len(), new.len(), "line count");
        let boundary = trimmed.plan.after_line.unwrap_or(0) as usize;
        for (i, (o, n)) in old.iter().zip(&new).enumerate() {
            let changed = trimmed.plan.changes.iter().any(|c| c.line as usize == i + 1);
            let Ok(ov) = serde_json::from_str::<Value>(o) else {
                prop_assert_eq!(o, n, "a line that is not JSON is kept verbatim");
                continue;
            };
            if !changed {
                prop_assert_eq!(o, n, "line {} has no change and must be identical", i + 1);
            }
            let nv: Value = serde_json::from_str(n).unwrap();
            if i + 1 > boundary && ov.get("message").is_some() {
                prop_assert_eq!(common::base64_media_in(&nv["message"]["content"]), 0, "line {}: {}", i + 1, n);
            }
            prop_assert_eq!(canonical(ov), canonical(nv), "line {}", i + 1);
        }
    }
}
