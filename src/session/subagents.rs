//! A session's subagent transcripts, in the three layouts claude has written them, read with the
//! streaming record reader: how many records each holds, whether the long-context gate refused
//! it, and whether it ran on a 1M model. A subagent belongs to its parent session, and one
//! subagent's refusal can hold the whole claude process to 200K (anthropics/claude-code#92456).
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::api_error;
use super::json_span as js;
use super::lines::for_each_line;
use super::record::Record;
use super::scan::any_text;
use crate::settings::aliases::{Window, meaning};

/// Where a subagent's transcript was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `<session-id>/subagents/agent-*.jsonl` (claude 2.1.x).
    Folder,
    /// `agent-*.jsonl` beside the session, its records naming the session's id (claude 2.0.x).
    Beside,
    /// `isSidechain: true` records inside the session file itself (early 2.0.x).
    Inline,
}

/// One subagent transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Subagent {
    /// `agent-ea02459f`, or `inline` for the sidechain records of the session file.
    pub name: String,
    pub path: PathBuf,
    pub layout: Layout,
    pub records: u64,
    /// The long-context refusal the subagent recorded last, if any.
    pub refused: Option<String>,
    /// An assistant reply ran on a `[1m]` or natively 1M-context model.
    pub one_m: bool,
}

/// The subagent transcripts of the session file at `session`, by layout (folder, beside,
/// inline), each in name order; `inline` is what the session's scan found in its own
/// `isSidechain` records (the session file is not read again). Unreadable files are skipped:
/// this is evidence, not a check.
pub fn find(session: &Path, session_id: Option<&str>, inline: &Sidechain) -> Vec<Subagent> {
    let mut out = vec![];
    let folder = session.with_extension("").join("subagents");
    for path in agent_files(&folder) {
        if let Some(s) = read(&path, Layout::Folder) {
            out.push(s);
        }
    }
    // The file's name is the session's id; the id its records carry last may differ (a forked
    // or continued session), and either one names it.
    let stem = session
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let ours = |id: &str| stem.as_deref() == Some(id) || session_id == Some(id);
    if let Some(dir) = session.parent() {
        for path in agent_files(dir) {
            if first_session_id(&path).is_some_and(|id| ours(&id))
                && let Some(s) = read(&path, Layout::Beside)
            {
                out.push(s);
            }
        }
    }
    if inline.records > 0 {
        out.push(Subagent {
            name: "inline".into(),
            path: session.to_owned(),
            layout: Layout::Inline,
            records: inline.records,
            refused: inline.refused.clone(),
            one_m: inline.one_m,
        });
    }
    out
}

/// `agent-*.jsonl` files in `dir`, sorted.
fn agent_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("agent-") && n.ends_with(".jsonl"))
                && p.is_file()
        })
        .collect();
    files.sort();
    files
}

/// The `sessionId` of the first record that has one, reading no further than that record.
fn first_session_id(path: &Path) -> Option<String> {
    let mut reader = BufReader::new(File::open(path).ok()?);
    let mut line = vec![];
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        if let Ok(r) = Record::read(&line)
            && let Some(id) = r.session_id.as_ref()
        {
            return js::string(&line, id);
        }
    }
}

/// Reads one subagent's own transcript.
fn read(path: &Path, layout: Layout) -> Option<Subagent> {
    let file = File::open(path).ok()?;
    let mut s = Subagent {
        name: path.file_stem()?.to_string_lossy().into_owned(),
        path: path.to_owned(),
        layout,
        records: 0,
        refused: None,
        one_m: false,
    };
    let mut seen = Sidechain::default();
    for_each_line(file, |line| {
        if let Ok(r) = Record::read(line.bytes) {
            seen.take(line.bytes, &r);
        }
    })
    .ok()?;
    s.records = seen.records;
    s.refused = seen.refused;
    s.one_m = seen.one_m;
    Some(s)
}

/// What a subagent's records say, taken one record at a time: by [`find`] for a transcript of its
/// own, and by the session's scan for the `isSidechain` records inline in the session file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sidechain {
    pub records: u64,
    /// The long-context refusal recorded last, unless a real reply came after it.
    pub refused: Option<String>,
    /// An assistant reply ran on a `[1m]` or natively 1M-context model.
    pub one_m: bool,
    /// A record set or cleared `refused` (for joining the scans of a file's parts).
    #[serde(skip)]
    pub(crate) decided: bool,
}

impl Sidechain {
    /// Takes in record `r` (line `b`).
    pub fn take(&mut self, b: &[u8], r: &Record) {
        self.records += 1;
        if r.kind.as_ref().and_then(|k| js::raw_str(b, k)) != Some(b"assistant") {
            return;
        }
        if r.is_api_error || r.api_error_status.is_some() {
            let text = r
                .message_content
                .as_ref()
                .map(|c| any_text(b, c))
                .unwrap_or_default();
            if api_error::is_long_context(&text) {
                self.refused = Some(text);
                self.decided = true;
            }
        } else if let Some(m) = r.model.as_ref().and_then(|m| js::string(b, m)) {
            self.refused = None; // a real reply came after: the subagent moved on
            self.decided = true;
            self.one_m |= is_one_m_model(&m);
        }
    }
}

/// A `[1m]` model, or an id that is natively 1M-context (settings::aliases).
fn is_one_m_model(model: &str) -> bool {
    model != "<synthetic>" && meaning(model, None).window == Some(Window::OneM)
}

/// The subagents of a session, counted as `diagnose --json` shows them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub count: usize,
    pub folder: usize,
    pub beside: usize,
    pub inline: usize,
    /// The names of the subagents the long-context gate refused.
    pub refused: Vec<String>,
    /// The names of the subagents that ran on a 1M model.
    pub one_m: Vec<String>,
}

impl Summary {
    pub fn of(agents: &[Subagent]) -> Summary {
        let names = |f: fn(&Subagent) -> bool| {
            agents
                .iter()
                .filter(|a| f(a))
                .map(|a| a.name.clone())
                .collect()
        };
        let layout = |l| agents.iter().filter(|a| a.layout == l).count();
        Summary {
            count: agents.len(),
            folder: layout(Layout::Folder),
            beside: layout(Layout::Beside),
            inline: layout(Layout::Inline),
            refused: names(|a| a.refused.is_some()),
            one_m: names(|a| a.one_m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";

    fn line(extra: &str) -> String {
        format!(r#"{{"isSidechain":true,"sessionId":"{ID}",{extra}}}"#)
    }

    fn reply(model: &str) -> String {
        line(&format!(
            r#""type":"assistant","message":{{"role":"assistant","model":"{model}","content":[{{"type":"text","text":"ok"}}]}}"#
        ))
    }

    fn refusal() -> String {
        line(
            r#""type":"assistant","isApiErrorMessage":true,"message":{"role":"assistant","model":"<synthetic>","content":[{"type":"text","text":"API Error: Usage credits required for 1M context · run /model to switch to standard context"}]}"#,
        )
    }

    #[test]
    fn a_later_reply_clears_a_refusal_and_native_1m_models_count() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join(format!("{ID}.jsonl"));
        fs::write(&session, "").unwrap();
        let folder = tmp.path().join(ID).join("subagents");
        fs::create_dir_all(&folder).unwrap();
        // Refused, then answered on a natively 1M model: moved on, but on 1M.
        fs::write(
            folder.join("agent-a.jsonl"),
            [refusal(), reply("claude-opus-4-5-5")].join("\n"),
        )
        .unwrap();
        // Answered on a 200K model, then refused: refused, not 1M.
        fs::write(
            folder.join("agent-b.jsonl"),
            [reply("claude-sonnet-4-6"), refusal()].join("\n"),
        )
        .unwrap();
        fs::write(folder.join("agent-c.meta.json"), "{}").unwrap();
        let found = find(&session, Some(ID), &Sidechain::default());
        let sum = Summary::of(&found);
        assert_eq!((sum.count, sum.folder), (2, 2), "{found:?}");
        assert_eq!(sum.refused, ["agent-b"]);
        assert_eq!(sum.one_m, ["agent-a"]);
    }

    #[test]
    fn beside_only_with_the_sessions_id_decided_by_the_first_record_that_has_one() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join(format!("{ID}.jsonl"));
        fs::write(&session, r#"{"type":"user","sessionId":"x"}"#).unwrap();
        let summary = r#"{"type":"summary","summary":"s"}"#;
        fs::write(
            tmp.path().join("agent-mine.jsonl"),
            [summary.to_owned(), reply("claude-sonnet-4-6[1m]")].join("\n"),
        )
        .unwrap();
        fs::write(
            tmp.path().join("agent-other.jsonl"),
            reply("m").replace(ID, "99999999-2222-3333-4444-555555555555"),
        )
        .unwrap();
        let found = find(&session, None, &Sidechain::default());
        let sum = Summary::of(&found);
        assert_eq!((sum.count, sum.beside, sum.inline), (1, 1, 0), "{found:?}");
        assert_eq!(sum.one_m, ["agent-mine"]);
    }

    #[test]
    fn inline_sidechain_records_only_counted_by_the_sessions_scan() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join(format!("{ID}.jsonl"));
        let main = r#"{"type":"user","sessionId":"x","message":{"role":"user","content":"hi"}}"#;
        fs::write(
            &session,
            [main.to_owned(), reply("m"), refusal()].join("\n"),
        )
        .unwrap();
        let inline = |path: &Path| crate::session::scan(path).unwrap().sidechain;
        let found = find(&session, Some(ID), &inline(&session));
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].layout, found[0].records), (Layout::Inline, 2));
        assert!(found[0].refused.is_some());
        fs::write(&session, main).unwrap();
        assert!(find(&session, Some(ID), &inline(&session)).is_empty());
    }
}
