//! The chunk plan: the conversation after the last compaction boundary (the active `parentUuid`
//! chain only), each record rendered as text with a token estimate, cut into consecutive chunks
//! that each fit the small model, and the most recent records kept verbatim as the tail. A cut
//! never falls between a tool call and its result.
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use super::render;
use crate::session::lines::for_each_line;

/// Characters per token of the estimate (the rule of thumb claude's own estimate uses).
pub const CHARS_PER_TOKEN: u64 = 4;

/// One conversation record after the last boundary.
#[derive(Debug, Clone)]
pub struct Rec {
    /// 1-based line in the session file.
    pub line: u64,
    pub value: Value,
    /// The record as the summariser reads it.
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u64,
    /// Estimated tokens of the record's `message.content` when sent again verbatim.
    pub raw_tokens: u64,
    /// A chunk (or the tail) may start here: not a user record answering a tool call, and not
    /// the second record of one API message.
    pub cut_ok: bool,
}

/// The session fields claude repeats on every record it writes (copied onto the new ones).
pub const SESSION_FIELDS: [&str; 7] = [
    "userType",
    "entrypoint",
    "cwd",
    "sessionId",
    "version",
    "gitBranch",
    "slug",
];

/// What will be summarised and what kept.
#[derive(Debug)]
pub struct Plan {
    pub path: PathBuf,
    /// The file's length when planned: the write refuses a file that changed since.
    pub bytes: u64,
    /// Whether the file ends in a newline (a torn last line is ended before appending).
    pub ends_in_newline: bool,
    pub records: Vec<Rec>,
    /// Consecutive ranges of `records`, oldest first.
    pub chunks: Vec<Range<usize>>,
    /// The records kept verbatim after the summary.
    pub tail: Range<usize>,
    /// The uuid of the last record of the conversation (the new boundary's `logicalParentUuid`).
    pub leaf_uuid: Option<String>,
    /// Each of `SESSION_FIELDS` as the newest conversation record holding it has it.
    pub session_fields: serde_json::Map<String, Value>,
}

impl Plan {
    pub fn chunk_tokens(&self, i: usize) -> u64 {
        self.records[self.chunks[i].clone()]
            .iter()
            .map(|r| r.tokens)
            .sum()
    }

    pub fn tail_tokens(&self) -> u64 {
        self.records[self.tail.clone()]
            .iter()
            .map(|r| r.raw_tokens)
            .sum()
    }

    /// Estimated tokens of the conversation as claude sends it now.
    pub fn total_raw_tokens(&self) -> u64 {
        self.records.iter().map(|r| r.raw_tokens).sum()
    }
}

/// Reads `path` and plans chunks of at most `chunk_tokens` (a single larger record gets a chunk
/// of its own, cut by the renderer) and a tail of at most `keep_recent` tokens.
pub fn plan(path: &Path, chunk_tokens: u64, keep_recent: u64) -> Result<Plan> {
    let (lines, bytes, ends_in_newline) = read_after_boundary(path)?;
    let records = active_chain(lines, chunk_tokens);
    if records.is_empty() {
        bail!(
            "{} holds no conversation after its last compaction: nothing to summarise",
            path.display()
        );
    }
    let leaf_uuid = records
        .last()
        .and_then(|r| r.value["uuid"].as_str())
        .map(str::to_owned);
    let mut session_fields = serde_json::Map::new();
    for k in SESSION_FIELDS {
        if let Some(v) = records.iter().rev().find_map(|r| r.value.get(k)) {
            session_fields.insert(k.to_owned(), v.clone());
        }
    }
    let tail_start = tail_start(&records, keep_recent);
    let chunks = cut_chunks(&records[..tail_start], chunk_tokens);
    if chunks.is_empty() {
        bail!(
            "the whole conversation after the last compaction fits in the kept tail \
             (--keep-recent): nothing to summarise; `ccrescue compact` with a smaller \
             --keep-recent summarises more"
        );
    }
    Ok(Plan {
        path: path.to_owned(),
        bytes,
        ends_in_newline,
        tail: tail_start..records.len(),
        records,
        chunks,
        leaf_uuid,
        session_fields,
    })
}

/// Every parsed record after the last `compact_boundary` (all of them when there is none), with
/// its line number; the file's length and whether it ends in a newline.
/// Parsed records with their line numbers.
type Numbered = Vec<(u64, Value)>;

fn read_after_boundary(path: &Path) -> Result<(Numbered, u64, bool)> {
    let open =
        || std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()));
    let mut last_boundary = 0u64;
    let mut bytes = 0u64;
    let mut ends_in_newline = true;
    for_each_line(open()?, |line| {
        bytes = line.offset + line.bytes.len() as u64 + u64::from(line.terminated);
        ends_in_newline = line.terminated;
        if memchr::memmem::find(line.bytes, b"\"compact_boundary\"").is_some()
            && let Ok(v) = serde_json::from_slice::<Value>(line.bytes)
            && v["subtype"] == "compact_boundary"
        {
            last_boundary = line.number;
        }
    })
    .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = vec![];
    for_each_line(open()?, |line| {
        if line.number <= last_boundary {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(line.bytes) {
            out.push((line.number, v));
        }
    })
    .with_context(|| format!("cannot read {}", path.display()))?;
    Ok((out, bytes, ends_in_newline))
}

/// The user and assistant records on the chain that ends at the newest conversation record,
/// oldest first, rendered. Sidechains, API-error records and meta records are left out: claude
/// does not send them as conversation.
fn active_chain(lines: Numbered, chunk_tokens: u64) -> Vec<Rec> {
    let is_convo = |v: &Value| {
        matches!(v["type"].as_str(), Some("user" | "assistant"))
            && v["isSidechain"] != true
            && v["uuid"].is_string()
    };
    let by_uuid: std::collections::HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v["uuid"].as_str().map(|u| (u, i)))
        .collect();
    let Some(mut at) = lines.iter().rposition(|(_, v)| is_convo(v)) else {
        return vec![];
    };
    let mut chain = vec![at];
    let mut seen = std::collections::HashSet::from([at]);
    while let Some(parent) = lines[at].1["parentUuid"].as_str()
        && let Some(&p) = by_uuid.get(parent)
        && seen.insert(p)
    {
        chain.push(p);
        at = p;
    }
    chain.reverse();
    let mut out: Vec<Rec> = vec![];
    let max_chars = chunk_tokens * CHARS_PER_TOKEN * 3 / 4;
    for i in chain {
        let (line, v) = &lines[i];
        if !is_convo(v)
            || v["isApiErrorMessage"] == true
            || v["isMeta"] == true
            || is_local_command(v)
        {
            continue;
        }
        let text = render::record(v, max_chars as usize);
        let raw = serde_json::to_string(&v["message"]["content"]).unwrap_or_default();
        let same_message = v["type"] == "assistant"
            && out.last().is_some_and(|p| {
                p.value["type"] == "assistant"
                    && p.value["message"]["id"].is_string()
                    && p.value["message"]["id"] == v["message"]["id"]
            });
        out.push(Rec {
            line: *line,
            tokens: (text.len() as u64).div_ceil(CHARS_PER_TOKEN),
            raw_tokens: (raw.len() as u64).div_ceil(CHARS_PER_TOKEN),
            text,
            cut_ok: !answers_tool_call(v) && !same_message,
            value: v.clone(),
        });
    }
    out
}

/// True for the records claude writes for a local command such as `/compact` (the command line
/// and its output): never sent to the model as conversation.
fn is_local_command(v: &Value) -> bool {
    v["message"]["content"].as_str().is_some_and(|t| {
        let t = t.trim_start();
        t.starts_with("<command-name>")
            || t.starts_with("<local-command-stdout>")
            || t.starts_with("<local-command-stderr>")
    })
}

/// True for a user record carrying a `tool_result` block.
fn answers_tool_call(v: &Value) -> bool {
    v["type"] == "user"
        && v["message"]["content"]
            .as_array()
            .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
}

/// The first record of the tail: the earliest cut point from which the rest is within
/// `keep_recent` tokens (`records.len()` when no tail fits).
fn tail_start(records: &[Rec], keep_recent: u64) -> usize {
    let mut sum = 0u64;
    let mut start = records.len();
    for i in (0..records.len()).rev() {
        sum += records[i].raw_tokens;
        if sum > keep_recent {
            break;
        }
        if records[i].cut_ok {
            start = i;
        }
    }
    start
}

/// Greedy consecutive chunks of at most `budget` tokens, each starting at a cut point.
fn cut_chunks(records: &[Rec], budget: u64) -> Vec<Range<usize>> {
    let mut chunks = vec![];
    let mut start = 0;
    while start < records.len() {
        let mut end = start + 1;
        let mut sum = records[start].tokens;
        let mut last_cut = None;
        while end < records.len() {
            if records[end].cut_ok {
                last_cut = Some(end);
            }
            if sum + records[end].tokens > budget {
                break;
            }
            sum += records[end].tokens;
            end += 1;
        }
        if end < records.len() && !records[end].cut_ok {
            // Back up to the last cut point inside the chunk; with none, run on to the next one.
            match last_cut.filter(|&c| c > start) {
                Some(c) => end = c,
                None => {
                    while end < records.len() && !records[end].cut_ok {
                        end += 1;
                    }
                }
            }
        }
        chunks.push(start..end);
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(tokens: u64, cut_ok: bool) -> Rec {
        Rec {
            line: 0,
            value: json!({}),
            text: String::new(),
            tokens,
            raw_tokens: tokens,
            cut_ok,
        }
    }

    #[test]
    fn chunks_fill_the_budget_and_never_start_at_a_tool_result() {
        let rs = vec![
            rec(40, true),
            rec(40, true),
            rec(30, false),
            rec(50, true),
            rec(10, true),
        ];
        let c = cut_chunks(&rs, 100);
        assert_eq!(c, vec![0..1, 1..3, 3..5]);
        for r in &c {
            assert!(rs[r.start].cut_ok);
        }
        assert_eq!(
            cut_chunks(&[rec(500, true), rec(5, true)], 100),
            vec![0..1, 1..2]
        );
    }

    #[test]
    fn the_tail_starts_at_a_cut_point_within_the_budget() {
        let rs = vec![rec(50, true), rec(10, true), rec(10, false), rec(10, true)];
        assert_eq!(tail_start(&rs, 25), 3);
        assert_eq!(tail_start(&rs, 30), 1);
        assert_eq!(tail_start(&rs, 5), 4);
        assert_eq!(tail_start(&rs, 0), 4);
    }
}
