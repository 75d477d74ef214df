//! Checks the generator against an independent re-reading of its output with serde_json.
use std::collections::{HashMap, HashSet};

use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde_json::Value;

use super::*;

fn generate(size: u64, seed: u64, huge: Option<u64>) -> (Vec<u8>, GenSummary) {
    let opts = GenOptions {
        size,
        seed,
        huge_line: huge,
        ..GenOptions::default()
    };
    let mut buf = Vec::new();
    let summary = write_session(&mut buf, &opts).unwrap();
    (buf, summary)
}

/// Width and height from the first bytes of a PNG or baseline JPEG.
fn dims(head: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from(b[0]) << 8 | u32::from(b[1]);
    if head.starts_with(b"\x89PNG") {
        let w = u32::from_be_bytes(head[16..20].try_into().unwrap());
        return (w, u32::from_be_bytes(head[20..24].try_into().unwrap()));
    }
    let mut i = 2;
    while head[i + 1] != 0xc0 {
        i += 2 + be(&head[i + 2..]) as usize;
    }
    (be(&head[i + 7..]), be(&head[i + 5..]))
}

fn blocks<'a>(content: &'a Value, out: &mut Vec<&'a Value>) {
    for b in content.as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("image" | "document") => out.push(b),
            Some("tool_result") => blocks(&b["content"], out),
            _ => {}
        }
    }
}

#[test]
fn every_line_parses_and_matches_the_summary() {
    let (buf, s) = generate(6 << 20, 7, Some(1 << 20));
    assert_eq!(buf.len() as u64, s.bytes);
    assert!(s.bytes >= 6 << 20 && s.bytes < 8 << 20, "{}", s.bytes);
    assert!((0.6..0.9).contains(&s.image_share()), "{}", s.image_share());
    let lines: Vec<&[u8]> = buf
        .strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .collect();
    assert_eq!(lines.len() as u64, s.records);
    assert_eq!(
        lines.iter().map(|l| l.len() as u64).max(),
        Some(s.largest_line)
    );
    assert!(s.largest_line >= 1 << 20);

    let recs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let (mut uuids, mut ids, mut seen_blocks) = (HashMap::new(), HashSet::new(), Vec::new());
    let (mut boundaries, mut context, mut error_line, mut tricky) = (Vec::new(), 0, 0, false);
    for (i, r) in recs.iter().enumerate() {
        let line = i as u64 + 1;
        if let Some(u) = r["uuid"].as_str() {
            for key in ["parentUuid", "logicalParentUuid"] {
                if let Some(p) = r[key].as_str() {
                    assert!(uuids.contains_key(p), "line {line}: dangling {key}");
                }
            }
            assert!(r["timestamp"].is_string() && r["sessionId"] == s.session_id.as_str());
            assert!(uuids.insert(u.to_string(), i).is_none(), "duplicate uuid");
        }
        if r["subtype"] == "compact_boundary" {
            assert!(r["parentUuid"].is_null() && r["compactMetadata"]["postTokens"].is_u64());
            assert_eq!(recs[i + 1]["isCompactSummary"], true);
            boundaries.push(line);
            seen_blocks.clear();
        }
        if let Some(t) = r["message"]["content"][0]["content"].as_str() {
            tricky |= ["\n", "\"", "\\", "\u{1b}", "日本語"]
                .iter()
                .all(|p| t.contains(p));
        }
        let mut found = Vec::new();
        blocks(&r["message"]["content"], &mut found);
        seen_blocks.extend(found.into_iter().map(|b| (line, b)));
        if r["type"] == "assistant" && r["message"]["model"] != "<synthetic>" {
            ids.insert(r["message"]["id"].as_str().unwrap().to_string());
            let u = &r["message"]["usage"];
            let field = |k: &str| u[k].as_u64().unwrap();
            context = field("input_tokens")
                + field("cache_read_input_tokens")
                + field("cache_creation_input_tokens");
        }
        if r["isApiErrorMessage"] == true {
            assert_eq!(r["message"]["content"][0]["text"], ERROR_TEXT);
            error_line = line;
        }
    }
    assert!(
        tricky,
        "no text tool result with escapes and non-ASCII text"
    );
    assert!(s.compactions >= 2 && s.compactions as usize == boundaries.len());
    assert_eq!(boundaries.last().copied(), Some(s.last_boundary_line));
    assert_eq!(
        (context, error_line, ids.len() as u64),
        (s.context_tokens, s.last_error_line, s.assistant_messages)
    );
    assert!(s.last_error_line + 1 >= s.records);

    // The chain from the last record leads back to the last boundary.
    let mut at = uuids[&s.last_uuid];
    while let Some(p) = recs[at]["parentUuid"].as_str() {
        at = uuids[p];
    }
    assert_eq!(at as u64 + 1, s.last_boundary_line);

    assert_eq!(seen_blocks.len(), s.after_boundary.len());
    for ((line, b), want) in seen_blocks.iter().zip(&s.after_boundary) {
        let data = b["source"]["data"].as_str().unwrap();
        assert_eq!(
            (*line, b["source"]["media_type"].as_str().unwrap()),
            (want.line, want.media_type)
        );
        assert_eq!(data.len() as u64, want.data_len);
        let head = BASE64_STANDARD.decode(&data[..200]).unwrap();
        if matches!(want.media_type, "image/png" | "image/jpeg") {
            assert_eq!(dims(&head), (want.width, want.height), "line {line}");
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let (a, sa) = generate(1 << 20, 3, None);
    let (b, _) = generate(1 << 20, 3, None);
    let (c, _) = generate(1 << 20, 4, None);
    assert!(a == b && a != c);
    assert!(sa.compactions >= 2 && sa.last_error_line > sa.last_boundary_line);
}
