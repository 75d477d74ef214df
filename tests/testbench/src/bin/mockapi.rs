//! Owns the `mockapi` command: the test bench's mock Anthropic API as a standalone process for
//! scripts and demos. Prints `http://127.0.0.1:PORT` on stdout and serves until killed.
//!
//! ```text
//! mockapi [--rules FILE.json] [--rule JSON]... [--log FILE.jsonl]
//! ```
//! `--rules` reads a JSON array of rules, `--rule` adds one (both in the flat format of
//! `ccrescue_testbench::mock::Rule`, e.g. `{"from_nth":1,"reply":{"kind":"credits_error"}}`);
//! rules are checked in the order given. `--log` appends each request as a JSON line.
//! `{"kind":"credits_error","should_retry":false}` sends `x-should-retry: false` with the 429, so
//! claude 2.1.150/2.1.156 do not spend minutes retrying it (see `mock::Reply::CreditsError`).

use std::io::Write;
use std::path::PathBuf;

use ccrescue_testbench::mock::{MockApi, Rule};

const USAGE: &str = "usage: mockapi [--rules FILE.json] [--rule JSON]... [--log FILE.jsonl]";

fn main() {
    if let Err(e) = run() {
        eprintln!("mockapi: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

/// What the command line asks for; `None` from `parse` means `--help` was shown.
#[derive(Debug)]
struct Config {
    rules: Vec<Rule>,
    log: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut log: Option<PathBuf> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--rules" => {
                let file = value("--rules")?;
                let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
                let more: Vec<Rule> =
                    serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
                rules.extend(more);
            }
            "--rule" => {
                let text = value("--rule")?;
                rules.push(serde_json::from_str(&text).map_err(|e| format!("--rule: {e}"))?);
            }
            "--log" => log = Some(PathBuf::from(value("--log")?)),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(Config { rules, log }))
}

fn run() -> Result<(), String> {
    let Some(Config { rules, log }) = parse(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let mock = MockApi::start(rules);
    if let Some(path) = &log {
        mock.log_to_file(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut out = std::io::stdout();
    writeln!(out, "{}", mock.url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccrescue_testbench::mock::Reply;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_rules_from_flags_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.json");
        std::fs::write(&file, r#"[{"nth":0,"reply":{"kind":"too_large"}}]"#).unwrap();
        let c = parse(args(&[
            "--rules",
            file.to_str().unwrap(),
            "--rule",
            r#"{"model_contains":"haiku","reply":{"kind":"credits_error"}}"#,
            "--log",
            "/x/log.jsonl",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            c.rules,
            [
                Rule::reply(Reply::TooLarge).nth(0),
                Rule::reply(Reply::credits_error()).model_contains("haiku"),
            ]
        );
        assert_eq!(c.log.as_deref(), Some(std::path::Path::new("/x/log.jsonl")));
        assert!(parse(args(&["--help"])).unwrap().is_none());
        assert!(parse(args(&["--rule"])).is_err());
        assert!(parse(args(&["--rule", r#"{"reply":{"kind":"nope"}}"#])).is_err());
        assert!(parse(args(&["--bogus"])).is_err());
    }
}
