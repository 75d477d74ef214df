//! `settings --fix`: the plan (which `[1m]` strings in which writable, non-managed files become
//! which standard-context ids) and the in-place edit that carries it out.
//!
//! The edit is a byte splice over the one JSON string, located with the project's own span
//! walker (`session::json_span`): every other byte of the file stays as it was, and no new
//! dependency is needed for a format claude itself reads with plain JSON.parse (no comments).
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use super::aliases::standard_replacement;
use super::layers::{LayerState, Layers, Scope};
use super::{is_one_m, is_secret_name, redact, without_bom};
use crate::fsx::{self, Backup, Replaced};
use crate::session::json_span::{self, Entries, Span};

/// One string in one settings file that `--fix` changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFix {
    pub file: PathBuf,
    pub scope: Scope,
    /// `model` or `env.NAME`.
    pub key: String,
    pub before: String,
    pub after: String,
    /// 1-based line and column of the value in the file.
    pub line: usize,
    pub column: usize,
    /// The `"key": "value"` text as it is in the file, and as it will be.
    pub before_text: String,
    pub after_text: String,
    /// Byte range of the value (with its quotes) when planned; checked again before writing.
    #[serde(skip)]
    pub span: Range<usize>,
}

/// A `[1m]` setting `--fix` will not write, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Untouched {
    pub scope: Scope,
    pub file: Option<PathBuf>,
    pub key: String,
    /// As it may be shown (secrets redacted).
    pub value: String,
    /// Who can change it, or what to do instead.
    pub why: String,
}

/// What `--fix` will do, and what it leaves to someone else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub fixes: Vec<FileFix>,
    pub untouched: Vec<Untouched>,
}

/// Only the fixes of [`plan`]: writable, non-managed files.
pub fn plan_fixes(layers: &Layers) -> Vec<FileFix> {
    plan(layers).fixes
}

/// The fixes for every `[1m]` model setting in the settings files of `layers`, and the settings
/// left alone (managed, unwritable, not a model setting). Process variables are `shell`'s job.
pub fn plan(layers: &Layers) -> Plan {
    let mut plan = Plan::default();
    for layer in &layers.layers {
        let (Some(path), LayerState::Read) = (&layer.path, &layer.state) else {
            continue;
        };
        let Ok(bytes) = super::read_settings(path) else {
            continue;
        };
        let Ok(found) = locate(&bytes) else {
            continue;
        };
        let leave = |key: &str, value: &str, why: String| Untouched {
            scope: layer.scope,
            file: Some(path.clone()),
            key: key.to_owned(),
            value: redact(key.trim_start_matches("env."), value),
            why,
        };
        let writable = fs::OpenOptions::new().append(true).open(path).err();
        for s in found.into_iter().filter(|s| is_one_m(&s.value)) {
            if !s.is_model_setting() {
                plan.untouched.push(leave(
                    &s.key,
                    &s.value,
                    "not a model setting; left as it is".into(),
                ));
            } else if layer.scope == Scope::Managed {
                plan.untouched.push(leave(&s.key, &s.value, format!(
                    "managed settings override every other layer and only an administrator can change them: ask yours to edit {}",
                    path.display()
                )));
            } else if let Some(e) = &writable {
                plan.untouched.push(leave(
                    &s.key,
                    &s.value,
                    format!(
                        "cannot write {} ({e}): change it by hand, or run ccrescue as its owner",
                        path.display()
                    ),
                ));
            } else if let Some(after) = standard_replacement(&s.value) {
                plan.fixes.push(s.fix(path, layer.scope, &bytes, after));
            }
        }
    }
    plan
}

/// The file a fix of `path` changes, in words for the question asked first: `path`, or, when
/// `path` is a symlink, the file it leads to (the one the change reaches; issue 17 point 10: as
/// root, "Change <link>?" edited a file in another user's folder without naming it).
pub fn target_words(path: &Path) -> String {
    let target = fsx::resolve(path);
    if target == path {
        path.display().to_string()
    } else {
        format!("{} (linked from {})", target.display(), path.display())
    }
}

/// Applies one fix (see [`apply_file`]).
pub fn apply_fix(fix: &FileFix) -> Result<Replaced> {
    apply_file(std::slice::from_ref(fix))
}

/// Applies `fixes`, which must all be for the same file, in one atomic write with a backup
/// (`fsx::replace`). The file is read again first: if a value is no longer what was planned,
/// nothing is written.
pub fn apply_file(fixes: &[FileFix]) -> Result<Replaced> {
    let Some(first) = fixes.first() else {
        bail!("nothing to fix");
    };
    let path = &first.file;
    if fixes.iter().any(|f| &f.file != path) {
        bail!("apply_file got fixes for more than one file");
    }
    let bytes =
        super::read_settings(path).with_context(|| format!("reading {}", path.display()))?;
    let found = locate(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is no longer valid JSON ({e}); nothing written",
            path.display()
        )
    })?;
    let mut edits: Vec<(Span, String)> = vec![];
    for fix in fixes {
        let now = found
            .iter()
            .find(|s| s.key == fix.key && s.span == fix.span);
        match now {
            Some(s) if s.value == fix.before => edits.push((s.span.clone(), encode(&fix.after))),
            _ => bail!(
                "{} changed since ccrescue read it ({} is no longer {:?}); nothing written: run ccrescue settings --fix again",
                path.display(),
                fix.key,
                fix.before
            ),
        }
    }
    let new = splice(&bytes, &mut edits);
    // A temp file left by a killed ccrescue would otherwise sit in the user's .claude folder.
    fsx::sweep_stale_temps_beside(path, |line| {
        eprintln!(
            "{} {line}",
            console::style("warning:").for_stderr().yellow().bold()
        )
    });
    fsx::replace(
        path,
        Backup::Link,
        |out| {
            fsx::still_holds(path, &bytes, "ccrescue settings --fix")?;
            Ok(out.write_all(&new)?)
        },
        |temp| validate(temp, &new, fixes),
    )
}

/// The written file holds exactly the planned bytes, is valid JSON, and the edited keys hold
/// their new values.
fn validate(temp: &mut fs::File, expected: &[u8], fixes: &[FileFix]) -> Result<()> {
    let mut written = Vec::with_capacity(expected.len());
    std::io::Read::read_to_end(temp, &mut written)?;
    if written != expected {
        bail!("the temporary file does not hold what was written");
    }
    serde_json::from_slice::<serde_json::Value>(without_bom(&written))
        .context("the edited file is not valid JSON")?;
    let found =
        locate(&written).map_err(|e| anyhow::anyhow!("the edited file does not walk: {e}"))?;
    for fix in fixes {
        if !found
            .iter()
            .any(|s| s.key == fix.key && s.value == fix.after)
        {
            bail!(
                "the edited file does not have {} = {:?}",
                fix.key,
                fix.after
            );
        }
    }
    Ok(())
}

/// A JSON string literal for `s` (quotes included, escaped as JSON requires).
pub(crate) fn encode(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// `bytes` with each span replaced by its text; spans must not overlap (also `guard`'s editor).
pub(crate) fn splice(bytes: &[u8], edits: &mut [(Span, String)]) -> Vec<u8> {
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut at = 0;
    for (span, text) in edits.iter() {
        out.extend_from_slice(&bytes[at..span.start]);
        out.extend_from_slice(text.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// A string value under `model` or `env.NAME`, where it is in the file.
#[derive(Debug)]
struct Found {
    key: String,
    value: String,
    /// The value, with its quotes.
    span: Span,
    /// From the key's opening quote to the end of the value.
    entry: Span,
}

impl Found {
    /// `model`, or an `env` variable naming a model (`ANTHROPIC_MODEL`, `…_MODEL`).
    fn is_model_setting(&self) -> bool {
        self.key == "model"
            || self
                .key
                .strip_prefix("env.")
                .is_some_and(|n| n.ends_with("_MODEL") && !is_secret_name(n))
    }

    fn fix(&self, path: &Path, scope: Scope, bytes: &[u8], after: String) -> FileFix {
        let before_text = String::from_utf8_lossy(&bytes[self.entry.clone()]).into_owned();
        let key_part = String::from_utf8_lossy(&bytes[self.entry.start..self.span.start]);
        let (line, column) = line_col(bytes, self.span.start);
        FileFix {
            file: path.to_owned(),
            scope,
            key: self.key.clone(),
            before: self.value.clone(),
            after_text: format!("{key_part}{}", encode(&after)),
            after,
            line,
            column,
            before_text,
            span: self.span.clone(),
        }
    }
}

/// Every string under the top-level `model` and `env.*` keys (all occurrences of a repeated key),
/// with spans into `file` (a byte-order mark, if any, stays in place before them).
fn locate(file: &[u8]) -> Result<Vec<Found>, json_span::SyntaxError> {
    let b = without_bom(file);
    let shift = file.len() - b.len();
    let mut found = locate_in(b)?;
    for f in &mut found {
        f.span = f.span.start + shift..f.span.end + shift;
        f.entry = f.entry.start + shift..f.entry.end + shift;
    }
    Ok(found)
}

fn locate_in(b: &[u8]) -> Result<Vec<Found>, json_span::SyntaxError> {
    let top = json_span::validate(b)?;
    let mut out = vec![];
    let key_of = |k: &Span| json_span::string(b, &(k.start - 1..k.end + 1));
    let Ok(entries) = Entries::of(b, &top) else {
        return Ok(out);
    };
    for entry in entries {
        let (k, v) = entry?;
        match key_of(&k).as_deref() {
            Some("model") => out.extend(string_at(b, "model".into(), &k, v)),
            Some("env") if b[v.start] == b'{' => {
                for e in Entries::of(b, &v)? {
                    let (ek, ev) = e?;
                    if let Some(name) = key_of(&ek) {
                        out.extend(string_at(b, format!("env.{name}"), &ek, ev));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn string_at(b: &[u8], key: String, k: &Span, v: Span) -> Option<Found> {
    let value = (b[v.start] == b'"').then(|| json_span::string(b, &v))??;
    Some(Found {
        key,
        value,
        entry: k.start - 1..v.end,
        span: v,
    })
}

/// 1-based line and column (in characters, not counting a byte-order mark) of byte `at`.
fn line_col(b: &[u8], at: usize) -> (usize, usize) {
    let before = without_bom(&b[..at]);
    let line = before.iter().filter(|c| **c == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|c| *c == b'\n')
        .map_or(0, |i| i + 1);
    (
        line,
        String::from_utf8_lossy(&before[start..]).chars().count() + 1,
    )
}

#[cfg(test)]
#[path = "fix_tests.rs"]
mod tests;
