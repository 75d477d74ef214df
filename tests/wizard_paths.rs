//! The wizard's other paths on sessions the real claude wrote: images trimmed when the compaction
//! keeps failing because of them, the fresh-session path fixing a `[1m]` pin, a refusal that old
//! claude versions retry for minutes (stopped), and the contract around it — no terminal without
//! --yes, --dry-run, a live session under --yes — each changing nothing on disk.
mod common;

use std::time::{Duration, Instant};

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{
    self, COMPACT_MODEL, LONG_CONTEXT_MODEL, REPORTED_TOKENS, new_session, setup,
};
use ccrescue_testbench::mock::{Reply, Rule};
use ccrescue_testbench::sandbox::Auth;
use common::{ccrescue, snapshot};

#[test]
fn yes_trims_the_screenshots_when_the_compaction_fails_on_them_then_compacts() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("shots");
    let shots = fixtures::screenshots(&mock, &sb, &project, 4);
    // One more turn makes the session look past the 200K window.
    mock.set_rules(vec![Rule::reply(Reply::text_with_tokens(
        "Seen them all.",
        REPORTED_TOKENS,
    ))]);
    shots
        .session
        .resume(&sb, "what do they show?", &["--model", LONG_CONTEXT_MODEL])
        .assert_success();
    let original = std::fs::read(&shots.session.file).unwrap();
    // The compaction is refused while the request carries images (a 429 with an API key fails
    // at once on every version), and summarised once they are gone.
    mock.set_rules(vec![
        Rule::reply(Reply::credits_error_not_retried())
            .compaction(true)
            .images(true),
        Rule::reply(Reply::summary("RESCUED without the screenshots.")).compaction(true),
    ]);
    mock.clear_log();

    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(0);
    let compactions: Vec<_> = mock
        .messages_requests()
        .into_iter()
        .filter(|q| q.is_compaction)
        .collect();
    if !version_at_least("2.1.156") {
        // 2.1.150 follows a refused compaction request with its lean fallback request, which
        // carries no image: the mock summarises it, the first compaction succeeds, and there
        // is nothing for ccrescue to trim.
        assert_eq!(compactions.len(), 2, "{compactions:?}");
        assert!(compactions[0].has_images() && !compactions[1].has_images());
        assert!(
            r.stderr.contains("Compacted: the context is now"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("Trimmed"), "{}", r.stderr);
        let now = std::fs::read(&shots.session.file).unwrap();
        assert!(now.starts_with(&original) && now.len() > original.len());
        return;
    }
    for want in [
        "The compaction failed:",
        "A trim takes these out of the session",
        "image",
        "Trimmed; backup ",
        "Compacting again",
        "Compacted: the context is now",
    ] {
        assert!(r.stderr.contains(want), "{want:?} missing\n{}", r.stderr);
    }
    assert_eq!(compactions.len(), 2, "one refused, one after the trim");
    assert!(compactions[0].has_images());
    assert!(!compactions[1].has_images());
    assert!(
        compactions
            .iter()
            .all(|q| q.model.as_deref() == Some(COMPACT_MODEL))
    );

    let backup = shots.session.file.with_extension("jsonl.bak");
    assert_eq!(std::fs::read(&backup).unwrap(), original);
    // Every line that held no image is byte for byte what it was; the ones that did lost it.
    let now = std::fs::read(&shots.session.file).unwrap();
    let before: Vec<&[u8]> = original.split_inclusive(|b| *b == b'\n').collect();
    let after: Vec<&[u8]> = now.split_inclusive(|b| *b == b'\n').collect();
    assert!(
        after.len() > before.len(),
        "the compaction appended records"
    );
    // A base64 image block (`"source":{"type":"base64",…}`); toolUseResult keeps its own
    // `"type":"image"` with the duplicate base64 emptied.
    let image = br#""type":"base64""#;
    let mut trimmed = 0;
    for (i, (old, new)) in before.iter().zip(&after).enumerate() {
        let had_image = old.windows(image.len()).any(|w| w == image);
        if had_image {
            let new = String::from_utf8_lossy(new);
            assert!(
                !new.contains(r#""type":"base64""#) && new.contains("[image removed by ccrescue"),
                "line {}: {new}",
                i + 1
            );
            trimmed += 1;
        } else {
            assert_eq!(old, new, "line {} changed", i + 1);
        }
    }
    assert_eq!(trimmed, 4, "one line per screenshot");
}

#[test]
fn a_fresh_session_with_a_1m_pin_gets_the_pin_fixed_under_yes() {
    let (mock, sb) = setup(Auth::GatewayToken);
    let project = sb.project("fresh");
    let settings = sb.config_dir().join("settings.json");
    std::fs::create_dir_all(sb.config_dir()).unwrap();
    let pinned = "{\n  \"model\": \"claude-sonnet-4-6[1m]\",\n  \"theme\": \"dark\"\n}\n";
    std::fs::write(&settings, pinned).unwrap();
    mock.set_rules(vec![Rule::reply(Reply::credits_error_not_retried())]);
    let (session, first) = new_session(&sb, &project, "hello", &[]);
    assert!(!first.success(), "the very first request is refused");
    mock.set_rules(vec![]);
    mock.clear_log();

    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(0);
    for want in [
        "What do you see? the error comes on a brand-new session (--yes)",
        "claude-sonnet-4-6[1m]",
        "anthropics/claude-code#63060",
        "Changed ",
    ] {
        assert!(r.stderr.contains(want), "{want:?} missing\n{}", r.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        pinned.replace("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
        "only the pin changed"
    );
    assert_eq!(
        r.stdout,
        format!(
            "cd {} && claude --resume={} --model claude-sonnet-4-6\n",
            project.display(),
            session.id
        )
    );
    assert!(
        mock.messages_requests().is_empty(),
        "the fresh path runs no claude"
    );
}

#[test]
fn a_refused_compaction_is_not_recovered_and_old_claude_does_not_retry_for_minutes() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("refused");
    let f = fixtures::credits_error(&mock, &sb, &project);
    // Every request refused with the plain (retryable) 429: 2.1.150/2.1.156 retry it for minutes.
    mock.set_rules(vec![Rule::reply(Reply::credits_error())]);
    let before = std::fs::read(&f.session.file).unwrap();
    let started = Instant::now();
    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(1);
    let took = started.elapsed();
    // 2.1.150's compact_error lacks the `Error during compaction: ` prefix.
    let failed = if version_at_least("2.1.156") {
        "The compaction failed: Error during compaction: API Error: Request rejected (429)"
    } else {
        "The compaction failed: API Error: Request rejected (429)"
    };
    assert!(r.stderr.contains(failed), "{}", r.stderr);
    // 2.1.150/2.1.156 retry this 429 silently for ~3 minutes during /compact (no api_retry
    // line): ccrescue caps claude's retries for them, and says so on the command line.
    assert_eq!(
        r.stderr
            .contains("CLAUDE_CODE_MAX_RETRIES=2 claude -p /compact"),
        !version_at_least("2.1.172"),
        "{}",
        r.stderr
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(r.stderr.contains("Nothing to trim"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "Start a new session without the conversation? no (--yes without --allow-clear)"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let backup = f.session.file.with_extension("jsonl.bak");
    assert_eq!(std::fs::read(backup).unwrap(), before);
    let dir = f.session.file.parent().unwrap();
    assert!(
        !std::fs::read_dir(dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("handoff")),
        "no note without --allow-clear"
    );
}

#[test]
fn without_a_terminal_or_yes_and_with_dry_run_nothing_changes() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("p");
    let f = fixtures::credits_error(&mock, &sb, &project);
    let before = snapshot(sb.root());
    mock.clear_log();

    let r = ccrescue(&sb, &project, &[]).expect_code(2);
    assert!(
        r.stderr
            .starts_with("error: no terminal to ask questions on, so ccrescue changed nothing"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: run `ccrescue --yes`"),
        "{}",
        r.stderr
    );

    let r = ccrescue(&sb, &project, &["--dry-run"]).expect_code(0);
    let id = &f.session.id;
    let cd = format!("cd {} && ", project.display());
    let cap = if version_at_least("2.1.172") {
        ""
    } else {
        "CLAUDE_CODE_MAX_RETRIES=2 "
    };
    for want in [
        "Plan (--dry-run: nothing was run or changed):".to_owned(),
        format!(
            "$ {cd}CLAUDE_CODE_DISABLE_1M_CONTEXT=1 {cap}claude -p /compact --resume={id} --model {COMPACT_MODEL} --output-format stream-json --verbose"
        ),
        format!("$ {cd}claude --resume={id} --model claude-sonnet-4-6"),
    ] {
        assert!(r.stdout.contains(&want), "{want:?} missing\n{}", r.stdout);
    }
    let r = ccrescue(
        &sb,
        &project,
        &[
            "--dry-run",
            "--compact-model",
            "claude-3-5-haiku-20241022",
            "--model",
            "claude-sonnet-4-5",
        ],
    )
    .expect_code(0);
    assert!(
        r.stdout
            .contains("--model claude-3-5-haiku-20241022 --output-format"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("--model claude-sonnet-4-5\n"),
        "{}",
        r.stdout
    );

    assert_eq!(snapshot(sb.root()), before, "nothing was written");
    assert!(mock.messages_requests().is_empty(), "claude was not run");
}
