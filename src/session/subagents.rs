//! A session's subagent transcripts, in the three layouts claude has written them, read with the
//! streaming record reader: how many records each holds, whether the long-context gate refused
//! it, and whether it ran on a 1M model. A subagent belongs to its parent session, and one
//! subagent's refusal can hold the whole claude process to 200K (anthropics/claude-code#92456).
use std::fs::{self, File};
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
/// inline), each in name order. Unreadable files are skipped: this is evidence, not a check.
pub fn find(session: &Path, session_id: Option<&str>) -> Vec<Subagent> {
    let mut out = vec![];
    let folder = session.with_extension("").join("subagents");
    for path in agent_files(&folder) {
        if let Some(s) = read(&path, Layout::Folder, false) {
            out.push(s);
        }
    }
    let id = session_id
        .map(str::to_owned)
        .or_else(|| Some(session.file_stem()?.to_string_lossy().into_owned()));
    if let (Some(dir), Some(id)) = (session.parent(), id) {
        for path in agent_files(dir) {
            if first_session_id(&path).as_deref() == Some(id.as_str())
                && let Some(s) = read(&path, Layout::Beside, false)
            {
                out.push(s);
            }
        }
    }
    if let Some(s) = read(session, Layout::Inline, true).filter(|s| s.records > 0) {
        out.push(s);
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

/// The `sessionId` of the first record that has one.
fn first_session_id(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    let mut found = None;
    let _ = for_each_line(file, |line| {
        if found.is_some() {
            return;
        }
        if let Ok(r) = Record::read(line.bytes) {
            found = r
                .session_id
                .as_ref()
                .and_then(|s| js::string(line.bytes, s));
        }
    });
    found
}

/// Reads one transcript; with `sidechain_only`, only the `isSidechain` records count.
fn read(path: &Path, layout: Layout, sidechain_only: bool) -> Option<Subagent> {
    let file = File::open(path).ok()?;
    let mut s = Subagent {
        name: match layout {
            Layout::Inline => "inline".into(),
            _ => path.file_stem()?.to_string_lossy().into_owned(),
        },
        path: path.to_owned(),
        layout,
        records: 0,
        refused: None,
        one_m: false,
    };
    for_each_line(file, |line| {
        let b = line.bytes;
        let Ok(r) = Record::read(b) else { return };
        if sidechain_only && !r.is_sidechain {
            return;
        }
        s.records += 1;
        if r.kind.as_ref().and_then(|k| js::raw_str(b, k)) != Some(b"assistant") {
            return;
        }
        let model = r.model.as_ref().and_then(|m| js::string(b, m));
        if r.is_api_error || r.api_error_status.is_some() {
            let text = r
                .message_content
                .as_ref()
                .map(|c| any_text(b, c))
                .unwrap_or_default();
            if api_error::is_long_context(&text) {
                s.refused = Some(text);
            }
        } else if let Some(m) = model {
            s.refused = None; // a real reply came after: the subagent moved on
            s.one_m |= is_one_m_model(&m);
        }
    })
    .ok()?;
    Some(s)
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
