//! The wizard's plan follows the evidence, with the real claude's sessions: a failed compaction is
//! the overflow case whatever the recorded size (issue 16 point 5), and `--dry-run` prints the
//! whole plan when no claude binary is found (issue 11 point 3).
mod common;

use std::ffi::OsStr;

use ccrescue_testbench::fixtures::{self, COMPACT_MODEL, LONG_CONTEXT_MODEL, new_session, setup};
use ccrescue_testbench::mock::{Reply, Rule};
use ccrescue_testbench::sandbox::Auth;
use common::{ccrescue, ccrescue_with, snapshot};

/// A session compacted once, then a small turn (30K reported), then a `/compact` refused by the
/// gate: the last error is the gate during a compaction, with little context recorded.
#[test]
fn a_failed_compaction_is_preselected_as_the_overflow_case_whatever_the_size() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("failed");
    let long = ["--model", LONG_CONTEXT_MODEL];
    mock.set_rules(vec![
        Rule::reply(Reply::summary("EARLIER SUMMARY")).compaction(true),
        Rule::reply(Reply::text_with_tokens("An answer.", 30_000)),
    ]);
    let (s, run) = new_session(&sb, &project, "first question", &long);
    run.assert_success();
    s.resume(&sb, "/compact", &["--model", COMPACT_MODEL])
        .assert_success();
    s.resume(&sb, "next question", &long).assert_success();
    mock.set_rules(vec![
        Rule::reply(Reply::credits_error_not_retried()).compaction(true),
    ]);
    s.resume(&sb, "/compact", &["--model", COMPACT_MODEL])
        .assert_success();
    mock.set_rules(vec![]);

    let d = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(d["symptom"], "context_overflow", "{d}");
    assert!(
        d["session"]["context_tokens"].as_u64().unwrap() < 100_000,
        "{d}"
    );
    assert_eq!(d["session"]["last_error"]["during_compaction"], true, "{d}");
    let r = ccrescue(&sb, &project, &["--dry-run"]).expect_code(0);
    assert!(
        r.stderr
            .contains("Found    a failed compaction: the overflow case"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("-p /compact --resume"), "{}", r.stdout);
}

/// No claude anywhere (a `--claude` that does not exist, or none on PATH): `--dry-run` still
/// prints every step, naming claude `claude`, and says it was not found; without `--dry-run` the
/// wizard refuses, as it must run claude.
#[test]
fn dry_run_prints_the_whole_plan_without_any_claude() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("noclaude");
    let f = fixtures::credits_error(&mock, &sb, &project);
    let before = snapshot(sb.root());
    mock.clear_log();
    let id = &f.session.id;
    let cd = format!("cd {} && ", project.display());
    let no_path: [(&str, &OsStr); 2] = [
        ("PATH", OsStr::new("/nonexistent")),
        ("CCRESCUE_CLAUDE", OsStr::new("")),
    ];
    for (args, env) in [
        (
            &["--dry-run", "--claude", "/nonexistent/claude"][..],
            &[][..],
        ),
        (&["--dry-run"][..], &no_path[..]),
    ] {
        let r = ccrescue_with(&sb, &project, args, env).expect_code(0);
        for want in [
            "Plan (--dry-run: nothing was run or changed):".to_owned(),
            format!(
                "$ {cd}CLAUDE_CODE_DISABLE_1M_CONTEXT=1 claude -p /compact --resume={id} --model {COMPACT_MODEL} --output-format stream-json --verbose"
            ),
            "  trim    if the compaction is refused for its size".to_owned(),
            format!("$ {cd}claude --resume={id} --model claude-sonnet-4-6"),
            "  clear   last resort".to_owned(),
            "claude was not found (".to_owned(),
            "the commands above name it `claude`; install Claude Code or pass --claude PATH"
                .to_owned(),
        ] {
            assert!(r.stdout.contains(&want), "{want:?} missing\n{}", r.stdout);
        }
    }
    let r = ccrescue(&sb, &project, &["--yes", "--claude", "/nonexistent/claude"]).expect_code(2);
    assert!(
        r.stderr
            .contains("/nonexistent/claude (--claude) is not an executable file"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(sb.root()), before, "nothing was written");
    assert!(mock.messages_requests().is_empty(), "claude was not run");
}
