//! Unit tests of the span walker: what it accepts and rejects, the spans it returns.
use super::json_span::*;

fn ok(s: &str) -> bool {
    validate(s.as_bytes()).is_ok()
}

#[test]
fn accepts_what_serde_accepts() {
    for s in [
        r#"{}"#,
        r#"{"z":[0,-0,10,0.5,1e9,1E+2,2e-3],"a":1,"b":[true,false,null,-1.5e3,"x\"y\\z\u00e9","\\\\","q\\\"q"],"c":{"d":{}}}"#,
        r#" { "a" : [ ] , "b" : "" } "#,
        r#"[1,2,3]"#,
        r#""just a string""#,
    ] {
        assert!(ok(s), "{s}");
        assert!(serde_json::from_str::<serde_json::Value>(s).is_ok(), "{s}");
    }
}

#[test]
fn rejects_broken_lines_with_an_offset() {
    for (s, what) in [
        (r#"{"a":1"#, "unexpected end of line"),
        (r#"{"a":"unterminated"#, "unterminated string"),
        (r#"{"a" 1}"#, "expected ':'"),
        (r#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        (r#"{"a":tru}"#, "unexpected character"),
        (r#"{"n":-}"#, "invalid number"),
        (r#"{"n":01}"#, "expected ',' or '}'"),
        (r#"{"n":1.}"#, "invalid number"),
        (r#"{"n":1.2.3}"#, "expected ',' or '}'"),
        (r#"{"n":1e}"#, "invalid number"),
        (r#"{"a":"x\"}"#, "unterminated string"),
        (r#"{"a":1}}"#, "unexpected bytes after the JSON value"),
        (r#"{a:1}"#, "expected a key"),
        ("", "unexpected end of line"),
    ] {
        let e = validate(s.as_bytes()).unwrap_err();
        assert_eq!(e.what, what, "{s}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let s = "[".repeat(100_000);
    assert_eq!(
        validate(s.as_bytes()).unwrap_err().what,
        "nested too deeply"
    );
}

#[test]
fn finds_keys_and_spans() {
    let line =
        br#"{"type":"user","message":{"content":[{"type":"text","text":"hi \"there\""}]},"n":42}"#;
    let root = validate(line).unwrap();
    let msg = get(line, &root, "message").unwrap();
    let content = get(line, &msg, "content").unwrap();
    let first = Items::of(line, &content).unwrap().next().unwrap().unwrap();
    let text = get(line, &first, "text").unwrap();
    assert_eq!(string(line, &text).unwrap(), "hi \"there\"");
    assert_eq!(
        raw_str(line, &get(line, &root, "type").unwrap()).unwrap(),
        b"user"
    );
    assert_eq!(uint(line, &get(line, &root, "n").unwrap()), Some(42));
    assert!(get(line, &root, "missing").is_none());
}

#[test]
fn strings_follow_json_parse_raw_control_characters_and_bad_escapes_are_rejected() {
    // Issue 17 point 15: claude's JSON.parse skips these lines; ccrescue took them for records.
    for (s, what) in [
        ("{\"a\":\"nul \0 inside\"}", "control character in a string"),
        ("{\"a\":\"tab \t inside\"}", "control character in a string"),
        ("{\"k\u{1f}\":1}", "control character in a string"),
        (r#"{"a":"\q"}"#, "invalid escape in a string"),
        (r#"{"a":"\u12"}"#, "invalid escape in a string"),
        (r#"{"a":"\u12G4"}"#, "invalid escape in a string"),
        (r#"{"a":"ok\\\x"}"#, "invalid escape in a string"),
    ] {
        let e = validate(s.as_bytes()).unwrap_err();
        assert_eq!(e.what, what, "{s:?}");
        assert!(
            serde_json::from_str::<serde_json::Value>(s).is_err(),
            "serde agrees: {s:?}"
        );
    }
    for s in [
        r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}"#,
        "{\"a\":\"\u{7f} and é are fine\"}",
    ] {
        assert!(ok(s), "{s}");
    }
    // A long string (the chunked check) with one control byte near its end.
    let mut long = format!("{{\"a\":\"{}", "A".repeat(1000));
    long.push('\u{1}');
    long.push_str("\"}");
    assert_eq!(
        validate(long.as_bytes()).unwrap_err().offset,
        6 + 1000,
        "where the byte is"
    );
}

#[test]
fn of_repeated_keys_the_last_counts() {
    let line = br#"{"a":1,"b":2,"a":3}"#;
    let v = get(line, &(0..line.len()), "a").unwrap();
    assert_eq!(&line[v], b"3");
}
