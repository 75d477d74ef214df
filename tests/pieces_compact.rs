//! Compaction in pieces (issue 15) on a text-only session the real claude wrote, about 270K
//! tokens, with a mock that refuses any request over the standard window: claude's own
//! `/compact` in the small model fails, there is nothing to trim, and `ccrescue --yes` summarises
//! the conversation part by part and ends in Sonnet without `/clear`. The records it writes are
//! compared field by field with a compaction the same claude wrote, and claude's own `/compact`
//! still works afterwards. Ctrl-C during the third part changes nothing.
mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ccrescue::pieces::PROMPT_MARKER;
use ccrescue_testbench::fixtures::{
    self, COMPACT_MODEL, LONG_CONTEXT_MODEL, RETURN_MODEL, Session, keep_1m_model_on_resume,
    new_session, setup,
};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::pty::{Key, Terminal};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, exe, snapshot};
use serde_json::Value;

/// The standard window in request bytes as the mock measures it (about 4 bytes per token).
const WINDOW_BYTES: usize = 800_000;
/// Turns of the long session; each adds a 60 KB prompt and a 120 KB answer (~45K tokens).
const TURNS: usize = 6;
/// The context growth per turn the mock reports. A little under the real ~45K: 2.1.328
/// auto-compacts a `[1m]` session by itself once it believes it holds about 270K.
const REPORTED_PER_TURN: u64 = 38_000;

/// `n` bytes of plain prose, numbered so that no two sentences are alike.
fn prose(label: &str, n: usize) -> String {
    let mut s = format!("{label} ");
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!(
            "{label} sentence {i}: the parser keeps every line it does not change byte for byte. "
        ));
        i += 1;
    }
    s
}

/// A text-only session of `TURNS` long turns on the 1M model, ending in the long-context 429.
fn long_text_session(mock: &MockApi, sb: &Sandbox, project: &Path) -> Session {
    let mut session: Option<Session> = None;
    for turn in 0..TURNS {
        let tokens = REPORTED_PER_TURN * (turn as u64 + 1);
        mock.set_rules(vec![Rule::reply(Reply::text_with_tokens(
            prose(&format!("TURN-{turn}-REPLY"), 120_000),
            tokens,
        ))]);
        let ask = prose(&format!("TURN-{turn}-ASK"), 60_000);
        match &session {
            None => {
                let (s, run) = new_session(sb, project, &ask, &["--model", LONG_CONTEXT_MODEL]);
                run.assert_success();
                session = Some(s);
            }
            Some(s) => {
                s.resume(sb, &ask, keep_1m_model_on_resume())
                    .assert_success();
            }
        }
    }
    let session = session.expect("a session");
    // A short last exchange: what the kept tail is made of.
    mock.set_rules(vec![Rule::reply(Reply::text_with_tokens(
        "SHORT-REPLY: done.",
        REPORTED_PER_TURN * TURNS as u64 + 100,
    ))]);
    session
        .resume(sb, "SHORT-ASK: and now?", keep_1m_model_on_resume())
        .assert_success();
    mock.set_rules(vec![Rule::reply(Reply::credits_error_not_retried())]);
    let refused = session.resume(sb, "carry on", keep_1m_model_on_resume());
    assert!(!refused.success(), "the 1M request is refused");
    mock.set_rules(vec![]);
    session
}

/// The mock for the rescue: nothing over the window, claude's own compaction refused, each
/// part's summary request answered with `PIECE-k`, Sonnet answered, the rest the 429.
fn rescue_rules(mock: &MockApi, delay_part: Option<usize>) {
    let mut rules = vec![
        Rule::reply(Reply::prompt_too_long(270_000, 200_000)).body_at_least(WINDOW_BYTES),
        Rule::reply(Reply::prompt_too_long(270_000, 200_000)).compaction(true),
    ];
    for k in 1..=5 {
        let mut r = Rule::reply(Reply::summary(format!("PIECE-{k}: what part {k} held.")))
            .body_contains(format!("This is part {k} of"))
            .model(COMPACT_MODEL);
        if delay_part == Some(k) {
            r = r.delay_ms(60_000);
        }
        rules.push(r);
    }
    rules.push(Rule::reply(Reply::text("Back in Sonnet.")).model(RETURN_MODEL));
    rules.push(Rule::reply(Reply::credits_error_not_retried()));
    mock.set_rules(rules);
    mock.clear_log();
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Fields the real claude writes on these records that a compaction in pieces leaves out:
/// the prompt id of the `/compact` command, 2.1.33x's row bookkeeping, and `slug` (a random
/// name claude gives a session lazily — on its first `/compact` here — and copied only when
/// the session already has one; claude's own records before that carry none).
const NOT_WRITTEN: [&str; 5] = ["promptId", "turnPosition", "sentAtMs", "rowSource", "slug"];
/// `compactMetadata` keys some versions add that describe claude's own kept segment.
const NOT_WRITTEN_META: [&str; 4] = [
    "preservedSegment",
    "preservedMessages",
    "cumulativeDroppedTokens",
    "preCompactOrganizationsCoverStart",
];

/// Our record against claude's: no field claude does not write, every field claude writes
/// except the listed ones, the same JSON type for each, the same constant values.
fn same_shape(ours: &Value, real: &Value, what: &str) {
    let (o, r) = (keys(ours), keys(real));
    let extra: Vec<_> = o.difference(&r).collect();
    assert!(
        extra.is_empty(),
        "{what}: fields claude does not write: {extra:?}"
    );
    let missing: Vec<_> = r
        .difference(&o)
        .filter(|k| !NOT_WRITTEN.contains(&k.as_str()))
        .collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?}");
    for k in &o {
        let kind = |v: &Value| std::mem::discriminant(v);
        // `logicalParentUuid` is null only when there is nothing before.
        assert_eq!(
            kind(&ours[k]),
            kind(&real[k]),
            "{what}.{k}: {} vs {}",
            ours[k],
            real[k]
        );
    }
    for k in [
        "type",
        "subtype",
        "content",
        "level",
        "isMeta",
        "isSidechain",
        "isCompactSummary",
        "isVisibleInTranscriptOnly",
        "userType",
        "entrypoint",
        "version",
    ] {
        assert_eq!(ours.get(k), real.get(k), "{what}.{k}");
    }
}

#[test]
fn yes_compacts_in_pieces_and_sonnet_resumes_without_clear() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("long talk");
    let session = long_text_session(&mock, &sb, &project);
    let before = std::fs::read(&session.file).unwrap();
    let lines_before = session.line_count();
    rescue_rules(&mock, None);

    let r = ccrescue(&sb, &project, &["--yes"]);
    eprintln!("{}", r.stderr);
    let r = r.expect_code(0);
    let id = &session.id;
    let cd = format!("cd '{}' && ", project.display());
    assert_eq!(
        r.stdout,
        format!("{cd}claude --resume={id} --model {RETURN_MODEL}\n"),
        "ends in Sonnet"
    );
    assert!(
        !r.stderr.contains("without the conversation"),
        "no /clear: {}",
        r.stderr
    );
    let parts: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("summarising part "))
        .collect();
    assert!(parts.len() >= 3, "{}", r.stderr);
    assert!(parts[0].starts_with(&format!("summarising part 1 of {}", parts.len())));

    // One summary request per part, each under the window, in the small model, without tools.
    let asked = mock.messages_requests();
    let summaries: Vec<_> = asked
        .iter()
        .filter(|q| q.body.contains(PROMPT_MARKER))
        .collect();
    assert_eq!(summaries.len(), parts.len());
    for (i, q) in summaries.iter().enumerate() {
        assert!(
            q.body.len() < WINDOW_BYTES,
            "part {}: {} bytes",
            i + 1,
            q.body.len()
        );
        assert_eq!(q.model.as_deref(), Some(COMPACT_MODEL));
        let tools = q.json()["tools"].as_array().map_or(0, Vec::len);
        assert_eq!(tools, 0, "no tools for the summariser");
        if i > 0 {
            assert!(
                q.body.contains(&format!("PIECE-{i}")),
                "the previous summary as context"
            );
        }
    }
    assert_no_scratch_left(&sb);

    // The file: the original bytes, then the new records; the backup is the original.
    let now = std::fs::read(&session.file).unwrap();
    assert!(now.len() > before.len());
    let records = session.records();
    let ours = &records[lines_before..];
    let b = ours
        .iter()
        .rposition(|r| r["subtype"] == "compact_boundary")
        .expect("our boundary");
    let (boundary, summary) = (&ours[b], &ours[b + 1]);
    assert_eq!(summary["parentUuid"], boundary["uuid"]);
    let text = summary["message"]["content"].as_str().unwrap();
    for k in 1..=parts.len() {
        assert!(text.contains(&format!("PIECE-{k}")), "{text}");
    }
    let tail = &ours[b + 2..];
    assert!(!tail.is_empty(), "a verbatim tail");
    assert_eq!(tail[0]["parentUuid"], summary["uuid"]);
    for w in tail.windows(2) {
        assert_eq!(w[1]["parentUuid"], w[0]["uuid"], "re-chained");
    }
    let backups: Vec<_> = std::fs::read_dir(session.file.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".jsonl.bak"))
        .collect();
    assert!(backups.iter().any(|p| std::fs::read(p).unwrap() == before));

    // The resumed claude sends the combined summary and the kept tail, under the window.
    mock.clear_log();
    let run = session.resume(&sb, "are we back?", &["--model", RETURN_MODEL]);
    run.assert_success();
    assert_eq!(run.result()["result"], "Back in Sonnet.");
    let asked = mock.messages_requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let body = &asked[0].body;
    assert!(body.len() < WINDOW_BYTES, "{} bytes", body.len());
    for k in 1..=parts.len() {
        assert!(body.contains(&format!("PIECE-{k}")));
    }
    assert!(
        body.contains("SHORT-ASK") && body.contains("SHORT-REPLY"),
        "the kept tail"
    );
    assert!(
        !body.contains("TURN-0-ASK sentence"),
        "the oldest turn is summarised"
    );

    // claude's own /compact still works on the rescued session.
    mock.set_rules(vec![
        Rule::reply(Reply::summary("AFTER-PIECES")).compaction(true),
    ]);
    let own = session.resume(&sb, "/compact", &["--model", COMPACT_MODEL]);
    own.assert_success();
    assert_eq!(own.compact_status().unwrap()["compact_result"], "success");

    // Field by field against the compaction this claude writes itself.
    let real = fixtures::compacted(&mock, &sb, &sb.project("reference"));
    let real_records = real.session.records();
    let rb = real_records
        .iter()
        .position(|r| r["subtype"] == "compact_boundary")
        .unwrap();
    same_shape(boundary, &real_records[rb], "compact_boundary");
    same_shape(summary, &real_records[rb + 1], "summary");
    let (om, rm) = (
        &boundary["compactMetadata"],
        &real_records[rb]["compactMetadata"],
    );
    assert_eq!(om["trigger"], "manual");
    for k in keys(om) {
        assert!(rm.get(&k).is_some(), "compactMetadata.{k} is claude's");
    }
    for k in keys(rm) {
        assert!(
            om.get(&k).is_some() || NOT_WRITTEN_META.contains(&k.as_str()),
            "compactMetadata.{k} missing"
        );
    }
}

#[test]
fn the_compact_command_labels_its_backup_before_compaction() {
    // Found by a review: `ccrescue compact` set no reason, so `restore --list` said "before
    // change" (the wizard's own compaction rung had set one that its pieces inherited).
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("command");
    let session = long_text_session(&mock, &sb, &project);
    rescue_rules(&mock, None);
    ccrescue(&sb, &project, &["compact", "--yes"]).expect_code(0);
    let list = ccrescue(&sb, &project, &["restore", "--list"]).expect_code(0);
    let backup = list
        .stdout
        .lines()
        .find(|l| l.contains(&format!("{}.jsonl.bak", session.id)))
        .unwrap_or_default();
    assert!(backup.contains("before compaction"), "{}", list.stdout);
}

#[test]
fn ctrl_c_during_the_third_part_changes_nothing() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("interrupted");
    let session = long_text_session(&mock, &sb, &project);
    let before = snapshot(&sb.session_dir(&project));

    // The plan, without running anything.
    let dry = ccrescue(&sb, &project, &["compact", "--dry-run"]).expect_code(0);
    assert!(dry.stdout.contains("part 3 of"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("kept verbatim: the last"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("Dry run: nothing was run or written."));

    rescue_rules(&mock, Some(3));
    let mut env = sb.env();
    env.push(("TERM".into(), "xterm-256color".into()));
    let mut t = Terminal::spawn(exe(), &["compact", "--yes"], &env, &project, 120, 40);
    let step = Duration::from_secs(60);
    mock.wait_for(step, |q| q.body.contains("This is part 3 of"))
        .unwrap_or_else(|| t.fail("no request for part 3"));
    std::thread::sleep(Duration::from_millis(300));
    t.send_key(Key::Ctrl('c'));
    t.wait_exit(step);
    let status = t.exit_status().expect("ended").clone();
    assert_eq!(
        status.signal(),
        Some("Interrupt"),
        "{status:?}\n{}",
        t.screen()
    );
    assert!(
        t.screen().contains("the session was not changed"),
        "{}",
        t.screen()
    );

    assert_eq!(
        snapshot(&sb.session_dir(&project)),
        before,
        "the session folder is byte-identical: no backup, no append"
    );
    assert!(session.file.is_file());
    assert_no_scratch_left(&sb);
}

/// No scratch session in the projects folder (only the project's own) and no scratch folder.
fn assert_no_scratch_left(sb: &Sandbox) {
    let projects: Vec<_> = std::fs::read_dir(sb.projects_dir())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(projects.len(), 1, "no scratch session: {projects:?}");
    assert!(
        !std::fs::read_dir(sb.tmp()).unwrap().flatten().any(|e| e
            .file_name()
            .to_string_lossy()
            .starts_with("ccrescue-pieces")),
        "the scratch folder is removed"
    );
}
