//! `ccrescue statusline`: a context gauge for claude's `statusLine`. Reads the status JSON on
//! stdin and prints one line: the tokens the next request carries against the 200K standard
//! window (not claude's percentage, which is against the model's own window, 1M on 1M models).
//! Usable as the status line itself or from the user's own status script.
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::cli::StatuslineArgs;
use crate::guard::measure::measure;
use crate::hook::{STANDARD_WINDOW, kilo};

/// Prints the gauge; a failure prints a short `ctx ?` so the status line never breaks.
pub fn run(args: &StatuslineArgs) -> Result<u8> {
    let mut input = vec![];
    io::stdin()
        .take(4 << 20)
        .read_to_end(&mut input)
        .context("cannot read the status input")?;
    let line = match tokens(&input) {
        Ok(Some(t)) => gauge(t, args.warn_at),
        Ok(None) => "ctx -".to_owned(),
        Err(_) => "ctx ?".to_owned(),
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(0)
}

/// The context tokens the status JSON reports (`context_window.current_usage`), else measured
/// from its `transcript_path`.
pub fn tokens(input: &[u8]) -> Result<Option<u64>> {
    let v: Value = serde_json::from_slice(input)?;
    if let Some(u) = v
        .pointer("/context_window/current_usage")
        .filter(|u| u.is_object())
    {
        let f = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        return Ok(Some(
            f("input_tokens") + f("cache_creation_input_tokens") + f("cache_read_input_tokens"),
        ));
    }
    match v.get("transcript_path").and_then(Value::as_str) {
        Some(p) => Ok(measure(Path::new(p))?.map(|m| m.tokens)),
        None => Ok(None),
    }
}

/// `ctx ~152K/200K ███████░░░ 76%`, yellow past `warn_at`, red past the window.
pub fn gauge(tokens: u64, warn_at: u64) -> String {
    let pct = tokens * 100 / STANDARD_WINDOW;
    let filled = (pct.min(100) / 10) as usize;
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled));
    let text = format!(
        "ctx {}/{}K {bar} {pct}%",
        kilo(tokens),
        STANDARD_WINDOW / 1000
    );
    let style = console::Style::new().force_styling(true);
    if tokens >= STANDARD_WINDOW {
        style.red().apply_to(text).to_string()
    } else if tokens >= warn_at {
        style.yellow().apply_to(text).to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_counts_tokens_against_the_standard_window() {
        let input = br#"{"context_window":{"context_window_size":1000000,"used_percentage":15,"current_usage":{"input_tokens":2000,"cache_creation_input_tokens":50000,"cache_read_input_tokens":100000}}}"#;
        assert_eq!(tokens(input).unwrap(), Some(152_000));
        assert_eq!(gauge(100_000, 150_000), "ctx ~100K/200K █████░░░░░ 50%");
        assert!(gauge(152_000, 150_000).contains("\u{1b}[33m"));
        assert_eq!(tokens(br#"{"model":{"id":"x"}}"#).unwrap(), None);
        assert!(tokens(b"not json").is_err());
    }
}
