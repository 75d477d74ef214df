//! The handoff note written before starting afresh (the `/clear` rung): a markdown page in the
//! session folder with the latest compaction summary, the last user requests, the files tool
//! calls touched, and the open todo items, so the new session loses less.
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::format::cut;
use crate::session::lines::for_each_line;

/// How many of the last user requests the note keeps, and how long each may be.
const REQUESTS: usize = 5;
const REQUEST_CHARS: usize = 600;
const FILES: usize = 60;

/// What the note is made of, gathered in one pass over the session.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Gathered {
    pub summary: Option<String>,
    pub requests: Vec<String>,
    /// Path → the tools that touched it, in order of last use.
    pub files: Vec<(String, Vec<String>)>,
    /// (status, text) of the items the last todo list left open.
    pub open_todos: Vec<(String, String)>,
}

/// Reads the session at `path` (streaming; only conversation lines are parsed).
pub fn gather(path: &Path) -> Result<Gathered> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut g = Gathered::default();
    let mut files: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    let mut order = 0u64;
    for_each_line(file, |line| {
        let b = line.bytes;
        let is_conversation = memchr::memmem::find(b, br#""type":"user""#).is_some()
            || memchr::memmem::find(b, br#""type":"assistant""#).is_some();
        if !is_conversation {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(b) else {
            return;
        };
        if v["isSidechain"] == true {
            return;
        }
        match v["type"].as_str() {
            Some("user") => user(&v, &mut g),
            Some("assistant") => {
                for block in v["message"]["content"].as_array().into_iter().flatten() {
                    if block["type"] != "tool_use" {
                        continue;
                    }
                    let tool = block["name"].as_str().unwrap_or("tool").to_owned();
                    let input = &block["input"];
                    if tool == "TodoWrite"
                        && let Some(todos) = input["todos"].as_array()
                    {
                        g.open_todos = todos
                            .iter()
                            .filter(|t| t["status"] != "completed")
                            .map(|t| {
                                (
                                    t["status"].as_str().unwrap_or("pending").to_owned(),
                                    t["content"].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect();
                    }
                    for key in ["file_path", "notebook_path", "path"] {
                        if let Some(p) = input[key].as_str() {
                            order += 1;
                            let entry = files.entry(p.to_owned()).or_default();
                            entry.0 = order;
                            if !entry.1.contains(&tool) {
                                entry.1.push(tool.clone());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    })
    .with_context(|| format!("cannot read {}", path.display()))?;
    let mut files: Vec<_> = files.into_iter().collect();
    files.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    files.truncate(FILES);
    g.files = files
        .into_iter()
        .map(|(p, (_, tools))| (p, tools))
        .collect();
    Ok(g)
}

fn user(v: &Value, g: &mut Gathered) {
    let content = &v["message"]["content"];
    let text = match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return,
    };
    if v["isCompactSummary"] == true {
        g.summary = Some(text);
        return;
    }
    let text = text.trim();
    // Slash commands, their output and reminders are claude's, not the user's requests.
    if v["isMeta"] == true || text.is_empty() || text.starts_with('<') {
        return;
    }
    g.requests.push(cut(text, REQUEST_CHARS));
    if g.requests.len() > REQUESTS {
        g.requests.remove(0);
    }
}

/// The note's markdown.
pub fn render(g: &Gathered, session_id: &str, cwd: &str, claude: &str) -> String {
    let mut s = format!("# Handoff from claude session {session_id}\n\n");
    s.push_str(&format!(
        "ccrescue wrote this note because the session could not be compacted below the standard \
         context window. Nothing was deleted: `{claude} --resume {session_id}` opens the old \
         session again.\n\nProject folder: `{cwd}`\n\n"
    ));
    s.push_str("## Latest summary\n\n");
    match &g.summary {
        Some(t) => s.push_str(&format!("{}\n\n", t.trim())),
        None => s.push_str("(the session was never compacted: no summary)\n\n"),
    }
    s.push_str("## Last requests\n\n");
    if g.requests.is_empty() {
        s.push_str("(none recorded)\n");
    }
    for (i, r) in g.requests.iter().enumerate() {
        let quoted = r.lines().collect::<Vec<_>>().join("\n   ");
        s.push_str(&format!("{}. {quoted}\n", i + 1));
    }
    s.push_str("\n## Files touched by tool calls\n\n");
    if g.files.is_empty() {
        s.push_str("(none recorded)\n");
    }
    for (path, tools) in &g.files {
        s.push_str(&format!("- `{path}` ({})\n", tools.join(", ")));
    }
    s.push_str("\n## Open todo items\n\n");
    if g.open_todos.is_empty() {
        s.push_str("(none recorded)\n");
    }
    for (status, text) in &g.open_todos {
        s.push_str(&format!("- [ ] {text} ({status})\n"));
    }
    s
}

/// `<session folder>/<id>.handoff.md`, or `.handoff-2.md`, … when taken.
pub fn note_path(session_file: &Path, session_id: &str) -> PathBuf {
    let dir = session_file.parent().unwrap_or(Path::new("."));
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{session_id}.handoff.md")
        } else {
            format!("{session_id}.handoff-{n}.md")
        };
        let p = dir.join(name);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_keeps_summary_requests_files_and_open_todos() {
        let lines = [
            r#"{"type":"user","message":{"role":"user","content":"first ask"},"uuid":"1"}"#,
            r#"{"type":"user","isCompactSummary":true,"message":{"content":"This session is being continued… SUM"}}"#,
            r#"{"type":"user","message":{"content":"<command-name>/compact</command-name>"}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Read","input":{"file_path":"/p/a.rs"}},{"type":"tool_use","name":"Edit","input":{"file_path":"/p/a.rs"}}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"TodoWrite","input":{"todos":[{"content":"done one","status":"completed"},{"content":"fix the bug","status":"in_progress"}]}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"x"},{"type":"text","text":"second ask"}]}}"#,
            r#"{"type":"user","isSidechain":true,"message":{"content":"agent talk"}}"#,
            r#"not json "type":"user""#,
        ];
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("s.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let g = gather(&path).unwrap();
        assert_eq!(
            g.summary.as_deref(),
            Some("This session is being continued… SUM")
        );
        assert_eq!(g.requests, ["first ask", "second ask"]);
        assert_eq!(
            g.files,
            [(
                "/p/a.rs".to_owned(),
                vec!["Read".to_owned(), "Edit".to_owned()]
            )]
        );
        assert_eq!(
            g.open_todos,
            [("in_progress".to_owned(), "fix the bug".to_owned())]
        );
        let md = render(&g, "55fc", "/p", "claude");
        assert!(md.starts_with("# Handoff from claude session 55fc\n"));
        assert!(md.contains("`claude --resume 55fc`"));
        assert!(md.contains("1. first ask\n2. second ask\n"));
        assert!(md.contains("- `/p/a.rs` (Read, Edit)\n"));
        assert!(md.contains("- [ ] fix the bug (in_progress)\n"));
        assert_eq!(note_path(&path, "55fc"), tmp.path().join("55fc.handoff.md"));
        std::fs::write(tmp.path().join("55fc.handoff.md"), "").unwrap();
        assert_eq!(
            note_path(&path, "55fc"),
            tmp.path().join("55fc.handoff-2.md")
        );
    }
}
