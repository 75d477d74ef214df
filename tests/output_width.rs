//! Every line fits the terminal (issue 16.4): the `sessions` table laid out for 60, 80 and 120
//! columns, and menus whose rows are cut to the width so that moving the cursor leaves no stale
//! or doubled rows — through the bench's pty driver, on REAL transcripts from ../shared/corpus.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::exe;

const STEP: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_millis(400);

const CORPUS: [&str; 4] = [
    "claude-code-log__cb2e607c-c758-415a-8b45-c49e4631906a.jsonl",
    "claude-code-log__9e953218-585f-4692-89df-9e0747a31c68.jsonl",
    "claude-code-log__a7da6a22-facc-4fcd-8bab-f83c87862004.jsonl",
    "claude-code-log__ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl",
];

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/")).join(name)
}

/// A sandbox whose project holds four real sessions, one hour apart.
fn corpus_home() -> (Sandbox, PathBuf, Vec<String>) {
    let sb = Sandbox::for_url("http://127.0.0.1:9", Auth::ApiKey);
    let project = sb.project("wide");
    let dir = sb.session_dir(&project);
    fs::create_dir_all(&dir).unwrap();
    let mut ids = vec![];
    for (i, name) in CORPUS.iter().enumerate() {
        let id = name
            .trim_start_matches("claude-code-log__")
            .trim_end_matches(".jsonl");
        let dest = dir.join(format!("{id}.jsonl"));
        fs::copy(corpus(name), &dest).unwrap();
        let age = Duration::from_secs(3600 * (i as u64 + 1));
        fs::File::options()
            .write(true)
            .open(&dest)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
        ids.push(id.to_owned());
    }
    (sb, project, ids)
}

fn terminal(sb: &Sandbox, project: &Path, args: &[&str], cols: u16) -> Terminal {
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    Terminal::spawn(exe(), args, &env, project, cols, 40)
}

/// Panics when a screen line is wider than `cols` (a wrapped row reads as one long line).
fn assert_fits(screen: &str, cols: u16) {
    for line in screen.lines() {
        assert!(
            line.chars().count() <= usize::from(cols),
            "a line wider than {cols} columns:\n{line}\n---\n{screen}"
        );
    }
}

#[test]
fn the_sessions_table_fits_60_80_and_120_columns() {
    let (sb, project, ids) = corpus_home();
    for cols in [60u16, 80, 120] {
        let mut t = terminal(&sb, &project, &["sessions"], cols);
        t.wait_exit(STEP);
        let screen = t.screen();
        assert_fits(&screen, cols);
        for id in &ids {
            assert!(
                screen.contains(id.as_str()),
                "{cols} columns: {id} missing\n{screen}"
            );
        }
        let rows = screen.lines().filter(|l| !l.trim().is_empty()).count();
        let expected = if cols >= 120 {
            1 + ids.len()
        } else {
            2 * ids.len()
        };
        assert_eq!(rows, expected, "{cols} columns: rows wrapped\n{screen}");
        if cols >= 120 {
            // One row per session, the first prompt cut with … to what is left.
            assert!(screen.contains("How can I make this possible"), "{screen}");
            assert!(screen.contains('…'), "{screen}");
        }
    }
}

#[test]
fn the_session_picker_redraws_cleanly_at_60_and_80_columns() {
    let (sb, project, ids) = corpus_home();
    for cols in [60u16, 80] {
        let mut t = terminal(&sb, &project, &[], cols);
        t.wait_for("What do you see?", STEP);
        t.wait_quiet(SETTLE, STEP);
        // Nothing is stuck here, so "not sure" is preselected; "this is not the session" is
        // the next (and last) item.
        t.send_key(Key::Down);
        t.wait_for("❯ this is not the session", STEP);
        t.send_key(Key::Enter);
        t.wait_for("Which session?", STEP);
        t.wait_quiet(SETTLE, STEP);
        for _ in 0..3 {
            t.send_key(Key::Down);
            t.wait_quiet(SETTLE, STEP);
        }
        let screen = t.screen();
        assert_fits(&screen, cols);
        assert_eq!(
            screen.matches("Which session?").count(),
            1,
            "{cols} columns: a stale prompt\n{screen}"
        );
        assert_eq!(
            screen.matches('❯').count(),
            1,
            "{cols} columns: one cursor\n{screen}"
        );
        let menu: Vec<&str> = screen
            .lines()
            .skip_while(|l| !l.contains("Which session?"))
            .skip(1)
            .collect();
        assert_eq!(
            menu.len(),
            ids.len(),
            "{cols} columns: one row each\n{screen}"
        );
        for (row, id) in menu.iter().zip(&ids) {
            let head = &id[..8];
            assert!(
                row.contains(head),
                "{cols} columns: {head} in order\n{screen}"
            );
        }
        assert!(
            menu[0].contains("How can I make"),
            "{cols} columns: room for the first prompt\n{screen}"
        );
        t.send_key(Key::Escape);
        assert_ne!(t.wait_exit(STEP), 0);
    }
}
