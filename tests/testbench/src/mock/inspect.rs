//! Owns reading a request the mock received: what gets logged about it and what rules match on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the client authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `x-api-key: …` (what `ANTHROPIC_API_KEY` sends).
    ApiKey,
    /// `authorization: Bearer …` (what `ANTHROPIC_AUTH_TOKEN` or an OAuth login sends).
    Bearer,
    /// Neither header.
    None,
}

/// One request as the mock saw it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Position in the mock's log, from 0, over every endpoint.
    pub seq: usize,
    /// For `POST /v1/messages`: its position among the messages requests since the rules were last
    /// set (from 0); what `Rule::nth`/`Rule::from_nth` match on. `None` for other endpoints.
    pub messages_index: Option<usize>,
    pub method: String,
    /// Path without the query (`/v1/messages`).
    pub path: String,
    /// The query string, if any (`beta=true`).
    pub query: Option<String>,
    pub model: Option<String>,
    pub stream: bool,
    pub body_len: usize,
    pub auth: AuthKind,
    /// The `anthropic-beta` header, as sent (comma-separated).
    pub beta: Option<String>,
    /// The `x-claude-code-session-id` header.
    pub session_header: Option<String>,
    pub is_compaction: bool,
    /// Base64 image blocks anywhere in `messages` (also inside tool results).
    pub image_count: usize,
    /// The last text block of the last user message (or its content when that is a string).
    pub last_user_text: Option<String>,
    /// What the mock answered: `"text"`, `"tool_use"`, `"summary"`, `"credits_error"`, … or an
    /// endpoint name for the other endpoints.
    pub reply: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The raw body, as text (lossy UTF-8).
    pub body: String,
}

impl LoggedRequest {
    pub fn has_images(&self) -> bool {
        self.image_count > 0
    }

    pub fn is_messages(&self) -> bool {
        self.messages_index.is_some()
    }

    /// The body parsed as JSON (panics if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the logged body is JSON")
    }
}

/// What identifies a compaction request. Observed on 2.1.328 (logged from real `claude -p /compact`
/// runs): the request looks like any turn (`/v1/messages?beta=true`, `stream:true`, the same system
/// prompt; the chosen `--model`; `max_tokens` 32000 with thinking enabled; fewer tools) except that
/// its last user message ends with a text block that starts
/// `CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.` and goes on
/// `Your task is to create a detailed summary of the conversation so far, …`, asking for an
/// `<analysis>` block and a `<summary>` block. Prompts typed since the last answered turn (e.g. ones
/// refused with the 429) come first in that same message as separate text blocks, so only the last
/// text block is tested. The "detailed summary of the conversation" phrase is the marker: it is
/// the task statement itself, less likely to be reworded than the CRITICAL preamble. Older versions
/// are for the version matrix to confirm.
pub const COMPACTION_MARKER: &str = "create a detailed summary of the conversation";

/// Whether the last user message text is claude's summarisation instruction.
pub fn is_compaction_text(last_user_text: &str) -> bool {
    last_user_text.contains(COMPACTION_MARKER)
}

/// Facts about a `/v1/messages` body used by rules and the log.
#[derive(Clone, Debug, Default)]
pub struct BodyFacts {
    pub model: Option<String>,
    pub stream: bool,
    pub image_count: usize,
    pub last_user_text: Option<String>,
    pub is_compaction: bool,
}

impl BodyFacts {
    pub fn of(body: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let messages = json["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let last_user_text = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .and_then(|m| last_text(&m["content"]));
        let is_compaction = last_user_text.as_deref().is_some_and(is_compaction_text);
        Self {
            model: json["model"].as_str().map(str::to_owned),
            stream: json["stream"].as_bool().unwrap_or(false),
            image_count: messages.iter().map(|m| count_images(&m["content"])).sum(),
            last_user_text,
            is_compaction,
        }
    }
}

fn last_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => blocks
            .iter()
            .rev()
            .find(|b| b["type"] == "text")
            .and_then(|b| b["text"].as_str())
            .map(str::to_owned),
        _ => None,
    }
}

/// Base64 image blocks in a content value, descending into tool results.
fn count_images(content: &Value) -> usize {
    match content {
        Value::Array(blocks) => blocks.iter().map(count_images).sum(),
        Value::Object(block) => {
            let own = usize::from(
                block.get("type").and_then(Value::as_str) == Some("image")
                    && block["source"]["type"] == "base64",
            );
            own + block.get("content").map_or(0, count_images)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_of_a_body() {
        let img =
            json!({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}});
        let body = json!({
            "model": "m", "stream": true,
            "messages": [
                {"role":"user","content":[img.clone(), {"type":"text","text":"first"}]},
                {"role":"assistant","content":[{"type":"text","text":"a"}]},
                {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"t","content":[img]},
                    {"type":"text","text":"Your task is to create a detailed summary of the conversation so far"}
                ]}
            ]
        });
        let f = BodyFacts::of(body.to_string().as_bytes());
        assert_eq!(f.model.as_deref(), Some("m"));
        assert!(f.stream && f.is_compaction);
        assert_eq!(f.image_count, 2);
        let f = BodyFacts::of(br#"{"messages":[{"role":"user","content":"hi"}]}"#);
        assert_eq!(f.last_user_text.as_deref(), Some("hi"));
        assert!(!f.is_compaction && !f.stream);
    }
}
