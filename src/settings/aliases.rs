//! What a model name means in a given claude version: the alias → model → window table that
//! `scripts/alias-table.sh` recorded (docs/claude-versions.md), the window of explicit ids, and
//! the standard-context id `settings --fix` writes for each `[1m]` name. A version the table
//! does not cover says it cannot tell instead of guessing.
use serde::Serialize;

use super::{ONE_M_SUFFIX, is_one_m};
use crate::claude::Version;
use crate::ladder::{COMPACT_MODEL, RETURN_MODEL};

/// The context window a name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// 200K.
    Standard,
    /// 1M: the `context-1m-2025-08-07` beta, or a natively 1M-context model.
    OneM,
}

/// What a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meaning {
    /// The model id claude sends, when known.
    pub model: Option<String>,
    /// The window, when known.
    pub window: Option<Window>,
    /// How ccrescue knows, or why it cannot tell.
    pub why: String,
}

/// The aliases claude accepts for `--model` / `model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alias {
    Default,
    Sonnet,
    Haiku,
    Opus,
}

impl Alias {
    /// `sonnet`, `Sonnet[1m]`, `default`, … → the alias (any `[1m]` is ignored here).
    pub fn parse(name: &str) -> Option<Alias> {
        let base = strip_one_m(name).trim().to_ascii_lowercase();
        match base.as_str() {
            "default" | "" => Some(Alias::Default),
            "sonnet" => Some(Alias::Sonnet),
            "haiku" => Some(Alias::Haiku),
            "opus" | "opusplan" => Some(Alias::Opus),
            _ => None,
        }
    }

    /// The variable that maps the alias to another id, if it has one.
    pub fn mapping_var(self) -> Option<&'static str> {
        match self {
            Alias::Default => None,
            Alias::Sonnet => Some("ANTHROPIC_DEFAULT_SONNET_MODEL"),
            Alias::Haiku => Some("ANTHROPIC_DEFAULT_HAIKU_MODEL"),
            Alias::Opus => Some("ANTHROPIC_DEFAULT_OPUS_MODEL"),
        }
    }

    /// The explicit 200K id `settings --fix` writes for `<alias>[1m]`: the bare alias may itself
    /// be a 1M-context model (every alias is, in 2.1.328), so it is never written back.
    /// No Opus id was observed as 200K in every version, so Opus gets the default.
    pub fn standard_id(self) -> &'static str {
        match self {
            Alias::Haiku => COMPACT_MODEL,
            Alias::Sonnet | Alias::Opus | Alias::Default => RETURN_MODEL,
        }
    }
}

/// `name` without its `[1m]` suffix (any case).
pub fn strip_one_m(name: &str) -> String {
    match name.to_ascii_lowercase().find(ONE_M_SUFFIX) {
        Some(i) => format!("{}{}", &name[..i], &name[i + ONE_M_SUFFIX.len()..]),
        None => name.to_owned(),
    }
}

/// The standard-context value `settings --fix` writes instead of `value`, or `None` when the
/// value does not ask for the 1M window: an explicit id loses its suffix, an alias becomes the
/// explicit 200K id of its family.
pub fn standard_replacement(value: &str) -> Option<String> {
    if !is_one_m(value) {
        return None;
    }
    Some(match Alias::parse(value) {
        Some(alias) => alias.standard_id().to_owned(),
        None => strip_one_m(value).trim().to_owned(),
    })
}

/// One row of the recorded table: (model sent, 1M window) for each alias.
struct Row {
    version: Version,
    default: (&'static str, bool),
    sonnet: (&'static str, bool),
    haiku: (&'static str, bool),
    opus: (&'static str, bool),
}

/// docs/claude-versions.md, "Model names → what claude sends" (API-key auth, `claude -p hi
/// --model NAME`; 1M = the `context-1m` beta was sent, or a natively 1M model in 2.1.328).
const OBSERVED: [Row; 7] = [
    row(
        150,
        "claude-opus-4-7",
        "claude-sonnet-4-6",
        "claude-opus-4-7",
        false,
    ),
    row(
        156,
        "claude-opus-4-8",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        false,
    ),
    row(
        172,
        "claude-opus-4-8",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        false,
    ),
    row(
        185,
        "claude-opus-4-8",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        false,
    ),
    row(
        212,
        "claude-opus-4-8",
        "claude-sonnet-5",
        "claude-opus-4-8",
        false,
    ),
    Row {
        version: Version(2, 1, 328),
        default: ("claude-opus-5-5", true),
        sonnet: ("claude-sonnet-5-5", true),
        haiku: ("claude-haiku-5-5", true),
        opus: ("claude-opus-5-5", true),
    },
    Row {
        version: Version(2, 1, 332),
        default: ("claude-opus-5-5", true),
        sonnet: ("claude-sonnet-5-5", true),
        haiku: ("claude-haiku-5-5", true),
        opus: ("claude-opus-5-5", true),
    },
];

const fn row(
    patch: u32,
    default: &'static str,
    sonnet: &'static str,
    opus: &'static str,
    native: bool,
) -> Row {
    Row {
        version: Version(2, 1, patch),
        // The default model was sent with the 1M beta in every version before 2.1.328.
        default: (default, true),
        sonnet: (sonnet, native),
        haiku: ("claude-haiku-4-5-20251001", native),
        opus: (opus, native),
    }
}

impl Row {
    fn get(&self, alias: Alias) -> (&'static str, bool) {
        match alias {
            Alias::Default => self.default,
            Alias::Sonnet => self.sonnet,
            Alias::Haiku => self.haiku,
            Alias::Opus => self.opus,
        }
    }
}

/// How a lookup in the table was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The version is in the table, or between two versions that agree.
    Observed,
    /// The version is newer than every row: the newest row is assumed (aliases move rarely,
    /// and a newer claude that moved one is caught by the alias-table test when it is pinned).
    AssumedFrom(Version),
}

/// What `alias` meant in `version`, from the table: an observed version, one between two
/// observed versions that agree on it, or (said so) one newer than the newest row, taken to mean
/// what the newest row does. `None` when the table cannot tell (older than every row, or between
/// two rows that differ).
fn lookup(version: Version, alias: Alias) -> Option<((&'static str, bool), Found)> {
    if let Some(r) = OBSERVED.iter().find(|r| r.version == version) {
        return Some((r.get(alias), Found::Observed));
    }
    let below = OBSERVED.iter().rev().find(|r| r.version < version)?;
    let Some(above) = OBSERVED.iter().find(|r| r.version > version) else {
        return Some((below.get(alias), Found::AssumedFrom(below.version)));
    };
    (below.get(alias) == above.get(alias)).then(|| (below.get(alias), Found::Observed))
}

/// Explicit ids observed with a 200K window when sent without `[1m]`.
const STANDARD_IDS: [&str; 4] = [
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
];

/// What a model name means in `version` (`None`: unknown version).
pub fn meaning(name: &str, version: Option<Version>) -> Meaning {
    let one_m = is_one_m(name);
    let alias = Alias::parse(name);
    let Some(alias) = alias else {
        let base = strip_one_m(name).trim().to_owned();
        let (window, why) = if one_m {
            (Some(Window::OneM), "[1m] asks for the 1M window".to_owned())
        } else if STANDARD_IDS.contains(&base.as_str()) {
            (Some(Window::Standard), "a 200K-context id".to_owned())
        } else if base.ends_with("-5-5") {
            (Some(Window::OneM), "a natively 1M-context model".to_owned())
        } else {
            (
                None,
                "an id ccrescue's tests have not seen; cannot tell its window".to_owned(),
            )
        };
        return Meaning {
            model: Some(base),
            window,
            why,
        };
    };
    let name_shown = if alias == Alias::Default {
        "claude's default".to_owned()
    } else {
        format!("the alias {}", strip_one_m(name).trim())
    };
    let Some(v) = version else {
        return Meaning {
            model: None,
            window: one_m.then_some(Window::OneM),
            why: format!(
                "{name_shown}: claude's version is unknown, so ccrescue cannot tell which model it means"
            ),
        };
    };
    match lookup(v, alias) {
        Some(((model, native), found)) => {
            let window = if one_m || native {
                Window::OneM
            } else {
                Window::Standard
            };
            let what = match (one_m, native) {
                (true, _) => "with [1m], the 1M window",
                (false, true) => "a 1M-context model",
                (false, false) => "200K context",
            };
            let why = match found {
                Found::Observed => format!("{name_shown} means {model} in claude {v}, {what}"),
                Found::AssumedFrom(newest) => format!(
                    "{name_shown} meant {model} in claude {newest}, {what}; assumed the same in \
                     claude {v}, newer than any version ccrescue's tests recorded"
                ),
            };
            Meaning {
                model: Some(model.to_owned()),
                window: Some(window),
                why,
            }
        }
        None => Meaning {
            model: None,
            window: one_m.then_some(Window::OneM),
            why: format!(
                "{name_shown}: cannot tell which model it means in claude {v} (not in the table ccrescue's tests recorded)"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_drop_the_suffix_or_name_an_explicit_200k_id() {
        assert_eq!(
            standard_replacement("claude-sonnet-4-6[1m]").as_deref(),
            Some("claude-sonnet-4-6")
        );
        assert_eq!(
            standard_replacement("claude-sonnet-4-5-20250929[1M]").as_deref(),
            Some("claude-sonnet-4-5-20250929")
        );
        assert_eq!(
            standard_replacement("sonnet[1m]").as_deref(),
            Some("claude-sonnet-4-6")
        );
        assert_eq!(
            standard_replacement("Haiku[1m]").as_deref(),
            Some("claude-haiku-4-5-20251001")
        );
        assert_eq!(
            standard_replacement("opus[1m]").as_deref(),
            Some("claude-sonnet-4-6")
        );
        assert_eq!(standard_replacement("claude-sonnet-4-6"), None);
        assert_eq!(standard_replacement("sonnet"), None);
    }

    #[test]
    fn aliases_follow_the_recorded_table_and_unknown_versions_cannot_tell() {
        let m = meaning("sonnet", Some(Version(2, 1, 328)));
        assert_eq!(m.model.as_deref(), Some("claude-sonnet-5-5"));
        assert_eq!(m.window, Some(Window::OneM));
        let m = meaning("sonnet", Some(Version(2, 1, 185)));
        assert_eq!(
            (m.model.as_deref(), m.window),
            (Some("claude-sonnet-4-6"), Some(Window::Standard))
        );
        // Between two observed versions that agree: the same answer.
        let m = meaning("haiku", Some(Version(2, 1, 160)));
        assert_eq!(m.model.as_deref(), Some("claude-haiku-4-5-20251001"));
        // Newer than the newest row: the newest row, said to be assumed.
        let m = meaning("sonnet", Some(Version(2, 1, 400)));
        assert_eq!(
            (m.model.as_deref(), m.window),
            (Some("claude-sonnet-5-5"), Some(Window::OneM))
        );
        assert!(
            m.why.contains("assumed the same in claude 2.1.400"),
            "{}",
            m.why
        );
        assert!(
            meaning("sonnet", Some(Version(2, 1, 332)))
                .why
                .contains("means claude-sonnet-5-5 in claude 2.1.332")
        );
        // Between two that differ, and before the first one: cannot tell.
        for v in [Version(2, 1, 200), Version(2, 0, 1)] {
            let m = meaning("sonnet", Some(v));
            assert_eq!((m.model.as_deref(), m.window), (None, None), "{v}");
            assert!(m.why.contains("cannot tell"), "{}", m.why);
        }
        assert!(meaning("sonnet", None).why.contains("cannot tell"));
        // A [1m] alias is 1M whatever the version.
        assert_eq!(
            meaning("sonnet[1m]", Some(Version(2, 1, 400))).window,
            Some(Window::OneM)
        );
        assert_eq!(
            meaning("", Some(Version(2, 1, 150))).window,
            Some(Window::OneM),
            "the default"
        );
    }

    #[test]
    fn explicit_ids() {
        assert_eq!(
            meaning("claude-sonnet-4-6[1m]", None).window,
            Some(Window::OneM)
        );
        assert_eq!(
            meaning("claude-sonnet-4-6", None).window,
            Some(Window::Standard)
        );
        assert_eq!(meaning("claude-opus-5-5", None).window, Some(Window::OneM));
        assert_eq!(meaning("claude-next-9", None).window, None);
    }
}
