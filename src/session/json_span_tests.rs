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
