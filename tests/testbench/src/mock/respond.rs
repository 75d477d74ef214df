//! Owns encoding a `Reply` as the HTTP response the Messages API would send: SSE events when the
//! request asked for `stream:true`, a plain JSON message otherwise, or an API error body.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::rules::Reply;

/// The 429 body the server sends for the long-context credits gate (reference §1).
pub const CREDITS_MESSAGE: &str = "Extra usage is required for long context requests.";

const DEFAULT_INPUT_TOKENS: u64 = 100;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id(prefix: &str) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("{prefix}_mock{pid:x}{n:08x}")
}

/// The response to a messages request answered with `reply` (never a `Sequence`).
pub fn respond(reply: &Reply, model: &str, stream: bool) -> Response {
    let (blocks, stop_reason, input_tokens) = match reply {
        Reply::Text { text, input_tokens } => (
            vec![json!({"type":"text","text":text})],
            "end_turn",
            *input_tokens,
        ),
        Reply::Summary { text, input_tokens } => {
            let text = format!(
                "<analysis>Mock analysis of the conversation.</analysis>\n\n<summary>\n{text}\n</summary>"
            );
            (
                vec![json!({"type":"text","text":text})],
                "end_turn",
                *input_tokens,
            )
        }
        Reply::ToolUse {
            name,
            input,
            text,
            input_tokens,
        } => {
            let mut blocks = Vec::new();
            if let Some(t) = text {
                blocks.push(json!({"type":"text","text":t}));
            }
            blocks.push(json!({"type":"tool_use","id":next_id("toolu"),"name":name,"input":input}));
            (blocks, "tool_use", *input_tokens)
        }
        Reply::CreditsError {
            message,
            should_retry,
        } => {
            let message = message.as_deref().unwrap_or(CREDITS_MESSAGE);
            let mut resp = error(429, "rate_limit_error", message);
            if let Some(retry) = should_retry {
                let value = HeaderValue::from_static(if *retry { "true" } else { "false" });
                resp.headers_mut().insert("x-should-retry", value);
            }
            return resp;
        }
        Reply::PromptTooLong { tokens, max } => {
            let message = format!("prompt is too long: {tokens} tokens > {max} maximum");
            return error(400, "invalid_request_error", &message);
        }
        Reply::TooLarge => {
            return error(413, "request_too_large", "Request exceeds the maximum size");
        }
        Reply::Error {
            status,
            error_type,
            message,
        } => return error(*status, error_type, message),
        // The rule set resolves a rule's sequence; one nested inside another is a rules mistake.
        Reply::Sequence { .. } => {
            return error(500, "api_error", "mock rules: a sequence inside a sequence");
        }
    };
    let input_tokens = input_tokens.unwrap_or(DEFAULT_INPUT_TOKENS);
    let output_tokens = blocks
        .iter()
        .map(|b| b.to_string().len() as u64 / 4 + 1)
        .sum::<u64>();
    let message = Message {
        id: next_id("msg"),
        model,
        blocks,
        stop_reason,
        input_tokens,
        output_tokens,
    };
    let mut resp = if stream {
        sse(&message)
    } else {
        axum::Json(message.json()).into_response()
    };
    set_request_id(&mut resp);
    resp
}

struct Message<'a> {
    id: String,
    model: &'a str,
    blocks: Vec<Value>,
    stop_reason: &'static str,
    input_tokens: u64,
    output_tokens: u64,
}

impl Message<'_> {
    fn usage(&self, output_tokens: u64) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
        })
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": self.blocks, "stop_reason": self.stop_reason, "stop_sequence": null,
            "usage": self.usage(self.output_tokens),
        })
    }
}

/// The SSE stream: message_start, per block start/delta/stop, message_delta, message_stop.
fn sse(m: &Message<'_>) -> Response {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type":"message_start","message":{
            "id": m.id, "type": "message", "role": "assistant", "model": m.model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": m.usage(1),
        }}),
    );
    for (index, block) in m.blocks.iter().enumerate() {
        let (start, delta) = match block["type"].as_str() {
            Some("tool_use") => (
                json!({"type":"tool_use","id":block["id"],"name":block["name"],"input":{}}),
                json!({"type":"input_json_delta","partial_json":block["input"].to_string()}),
            ),
            _ => (
                json!({"type":"text","text":""}),
                json!({"type":"text_delta","text":block["text"]}),
            ),
        };
        event(
            "content_block_start",
            json!({"type":"content_block_start","index":index,"content_block":start}),
        );
        event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":index,"delta":delta}),
        );
        event(
            "content_block_stop",
            json!({"type":"content_block_stop","index":index}),
        );
    }
    event(
        "message_delta",
        json!({"type":"message_delta",
               "delta":{"stop_reason":m.stop_reason,"stop_sequence":null},
               "usage":{"output_tokens":m.output_tokens}}),
    );
    event("message_stop", json!({"type":"message_stop"}));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        out,
    )
        .into_response()
}

/// An API error response: `{"type":"error","error":{"type":…,"message":…}}`.
pub fn error(status: u16, error_type: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"type":"error","error":{"type":error_type,"message":message}});
    let mut resp = (status, axum::Json(body)).into_response();
    set_request_id(&mut resp);
    resp
}

fn set_request_id(resp: &mut Response) {
    let id = next_id("req");
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("request-id", v);
    }
}
