//! The wizard's overflow ladder on sessions the real claude wrote, run by `ccrescue --yes`: the
//! compaction runs on the small model, the boundary lands in the same file, the backup is the
//! original byte for byte, and the real claude then resumes the session in Sonnet without the
//! error.
mod common;

use ccrescue_testbench::claude_bin::version_at_least;
use ccrescue_testbench::fixtures::{self, COMPACT_MODEL, RETURN_MODEL, setup};
use ccrescue_testbench::sandbox::Auth;
use common::ccrescue;

const SUMMARY: &str = "RESCUED: the user asked to read the repo and summarise it.";

#[test]
fn yes_compacts_in_the_small_model_and_sonnet_resumes_without_the_error() {
    let (mock, sb) = setup(Auth::GatewayToken);
    let project = sb.awkward_project();
    let f = fixtures::credits_error(&mock, &sb, &project);
    let original = std::fs::read(&f.session.file).unwrap();
    fixtures::account_gate(&mock, SUMMARY, "Back in Sonnet.");
    // A temp file of a ccrescue killed mid-write (a pid above Linux's pid_max cannot be alive).
    let id = &f.session.id;
    let stale = f
        .session
        .file
        .with_file_name(format!(".{id}.jsonl.ccrescue-99999999.tmp"));
    std::fs::write(&stale, b"partial").unwrap();

    let r = ccrescue(&sb, &project, &["--yes"]).expect_code(0);
    eprintln!("{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "warning: removed {}, left behind by an interrupted ccrescue",
            stale.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!stale.exists());
    let cd = format!("cd '{}' && ", project.display());
    // claude < 2.1.172 retries the 429 for minutes inside /compact: ccrescue caps its retries.
    let cap = if version_at_least("2.1.172") {
        ""
    } else {
        "CLAUDE_CODE_MAX_RETRIES=2 "
    };
    let compact_line = format!(
        "$ {cd}CLAUDE_CODE_DISABLE_1M_CONTEXT=1 {cap}claude -p /compact --resume={id} --model {COMPACT_MODEL} --output-format stream-json --verbose"
    );
    assert!(r.stderr.contains(&compact_line), "{}", r.stderr);
    assert!(
        r.stderr.contains("Compacted: the context is now"),
        "{}",
        r.stderr
    );
    // With --yes the last step is printed, not run: the exact command, alone on stdout.
    assert_eq!(
        r.stdout,
        format!("{cd}claude --resume={id} --model {RETURN_MODEL}\n")
    );

    let compactions: Vec<_> = mock
        .messages_requests()
        .into_iter()
        .filter(|q| q.is_compaction)
        .collect();
    assert_eq!(compactions.len(), 1, "one compaction request");
    assert_eq!(compactions[0].model.as_deref(), Some(COMPACT_MODEL));
    assert!(
        !compactions[0]
            .beta
            .as_deref()
            .unwrap_or_default()
            .contains("context-1m"),
        "the compaction asked for the standard window"
    );

    let backup = f.session.file.with_extension("jsonl.bak");
    assert!(
        r.stderr.contains(&backup.display().to_string()),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        original,
        "the backup is the original"
    );
    let now = std::fs::read(&f.session.file).unwrap();
    assert!(
        now.starts_with(&original),
        "claude only appended to the session"
    );
    let records = f.session.records();
    let boundary = records[..]
        .iter()
        .rposition(|r| r["subtype"] == "compact_boundary")
        .expect("a compact_boundary");
    assert!(boundary >= original.split(|b| *b == b'\n').count() - 1);

    // The real claude resumes the session in Sonnet: one request, answered, no 1M beta.
    mock.clear_log();
    let run = f
        .session
        .resume(&sb, "are we back?", &["--model", RETURN_MODEL]);
    run.assert_success();
    assert_eq!(run.result()["result"], "Back in Sonnet.");
    assert_eq!(run.result()["is_error"], false);
    let asked = mock.messages_requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].model.as_deref(), Some(RETURN_MODEL));
    assert!(
        asked[0].body.contains(SUMMARY),
        "the summary is what is sent now"
    );
    assert!(!asked[0].body.contains("read everything in this repo"));
    let after = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(after["session"]["blocked"], false, "{}", after["session"]);
    assert_eq!(after["session"]["last_error"]["resolved"], true);
    assert_eq!(after["symptom"], "none");
}
