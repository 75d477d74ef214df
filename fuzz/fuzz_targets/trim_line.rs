//! Fuzzes trim's line rewriter (`trim::rewrite::rewrite_line`) on one line of arbitrary bytes.
//! Invariants: it never panics; a rewritten line is still one line (no newline appears); a line
//! that parsed as JSON still parses; a line it leaves alone is returned as `None` (so written
//! back byte-identical); and a rewritten record keeps every field outside `message.content` and
//! `toolUseResult` exactly, including `uuid`, `parentUuid` and each block's `tool_use_id`.
#![no_main]

use ccrescue::trim::{Limits, rewrite::rewrite_line};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    // A line never holds a newline: the file is split on them before the rewriter sees it.
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => &rest[..i],
        None => rest,
    };
    let limits = Limits {
        tool_output_over: match knobs & 0b11 {
            0 => None,
            1 => Some(0),
            2 => Some(16),
            _ => Some(u64::from(knobs >> 3) * 64),
        },
        backup_name: "s.jsonl.bak",
    };
    let drop_copies = knobs & 0b100 != 0;
    let Some(out) = rewrite_line(line, &limits, drop_copies) else {
        return;
    };
    assert!(!out.contains(&b'\n'), "a newline appeared in the rewritten line");
    let Ok(before) = serde_json::from_slice::<Value>(line) else {
        return;
    };
    let after: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "the rewritten line does not parse ({e}):\n{}",
            String::from_utf8_lossy(&out)
        )
    });
    same_outside_replaced(&before, &after);
});

/// Everything but `message.content` and `toolUseResult` is equal; inside `message.content`, the
/// blocks are as many as before and each `tool_use_id` is kept.
fn same_outside_replaced(before: &Value, after: &Value) {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        assert_eq!(before, after, "a line that is not an object was changed");
        return;
    };
    let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(b), keys(a), "the record's keys changed");
    for (k, v) in b {
        match k.as_str() {
            "toolUseResult" => {}
            "message" => same_message(v, &a[k]),
            _ => assert_eq!(v, &a[k], "field {k} changed"),
        }
    }
}

fn same_message(before: &Value, after: &Value) {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        assert_eq!(before, after, "a message that is not an object was changed");
        return;
    };
    assert_eq!(b.len(), a.len(), "the message's keys changed");
    for (k, v) in b {
        if k != "content" {
            assert_eq!(Some(v), a.get(k), "message.{k} changed");
            continue;
        }
        if let (Some(bc), Some(ac)) = (v.as_array(), a[k].as_array()) {
            assert_eq!(bc.len(), ac.len(), "blocks were added or removed");
            for (x, y) in bc.iter().zip(ac) {
                assert_eq!(
                    x.get("tool_use_id"),
                    y.get("tool_use_id"),
                    "a tool_use_id changed"
                );
            }
        }
    }
}
