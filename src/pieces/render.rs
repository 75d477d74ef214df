//! Renders one session record as plain text for the summariser: who spoke, the text, tool calls
//! and their results; images and documents as a placeholder, thinking left out, and one record
//! longer than the limit cut in the middle.
use serde_json::Value;

/// How much of a tool call's input is shown.
const TOOL_INPUT_CHARS: usize = 2_000;

/// `record` as text, at most about `max_chars` long.
pub fn record(v: &Value, max_chars: usize) -> String {
    let who = match (v["type"].as_str(), v["isCompactSummary"] == true) {
        (_, true) => "Summary of the conversation before",
        (Some("assistant"), _) => "Assistant",
        _ if is_tool_result(v) => "Tool result",
        _ => "User",
    };
    let mut body = String::new();
    match &v["message"]["content"] {
        Value::String(s) => body.push_str(s),
        Value::Array(blocks) => {
            for b in blocks {
                let part = block(b);
                if part.is_empty() {
                    continue;
                }
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(&part);
            }
        }
        _ => {}
    }
    let body = cut_middle(&body, max_chars);
    format!("[{who}]\n{body}\n\n")
}

fn is_tool_result(v: &Value) -> bool {
    v["message"]["content"]
        .as_array()
        .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
}

fn block(b: &Value) -> String {
    match b["type"].as_str() {
        Some("text") => b["text"].as_str().unwrap_or_default().to_owned(),
        Some("tool_use") => {
            let input = serde_json::to_string(&b["input"]).unwrap_or_default();
            format!(
                "(tool call {}: {})",
                b["name"].as_str().unwrap_or("?"),
                cut_middle(&input, TOOL_INPUT_CHARS)
            )
        }
        Some("tool_result") => {
            let inner = match &b["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts.iter().map(block).collect::<Vec<_>>().join("\n"),
                _ => String::new(),
            };
            let error = if b["is_error"] == true {
                " (error)"
            } else {
                ""
            };
            format!("(tool result{error}:)\n{inner}")
        }
        Some("image") => "(an image)".to_owned(),
        Some("document") => "(a document)".to_owned(),
        _ => String::new(),
    }
}

/// `s` with its middle replaced by a marker when longer than `max` bytes (cut on char bounds).
pub fn cut_middle(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let half = max / 2;
    let mut head = half;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - half;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} characters left out …]\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_render_as_text() {
        let v = json!({"type":"assistant","message":{"content":[
            {"type":"thinking","thinking":"secret"},
            {"type":"text","text":"Reading it."},
            {"type":"tool_use","name":"Read","input":{"file_path":"a.rs"}}]}});
        assert_eq!(
            record(&v, 1000),
            "[Assistant]\nReading it.\n(tool call Read: {\"file_path\":\"a.rs\"})\n\n"
        );
        let v = json!({"type":"user","message":{"content":[
            {"type":"tool_result","content":[{"type":"text","text":"fn a()"},{"type":"image"}]}]}});
        assert_eq!(
            record(&v, 1000),
            "[Tool result]\n(tool result:)\nfn a()\n(an image)\n\n"
        );
    }

    #[test]
    fn long_text_is_cut_in_the_middle_on_char_bounds() {
        let s = "é".repeat(100);
        let c = cut_middle(&s, 21);
        assert!(c.starts_with("éééé"));
        assert!(c.contains("characters left out"));
        assert!(c.len() < 80);
    }
}
