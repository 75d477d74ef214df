//! The records a compaction in pieces appends, shaped as the real claude writes its own
//! compaction (observed on 2.1.150–2.1.332, `tests/pieces_compact.rs` compares them field by
//! field): a `system/compact_boundary` with `compactMetadata` (the keys every version writes:
//! `trigger`, `preTokens`, `postTokens`, `durationMs`), the `isCompactSummary` user record, then
//! the kept tail re-chained after it with new uuids. The originals stay above, untouched.
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::plan::{CHARS_PER_TOKEN, Plan};

/// claude's opening of a compaction summary (2.1.150–2.1.332).
pub const SUMMARY_OPENING: &str = "This session is being continued from a previous conversation \
     that ran out of context. The summary below covers the earlier portion of the conversation.";

/// The text of the summary record: claude's framing around the combined summary.
pub fn summary_text(combined: &str, transcript: &str, has_tail: bool) -> String {
    let mut s = format!(
        "{SUMMARY_OPENING}\n\nSummary:\n{combined}\n\nIf you need specific details from before \
         compaction (like exact code snippets, error messages, or content you generated), read \
         the full transcript at: {transcript}"
    );
    if has_tail {
        s.push_str(
            "\n\nThe messages after this summary are the most recent messages from before \
             compaction, kept verbatim.",
        );
    }
    s
}

/// The summaries of the parts as one text, oldest part first.
pub fn combine(summaries: &[String]) -> String {
    if summaries.len() == 1 {
        return summaries[0].clone();
    }
    summaries
        .iter()
        .enumerate()
        .map(|(i, s)| format!("## Part {} of {}\n\n{s}", i + 1, summaries.len()))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The fields a copied tail record keeps: those every claude from 2.1.150 writes on a
/// conversation record. Later versions' bookkeeping (`requestRef`, `promptId`, `turnPosition`,
/// …) points at records of the original turn and is left out, and so is `requestId`;
/// `toolUseResult` is never sent.
const COPIED_FIELDS: [&str; 14] = [
    "parentUuid",
    "isSidechain",
    "userType",
    "cwd",
    "sessionId",
    "version",
    "gitBranch",
    "slug",
    "entrypoint",
    "type",
    "message",
    "uuid",
    "timestamp",
    "sourceToolAssistantUUID",
];

/// What the new records need besides the plan.
pub struct NewRecords<'a> {
    pub plan: &'a Plan,
    pub summary: &'a str,
    pub pre_tokens: u64,
    pub duration_ms: u64,
    pub now: &'a str,
}

/// The lines to append (each without its newline) and the post-compaction token estimate.
pub fn build(n: &NewRecords<'_>) -> (Vec<String>, u64) {
    let plan = n.plan;
    let tail = &plan.records[plan.tail.clone()];
    let summary_tokens = (n.summary.len() as u64).div_ceil(CHARS_PER_TOKEN);
    let post_tokens = summary_tokens + plan.tail_tokens();
    let with_session = |mut v: Value| {
        if let Value::Object(m) = &mut v {
            for (k, val) in &plan.session_fields {
                m.insert(k.clone(), val.clone());
            }
        }
        v
    };
    let boundary_uuid = new_uuid();
    let boundary = with_session(json!({
        "parentUuid": null,
        "logicalParentUuid": plan.leaf_uuid,
        "isSidechain": false,
        "type": "system",
        "subtype": "compact_boundary",
        "content": "Conversation compacted",
        "isMeta": false,
        "timestamp": n.now,
        "uuid": boundary_uuid,
        "level": "info",
        "compactMetadata": {
            "trigger": "manual",
            "preTokens": n.pre_tokens,
            "postTokens": post_tokens,
            "durationMs": n.duration_ms,
        },
    }));
    let summary_uuid = new_uuid();
    let summary = with_session(json!({
        "parentUuid": boundary_uuid,
        "isSidechain": false,
        "type": "user",
        "message": {"role": "user", "content": n.summary},
        "isVisibleInTranscriptOnly": true,
        "isCompactSummary": true,
        "uuid": summary_uuid,
        "timestamp": n.now,
    }));
    let mut lines = vec![boundary.to_string(), summary.to_string()];
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut message_ids: HashMap<String, String> = HashMap::new();
    let mut parent = summary_uuid;
    for r in tail {
        let uuid = new_uuid();
        if let Some(old) = r.value["uuid"].as_str() {
            renamed.insert(old.to_owned(), uuid.clone());
        }
        let mut m: Map<String, Value> = r
            .value
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| COPIED_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        m.insert("uuid".into(), json!(uuid));
        m.insert("parentUuid".into(), json!(parent));
        m.insert("timestamp".into(), json!(n.now));
        // A tool result names the assistant record that called the tool (2.1.3xx).
        if let Some(Value::String(src)) = m.get("sourceToolAssistantUUID")
            && let Some(new) = renamed.get(src).cloned()
        {
            m.insert("sourceToolAssistantUUID".into(), json!(new));
        }
        // claude merges assistant records by `message.id` across the whole file, so a copy that
        // kept its id would be merged with its original above the boundary (content doubled, the
        // original's usage read as the context: observed on 2.1.328). Each copied API message
        // gets a new id, a uuid, as claude gives its own synthetic messages.
        if let Some(Value::Object(msg)) = m.get_mut("message")
            && let Some(Value::String(old)) = msg.get("id")
        {
            let new = message_ids
                .entry(old.clone())
                .or_insert_with(new_uuid)
                .clone();
            msg.insert("id".into(), json!(new));
        }
        restate_usage(&mut m, post_tokens);
        lines.push(Value::Object(m).to_string());
        parent = uuid;
    }
    (lines, post_tokens)
}

/// The copied assistant records carry the usage of the request that made them, up to the full
/// size before the compaction; claude (and ccrescue's scan) read the context size from the last
/// one, and 2.1.172–2.1.212 refuse a resumed prompt locally when it says the window is full. The
/// copies state the context as it now is: the summary and the tail.
fn restate_usage(m: &mut Map<String, Value>, context: u64) {
    if m.get("type").and_then(Value::as_str) != Some("assistant") {
        return;
    }
    if let Some(Value::Object(usage)) = m.get_mut("message").and_then(|msg| msg.get_mut("usage")) {
        usage.insert("input_tokens".into(), json!(context));
        usage.insert("cache_creation_input_tokens".into(), json!(0));
        usage.insert("cache_read_input_tokens".into(), json!(0));
    }
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_headed_when_there_are_several() {
        assert_eq!(combine(&["a".into()]), "a");
        assert_eq!(
            combine(&["a".into(), "b".into()]),
            "## Part 1 of 2\n\na\n\n## Part 2 of 2\n\nb"
        );
        let t = summary_text("S", "/x.jsonl", false);
        assert!(t.starts_with(SUMMARY_OPENING));
        assert!(t.contains("\n\nSummary:\nS\n\n"));
        assert!(!t.contains("verbatim"));
    }
}
