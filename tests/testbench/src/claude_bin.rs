//! Owns finding the real, pinned `claude` binary the tests run, and its version.
//!
//! A missing claude is a test failure, never a skip: `claude_path()` panics with the command that
//! installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The claude version the tests are pinned to (`scripts/claude-version`).
pub fn pinned_version() -> &'static str {
    include_str!("../../../scripts/claude-version").trim()
}

/// The workspace root (the `ccrescue` repository).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The claude binary to test against: `$CCRESCUE_TEST_CLAUDE`, else the pinned install under
/// `<repo>/target/claude/<pinned>/node_modules/.bin/claude`. Panics when it is not there.
pub fn claude_path() -> PathBuf {
    let path = match std::env::var_os("CCRESCUE_TEST_CLAUDE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root()
            .join("target/claude")
            .join(pinned_version())
            .join("node_modules/.bin/claude"),
    };
    if !path.is_file() {
        panic!(
            "the real claude is not installed at {}: run `scripts/install-claude.sh` \
             (or set CCRESCUE_TEST_CLAUDE=$(scripts/install-claude.sh VERSION)); \
             tests that need claude fail rather than skip",
            path.display()
        );
    }
    path
}

/// The version of the claude under test (`claude --version`, run once), e.g. `"2.1.328"`.
pub fn claude_version() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out = Command::new(claude_path())
                .arg("--version")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("DISABLE_AUTOUPDATER", "1")
                .stdin(Stdio::null())
                .output()
                .expect("claude --version runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let version = text.split_whitespace().next().unwrap_or_default();
            assert!(
                out.status.success() && parse_version(version).is_some(),
                "claude --version printed {text:?} (stderr {:?})",
                String::from_utf8_lossy(&out.stderr)
            );
            version.to_string()
        })
        .clone()
}

/// Whether the claude under test is at least `min` (e.g. `version_at_least("2.1.172")`).
pub fn version_at_least(min: &str) -> bool {
    compare_versions(&claude_version(), min).is_ge()
}

/// `"2.1.50"` → `[2, 1, 50]`; `None` unless every dot-separated part is a number.
pub fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// Numeric, part-by-part comparison of two dotted versions (missing parts count as 0).
/// Panics on a version that is not dotted numbers.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let pa = parse_version(a).unwrap_or_else(|| panic!("not a version: {a:?}"));
    let pb = parse_version(b).unwrap_or_else(|| panic!("not a version: {b:?}"));
    let n = pa.len().max(pb.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(&pa, i).cmp(&at(&pb, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("2.1.50", "2.1.172"), Ordering::Less);
        assert_eq!(compare_versions("2.1.328", "2.1.172"), Ordering::Greater);
        assert_eq!(compare_versions("2.1", "2.1.0"), Ordering::Equal);
        assert_eq!(parse_version("2.1.x"), None);
        assert_eq!(pinned_version(), pinned_version().trim());
        assert!(parse_version(pinned_version()).is_some());
    }
}
