//! `ccrescue guard` with the real claude: after `guard install` in the sandbox, claude runs
//! `ccrescue hook` — a prompt past --block-at is refused (nothing reaches the mock) and /compact
//! still runs, a session past --warn-at is told once, claude compacts itself at the window guard
//! set, and a guard whose binary is gone does not stop claude.
mod common;

use std::path::{Path, PathBuf};

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{RUN_TIMEOUT, Sandbox, describe, run_with_timeout};
use common::ccrescue;
use serde_json::Value;

/// A 1M-window model: claude does not compact it by itself at 190K (a 200K model would, first),
/// which is the user the guard is for.
const ONE_M: &str = "claude-sonnet-4-6[1m]";

/// Runs `claude -p PROMPT [--resume ID] --output-format json` in the 1M model; returns (stdout,
/// session id).
fn turn(sb: &Sandbox, project: &Path, prompt: &str, resume: Option<&str>) -> (String, String) {
    turn_in(sb, project, prompt, resume, Some(ONE_M))
}

fn turn_in(
    sb: &Sandbox,
    project: &Path,
    prompt: &str,
    resume: Option<&str>,
    model: Option<&str>,
) -> (String, String) {
    let mut args = vec!["-p", prompt, "--output-format", "json"];
    if let Some(m) = model {
        args.extend(["--model", m]);
    }
    if let Some(id) = resume {
        args.extend(["--resume", id]);
    }
    let out = run_with_timeout(sb.claude_command(project, &args), RUN_TIMEOUT);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .and_then(|v| v["session_id"].as_str().map(str::to_owned))
        .or_else(|| resume.map(str::to_owned))
        .unwrap_or_default();
    (stdout, id)
}

/// Messages requests the mock got for session `id`: (is a compaction, the body).
fn requests(mock: &MockApi, id: &str) -> Vec<(bool, String)> {
    mock.messages_requests()
        .into_iter()
        .filter(|r| r.session_header.as_deref() == Some(id))
        .map(|r| (r.is_compaction, r.body))
        .collect()
}

fn install(sb: &Sandbox, project: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["guard", "install", "--yes", "--json"];
    args.extend(extra);
    ccrescue(sb, project, &args).expect_code(0).json()
}

/// A reply claiming `tokens` of context for prompts containing `marker`.
fn big(marker: &str, tokens: u64) -> Rule {
    Rule::reply(Reply::text_with_tokens("BIG reply", tokens))
        .compaction(false)
        .body_contains(marker)
}

#[test]
fn a_prompt_past_block_at_is_refused_and_compact_still_runs() {
    let mock = MockApi::start(vec![big("PASTBLOCK", 190_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("blocked");
    let settings = sb.config_dir().join("settings.json");
    // The window is the next test's subject: here it must not compact the session first.
    let j = install(&sb, &project, &["--compact-window", "1000000"]);
    assert_eq!(j["changed"], true, "{j:#}");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("hook UserPromptSubmit"), "{text}");

    let (_, id) = turn(&sb, &project, "PASTBLOCK first", None);
    assert_eq!(requests(&mock, &id).len(), 1);

    // Past --block-at: refused, with the reason, and no request for it.
    let (said, _) = turn(&sb, &project, "second prompt", Some(&id));
    assert_eq!(
        requests(&mock, &id).len(),
        1,
        "nothing reached the mock: {said}"
    );
    if version_at_least("2.1.185") {
        // Older versions print nothing at all for a refused prompt in print mode.
        assert!(
            said.contains("Run /compact, then send your prompt again"),
            "{said}"
        );
    }
    // The same prompt again: sent anyway, as the reason says.
    turn(&sb, &project, "second prompt", Some(&id));
    assert_eq!(requests(&mock, &id).len(), 2, "sent anyway");
    // Another prompt is refused again; /compact is not.
    turn(&sb, &project, "third prompt", Some(&id));
    assert_eq!(requests(&mock, &id).len(), 2);
    turn(&sb, &project, "/compact", Some(&id));
    let log = requests(&mock, &id);
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[2].0,
        "/compact reached the mock as a compaction: {log:?}"
    );
    // After the compaction the session is small again and prompts pass.
    turn(&sb, &project, "third prompt", Some(&id));
    assert_eq!(requests(&mock, &id).len(), 4);
}

#[test]
fn past_warn_at_the_user_is_told_once() {
    let mock = MockApi::start(vec![big("PASTWARN", 160_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("warned");
    install(&sb, &project, &["--compact-window", "1000000"]);
    let (_, id) = turn(&sb, &project, "PASTWARN one", None);
    for p in ["two", "three"] {
        turn(&sb, &project, p, Some(&id));
    }
    assert_eq!(requests(&mock, &id).len(), 3, "a warning never blocks");
    // claude shows a hook's systemMessage to the user and keeps it in the transcript.
    let transcript = std::fs::read_to_string(sb.session_file(&project, &id)).unwrap();
    let shown: Vec<&str> = transcript
        .lines()
        .filter(|l| l.contains("hook_system_message") && l.contains("/compact soon"))
        .collect();
    assert_eq!(shown.len(), 1, "once per session: {shown:?}");
    assert!(shown[0].contains("~160K tokens"), "{}", shown[0]);
}

#[test]
fn claude_compacts_itself_at_the_window_guard_sets() {
    // 120K is under claude's own threshold for a 200K model and far under a 1M model's, so only
    // the window the guard set makes claude compact here.
    let mock = MockApi::start(vec![big("TURN5", 120_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("compacts");
    let j = install(&sb, &project, &["--compact-window", "100000"]);
    assert_eq!(j["installed"]["window"], 100000, "{j:#}");
    // Each version's default model (200K or 1M): the window applies to both.
    let (_, id) = turn_in(&sb, &project, "TURN1", None, None);
    for t in ["TURN2", "TURN3", "TURN4", "TURN5", "TURN6"] {
        turn_in(&sb, &project, t, Some(&id), None);
    }
    let log = requests(&mock, &id);
    let kinds: Vec<bool> = log.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        kinds,
        [false, false, false, false, false, true, false],
        "claude compacted before sending TURN6 past the window"
    );
    // 2.1.150 folds the new prompt into the compaction (its summary carries it); later
    // versions send it after the compaction.
    assert!(
        log[5..].iter().any(|(_, body)| body.contains("TURN6")),
        "TURN6 reached claude's model with or after the compaction"
    );
}

#[test]
fn a_guard_whose_ccrescue_is_gone_does_not_stop_claude() {
    let mock = MockApi::start(vec![big("PASTBLOCK", 190_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("gone");
    let copy_dir = sb.root().join("gone-bin");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy: PathBuf = copy_dir.join("ccrescue");
    std::fs::copy(common::exe(), &copy).unwrap();
    let out = sb.ccrescue(
        &copy,
        &project,
        &["guard", "install", "--yes", "--compact-window", "1000000"],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let (_, id) = turn(&sb, &project, "PASTBLOCK first", None);
    std::fs::remove_file(&copy).unwrap();
    turn(&sb, &project, "second", Some(&id));
    assert_eq!(requests(&mock, &id).len(), 2, "the prompt went through");
}

#[test]
fn a_hook_command_line_ccrescue_does_not_take_lets_claude_through() {
    // Found by a review: a threshold edited by hand to `150K` (or a newer install's flag, run by
    // an older binary) failed ccrescue's argument parsing with exit 2, which claude takes as
    // "block": every prompt was refused, CCRESCUE_GUARD=off or not.
    let mock = MockApi::start(vec![big("PASTBLOCK", 190_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("edited");
    install(&sb, &project, &["--compact-window", "1000000"]);
    let settings = sb.config_dir().join("settings.json");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("--warn-at 150000"), "{text}");
    std::fs::write(
        &settings,
        text.replace("--warn-at 150000", "--warn-at 150K"),
    )
    .unwrap();
    let (_, id) = turn(&sb, &project, "PASTBLOCK first", None);
    turn(&sb, &project, "second", Some(&id));
    assert_eq!(requests(&mock, &id).len(), 2, "both prompts went through");
    // The hook itself: one line, exit 1 (claude lets the prompt through).
    let mut cmd = sb.command(common::exe(), &project);
    cmd.args(["hook", "UserPromptSubmit", "--warn-at", "150K"]);
    let out = with_stdin(cmd, b"{}");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("let through"), "{err}");
    // The command line is the settings file's text: shown escaped.
    let mut cmd = sb.command(common::exe(), &project);
    cmd.args(["hook", "UserPromptSubmit", "--zz\rFAKE\u{202e}abc"]);
    let out = with_stdin(cmd, b"{}");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\r') && !err.contains('\u{202e}'), "{err:?}");
}

#[test]
fn garbage_in_lets_the_prompt_through_with_one_line() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("garbage");
    let transcript = sb.root().join("garbage.jsonl");
    std::fs::write(&transcript, "not json\n\u{0}\u{1}{{{{\n").unwrap();
    let input = serde_json::json!({
        "session_id": "s-1", "transcript_path": transcript, "cwd": project,
        "hook_event_name": "UserPromptSubmit", "prompt": "hi",
    })
    .to_string();
    for (stdin, code) in [(input.as_str(), 0), ("{not json", 1)] {
        let mut cmd = sb.command(common::exe(), &project);
        cmd.args([
            "hook",
            "UserPromptSubmit",
            "--block-at",
            "1",
            "--warn-at",
            "0",
        ]);
        let out = with_stdin(cmd, stdin.as_bytes());
        assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
        assert!(out.stdout.is_empty(), "no block: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.lines().count() <= 1, "{err}");
    }
}

/// Runs `cmd` with `input` on its stdin (what claude does with a hook). A hook may end without
/// reading it (a command line it refuses): the broken pipe is then not the test's failure (the
/// matrix run on 2.1.150 hit that race once; claude itself went on).
fn with_stdin(mut cmd: std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::{ErrorKind, Write};
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    match child.stdin.take().unwrap().write_all(input) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => panic!("writing the hook's input: {e}"),
        _ => {}
    }
    child.wait_with_output().unwrap()
}

/// What the user sees in claude's own terminal UI: the one warning past --warn-at, and the
/// refusal with its reason past --block-at (print mode of 2.1.150–2.1.172 shows neither).
#[test]
fn the_terminal_shows_the_warning_and_the_refusal() {
    use ccrescue_testbench::claude_bin::claude_path;
    use ccrescue_testbench::pty::Terminal;
    use std::time::Duration;
    const START: Duration = Duration::from_secs(60);
    const TURN: Duration = Duration::from_secs(60);

    let mock = MockApi::start(vec![big("PASTWARN", 160_000), big("PASTBLOCK", 190_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("terminal");
    install(&sb, &project, &["--compact-window", "1000000"]);
    for (marker, expect) in [
        ("PASTWARN", "/compact soon keeps it under"),
        ("PASTBLOCK", "Run /compact, then send your prompt again"),
    ] {
        let (_, id) = turn(&sb, &project, &format!("{marker} first"), None);
        let mut env = sb.env();
        env.push(("TERM".into(), "xterm-256color".into()));
        let args = ["--resume", id.as_str(), "--model", ONE_M];
        let mut t = Terminal::spawn(claude_path(), &args, &env, &project, 160, 50);
        t.wait_until("the empty prompt", START, |s| {
            s.lines().any(|l| l.trim() == "❯")
        });
        t.wait_quiet(Duration::from_millis(400), START);
        t.submit("next prompt", TURN);
        t.wait_for(expect, TURN);
        let sent = requests(&mock, &id).len();
        if marker == "PASTBLOCK" {
            assert_eq!(sent, 1, "the refused prompt did not reach the mock");
        }
        let screen = t.screen();
        assert!(!screen.contains("hook failed"), "{screen}");
        // claude puts a refused prompt back in the input, so /exit cannot be typed: the terminal
        // ends claude when dropped.
        drop(t);
    }
}

#[test]
fn after_the_long_context_error_the_guard_names_ccrescue() {
    use ccrescue_testbench::claude_bin::claude_path;
    use ccrescue_testbench::pty::Terminal;
    use std::time::Duration;
    let rule = Rule::reply(Reply::credits_error_not_retried())
        .compaction(false)
        .body_contains("FAILME");
    // A usage figure first: the hook measures from the last real reply.
    let mock = MockApi::start(vec![rule, big("SMALLFIRST", 20_000)]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("refused");
    install(&sb, &project, &[]);
    let (_, id) = turn(&sb, &project, "SMALLFIRST", None);
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(
        claude_path(),
        &["--resume", id.as_str(), "--model", ONE_M],
        &env,
        &project,
        160,
        50,
    );
    t.wait_until("the empty prompt", Duration::from_secs(60), |s| {
        s.lines().any(|l| l.trim() == "❯")
    });
    t.wait_quiet(Duration::from_millis(400), Duration::from_secs(60));
    t.submit("FAILME now", Duration::from_secs(60));
    t.wait_for("long context", Duration::from_secs(60));
    // claude shows nothing a StopFailure hook says; the next prompt is where the user is told.
    t.submit("and again", Duration::from_secs(60));
    t.wait_for("run `ccrescue` in this project", Duration::from_secs(60));
}
