//! What a trim will change, chosen before anything is written: the per-change list, totals by
//! kind, bytes and estimated context tokens before → after, the backup it will write; and the
//! rule that picks blocks for `--target-tokens` (media before tool outputs, largest first).
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use super::blocks::ChangeKind;
use super::locate::{Fixed, Located};
use crate::format::{human_bytes, thousands};

/// One block a trim replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// 1-based line of the session file.
    pub line: u64,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Images and documents: the size of the file the base64 holds (what the placeholder says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_bytes: Option<u64>,
    /// Bytes of the block in the file now.
    pub bytes: u64,
    /// Bytes of what replaces it.
    pub bytes_after: u64,
    /// Estimated context tokens saved (0 for blocks before the last compaction, and for copies
    /// that are never sent).
    pub est_tokens: u64,
    /// The block's index among the line's candidates (`blocks::find`); `None` for a copy.
    #[serde(skip)]
    pub(crate) ordinal: Option<usize>,
    /// Where in the file the change is made (a copy may empty several strings).
    #[serde(skip)]
    pub(crate) at: Vec<Located>,
    /// The line's parts that must not change.
    #[serde(skip)]
    pub(crate) fixed: Fixed,
}

impl Change {
    fn is_media(&self) -> bool {
        matches!(self.kind, ChangeKind::Image | ChangeKind::Document)
    }
}

/// The changes of one kind, added up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindTotal {
    pub kind: ChangeKind,
    pub count: u64,
    /// Images and documents: the size of the files their base64 holds (as the placeholders say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_bytes: Option<u64>,
    /// Bytes of the blocks in the session file (base64 text and JSON around it).
    pub bytes: u64,
    pub bytes_after: u64,
    pub est_tokens: u64,
}

/// A line trim keeps exactly as it is although it is not a well-formed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptLine {
    pub line: u64,
    pub problem: String,
}

/// The file as it was when planned: apply refuses to act on a plan for another state of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrimPlan {
    pub path: PathBuf,
    /// The backup `apply` will write (the placeholders name it).
    pub backup: PathBuf,
    pub changes: Vec<Change>,
    pub totals: Vec<KindTotal>,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Context tokens now (the last reply's usage, or the last compaction's figure), if known.
    pub tokens_before: Option<u64>,
    pub tokens_after: Option<u64>,
    pub target_tokens: Option<u64>,
    /// With `--target-tokens`: whether the estimate gets under it.
    pub target_reached: Option<bool>,
    /// Only records after this line (the last compact boundary) were looked at; `None`: all.
    pub after_line: Option<u64>,
    /// Malformed lines, non-UTF-8 lines and a torn last line: kept byte for byte (examples).
    pub kept_verbatim: Vec<KeptLine>,
    pub malformed_lines: u64,
    /// Distinct lines kept verbatim because they are damaged (malformed, non-UTF-8, torn).
    pub damaged_lines: u64,
    pub non_utf8_lines: u64,
    pub torn_last_line: bool,
    #[serde(skip)]
    pub(crate) stamp: Stamp,
    /// Lines of the file when planned (a torn last line included).
    #[serde(skip)]
    pub(crate) lines: u64,
}

impl TrimPlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The summary shown before writing: blocks by kind, bytes and tokens before → after, backup.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut out = vec![format!("Session: {}", self.path.display())];
        out.push(match self.after_line {
            Some(line) => format!("Looking at the records after the last compaction (line {line}; --all for every record)."),
            None => "Looking at every record of the file.".to_owned(),
        });
        if self.is_empty() {
            out.push("Nothing to trim.".to_owned());
        } else {
            out.push("Will replace:".to_owned());
            for t in &self.totals {
                let tokens = if t.est_tokens > 0 {
                    format!(", ~{} tokens", thousands(t.est_tokens))
                } else {
                    String::new()
                };
                // Two sizes of an image: the file it is (what its placeholder says) and the
                // base64 text it takes in the session (what the trim saves).
                let sizes = match t.image_bytes {
                    Some(data) => format!(
                        "{} {} data, {} as base64",
                        human_bytes(data),
                        t.kind.label(),
                        human_bytes(t.bytes)
                    ),
                    None => human_bytes(t.bytes),
                };
                out.push(format!(
                    "  {} {}: {sizes} → {}{tokens}",
                    t.count,
                    t.kind.noun(t.count),
                    human_bytes(t.bytes_after)
                ));
            }
            out.push(format!(
                "File: {} → {}",
                human_bytes(self.bytes_before),
                human_bytes(self.bytes_after)
            ));
        }
        match (self.tokens_before, self.tokens_after) {
            (Some(b), Some(a)) => out.push(format!(
                "Context: ~{} → ~{} tokens (estimate)",
                thousands(b),
                thousands(a)
            )),
            _ => out.push("Context: unknown (no reply recorded yet)".to_owned()),
        }
        if let (Some(target), Some(reached)) = (self.target_tokens, self.target_reached) {
            out.push(if reached {
                format!("Target: under {} tokens — reached.", thousands(target))
            } else {
                format!(
                    "Target: under {} tokens — not reachable by trimming alone; compaction is still needed.",
                    thousands(target)
                )
            });
        }
        if !self.is_empty() {
            out.push(format!(
                "Backup: {} (the original, kept as it is)",
                self.backup.display()
            ));
        }
        for k in &self.kept_verbatim {
            out.push(format!("Kept as it is: line {}: {}", k.line, k.problem));
        }
        let more = self
            .damaged_lines
            .saturating_sub(self.kept_verbatim.len() as u64);
        if more > 0 {
            out.push(format!("Kept as it is: {more} more such lines"));
        }
        out
    }

    /// One line per change, for `--dry-run`: line, kind, size, est. tokens.
    pub fn change_lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .map(|c| {
                let mut what = match (&c.media_type, c.width, c.height) {
                    (Some(t), Some(w), Some(h)) => format!("{} {t} {w}×{h}", c.kind.label()),
                    (Some(t), _, _) => format!("{} {t}", c.kind.label()),
                    _ => c.kind.label().to_owned(),
                };
                if let Some(data) = c.image_bytes {
                    what = format!("{what}, {}", human_bytes(data));
                }
                format!(
                    "line {:>7}  {:<40}  {:>9} → {:<9}  ~{} tokens",
                    c.line,
                    what,
                    human_bytes(c.bytes),
                    human_bytes(c.bytes_after),
                    thousands(c.est_tokens)
                )
            })
            .collect()
    }
}

/// Adds up `changes` by kind, in kind order.
pub(crate) fn totals(changes: &[Change]) -> Vec<KindTotal> {
    let mut out: Vec<KindTotal> = vec![];
    for c in changes {
        let t = match out.iter_mut().find(|t| t.kind == c.kind) {
            Some(t) => t,
            None => {
                out.push(KindTotal {
                    kind: c.kind,
                    count: 0,
                    image_bytes: None,
                    bytes: 0,
                    bytes_after: 0,
                    est_tokens: 0,
                });
                out.last_mut().expect("just pushed")
            }
        };
        t.count += 1;
        if let Some(data) = c.image_bytes {
            t.image_bytes = Some(t.image_bytes.unwrap_or(0) + data);
        }
        t.bytes += c.bytes;
        t.bytes_after += c.bytes_after;
        t.est_tokens += c.est_tokens;
    }
    out.sort_by_key(|t| t.kind);
    out
}

/// The changes to make out of the candidates `found`. Without a target, all of them; with one,
/// media before tool outputs, the largest estimate first within each, until the estimate is
/// under the target. Returns the chosen changes in file order, and whether the target is reached.
pub(crate) fn choose(
    mut found: Vec<Change>,
    target: Option<u64>,
    tokens_before: u64,
) -> (Vec<Change>, Option<bool>) {
    let Some(target) = target else {
        return (found, None);
    };
    found.retain(|c| c.est_tokens > 0);
    found.sort_by_key(|c| {
        (
            !c.is_media(),
            std::cmp::Reverse(c.est_tokens),
            std::cmp::Reverse(c.bytes),
            c.line,
        )
    });
    let mut left = tokens_before;
    let mut chosen = vec![];
    for c in found {
        if left < target {
            break;
        }
        left = left.saturating_sub(c.est_tokens);
        chosen.push(c);
    }
    chosen.sort_by_key(|c| (c.line, c.ordinal));
    (chosen, Some(left < target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(line: u64, kind: ChangeKind, est: u64) -> Change {
        Change {
            line,
            kind,
            media_type: None,
            width: None,
            height: None,
            image_bytes: None,
            bytes: est * 10,
            bytes_after: 10,
            est_tokens: est,
            ordinal: Some(0),
            at: vec![],
            fixed: Fixed::default(),
        }
    }

    #[test]
    fn target_takes_media_first_then_the_largest_tool_outputs() {
        let found = vec![
            change(1, ChangeKind::ToolOutput, 5000),
            change(2, ChangeKind::Image, 100),
            change(3, ChangeKind::Document, 900),
            change(4, ChangeKind::ToolOutput, 3000),
            change(5, ChangeKind::Image, 0), // before the last compaction: saves nothing
        ];
        // 10_000 → under 9_500: the largest medium (the document, 900) is enough.
        let (chosen, reached) = choose(found.clone(), Some(9_500), 10_000);
        assert_eq!(chosen.iter().map(|c| c.line).collect::<Vec<_>>(), [3]);
        assert_eq!(reached, Some(true));
        // Under 5_000: media, then the 5_000 tool output.
        let (chosen, reached) = choose(found.clone(), Some(5_000), 10_000);
        assert_eq!(chosen.iter().map(|c| c.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(reached, Some(true));
        // Unreachable: everything that saves something, and says so.
        let (chosen, reached) = choose(found.clone(), Some(100), 10_000);
        assert_eq!(chosen.len(), 4);
        assert_eq!(reached, Some(false));
        // Already under: nothing.
        let (chosen, reached) = choose(found.clone(), Some(20_000), 10_000);
        assert!(chosen.is_empty());
        assert_eq!(reached, Some(true));
        // No target: all, as found.
        assert_eq!(choose(found.clone(), None, 10_000), (found, None));
    }

    #[test]
    fn totals_by_kind() {
        let t = totals(&[
            change(1, ChangeKind::ToolOutput, 5),
            change(2, ChangeKind::Image, 1),
            change(3, ChangeKind::Image, 2),
        ]);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].kind, t[0].count, t[0].est_tokens, t[0].bytes),
            (ChangeKind::Image, 2, 3, 30)
        );
        assert_eq!(t[1].kind, ChangeKind::ToolOutput);
    }
}
