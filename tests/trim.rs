//! `ccrescue trim` on sessions the real claude wrote against the mock: what the user sees (stdout,
//! stderr, exit codes) and the file afterwards — the images gone from message.content, every other
//! line byte-identical, the original kept as `.bak` (then `.bak.1`), and nothing written when the
//! trim is only shown, refused, or has nothing to do.
mod common;

use ccrescue_testbench::fixtures::{self, Session, read_jsonl, setup};
use ccrescue_testbench::mock::{Reply, Rule};
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, snapshot};
use serde_json::{Value, json};

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split('\n')
        .map(str::to_owned)
        .collect()
}

fn screenshots(name: &str) -> (ccrescue_testbench::mock::MockApi, Sandbox, Session) {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project(name);
    let f = fixtures::screenshots(&mock, &sb, &project, 3);
    (mock, sb, f.session)
}

#[test]
fn trim_takes_the_screenshots_out_and_keeps_the_original_as_a_backup() {
    let (_mock, sb, s) = screenshots("shots");
    let before = snapshot(sb.root());
    let original = std::fs::read(&s.file).unwrap();
    let backup = s.file.with_file_name(format!("{}.jsonl.bak", s.id));

    // --dry-run lists the three reads and writes nothing.
    let dry = ccrescue(&sb, &s.project, &["trim", "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout.contains("Will replace:\n  3 images: "),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("3 duplicate image copies (toolUseResult)"),
        "{}",
        dry.stdout
    );
    for dims in ["40×30", "48×36", "56×42"] {
        assert!(
            dry.stdout
                .lines()
                .any(|l| l.starts_with("line ") && l.contains(&format!("image image/png {dims}"))),
            "{}",
            dry.stdout
        );
    }
    assert!(
        dry.stdout
            .contains(&format!("Backup: {}", backup.display())),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.ends_with("Dry run: nothing was written.\n"),
        "{}",
        dry.stdout
    );
    assert_eq!(snapshot(sb.root()), before);

    // --target-tokens takes the largest image first and stops once under the target.
    let j = ccrescue(&sb, &s.project, &["trim", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["trimmed"], false);
    let tokens = j["plan"]["tokens_before"].as_u64().unwrap();
    let target = (tokens - 1).to_string();
    let j = ccrescue(
        &sb,
        &s.project,
        &["trim", "--dry-run", "--json", "--target-tokens", &target],
    )
    .expect_code(0)
    .json();
    let changes = j["plan"]["changes"].as_array().unwrap();
    let images: Vec<_> = changes.iter().filter(|c| c["kind"] == "image").collect();
    assert_eq!(images.len(), 1, "{changes:?}");
    assert_eq!(
        (images[0]["width"].as_u64(), images[0]["height"].as_u64()),
        (Some(56), Some(42))
    );
    assert_eq!(j["plan"]["target_reached"], true);
    assert!(j["plan"]["tokens_after"].as_u64().unwrap() < tokens - 1);
    assert_eq!(snapshot(sb.root()), before);

    // No terminal and no --yes: refused, naming --yes.
    let refused = ccrescue(&sb, &s.project, &["trim"]).expect_code(2);
    assert!(
        refused.stderr.contains(
            "error: trim changes the session file and there is no terminal to confirm on"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("hint: pass --yes"),
        "{}",
        refused.stderr
    );
    assert_eq!(snapshot(sb.root()), before);

    let done = ccrescue(&sb, &s.project, &["trim", "--yes"]).expect_code(0);
    assert!(
        done.stdout.contains("Context: ~"),
        "the summary comes first:\n{}",
        done.stdout
    );
    // The result, then whether it fits (issue 16.2).
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert!(
        lines.last().unwrap().starts_with("Fits: ~"),
        "{}",
        done.stdout
    );
    let last = lines[lines.len() - 2];
    assert_eq!(
        last,
        format!(
            "Trimmed {}: 3 blocks replaced, {}. The original is kept as {}.",
            s.file.display(),
            last.split(", ").nth(1).unwrap().split(". ").next().unwrap(),
            backup.display()
        )
    );
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        original,
        "the backup is the original"
    );

    let (old, new) = (
        String::from_utf8(original.clone()).unwrap(),
        std::fs::read_to_string(&s.file).unwrap(),
    );
    let (old, new): (Vec<&str>, Vec<&str>) = (old.split('\n').collect(), new.split('\n').collect());
    assert_eq!(old.len(), new.len(), "no line added or removed");
    let mut changed = 0;
    for (o, n) in old.iter().zip(&new) {
        if o == n {
            continue;
        }
        changed += 1;
        let (o, n): (Value, Value) = (
            serde_json::from_str(o).unwrap(),
            serde_json::from_str(n).unwrap(),
        );
        assert_eq!(common::base64_media_in(&o["message"]["content"]), 1);
        assert_eq!(common::base64_media_in(&n["message"]["content"]), 0);
        for key in [
            "uuid",
            "parentUuid",
            "sessionId",
            "timestamp",
            "type",
            "cwd",
        ] {
            assert_eq!(o[key], n[key], "{key}");
        }
        let block = &n["message"]["content"][0];
        assert_eq!(
            block["tool_use_id"],
            o["message"]["content"][0]["tool_use_id"]
        );
        let text = block["content"][0]["text"].as_str().unwrap();
        assert!(
            text.starts_with("[image removed by ccrescue: image/png ")
                && text.ends_with(&format!("— original in {}.jsonl.bak]", s.id)),
            "{text}"
        );
        assert_eq!(n["toolUseResult"]["file"]["base64"], "");
        assert_eq!(
            n["toolUseResult"]["file"]["type"],
            o["toolUseResult"]["file"]["type"]
        );
    }
    assert_eq!(changed, 3, "only the three tool results changed");

    // diagnose sees no image any more; a second trim has nothing to do and takes no backup.
    let j = ccrescue(&sb, &s.project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["images"], 0, "{}", j["session"]);
    let after = snapshot(sb.root());
    let again = ccrescue(&sb, &s.project, &["trim", "--yes", "--all"]).expect_code(0);
    assert!(
        again.stdout.contains("Nothing to trim."),
        "{}",
        again.stdout
    );
    assert_eq!(snapshot(sb.root()), after);
}

#[test]
fn json_output_and_long_tool_outputs_shortened_with_a_second_backup() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("logs");
    let log = project.join("build.log");
    let body: String = (0..1500)
        .map(|i| format!("line {i:04} of a long build log, nothing to see here\n"))
        .collect();
    std::fs::write(&log, &body).unwrap();
    mock.set_rules(vec![Rule::reply(Reply::sequence([Reply::tool_use(
        "Read",
        json!({"file_path": log.display().to_string()}),
    )]))]);
    let (s, run) = fixtures::new_session(&sb, &project, "read the log", &[]);
    run.assert_success();
    mock.set_rules(vec![]);
    let original = std::fs::read(&s.file).unwrap();

    let j = ccrescue(
        &sb,
        &project,
        &["trim", "--yes", "--json", "--tool-output-over", "4K"],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["trimmed"], true);
    let backup = s.file.with_file_name(format!("{}.jsonl.bak", s.id));
    assert_eq!(j["backup"], backup.display().to_string());
    assert_eq!(j["session"], s.file.display().to_string());
    let totals = j["plan"]["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 1, "{totals:?}");
    assert_eq!(totals[0]["kind"], "tool_output");
    assert_eq!(totals[0]["count"], 1);
    assert!(
        totals[0]["est_tokens"].as_u64().unwrap() > 10_000,
        "{totals:?}"
    );
    let change = &j["plan"]["changes"][0];
    assert_eq!(j["plan"]["bytes_before"], original.len());
    assert_eq!(
        j["plan"]["bytes_after"],
        std::fs::metadata(&s.file).unwrap().len()
    );
    assert!(change["bytes"].as_u64().unwrap() > 75_000, "{change}");

    let records = read_jsonl(&s.file);
    let line = change["line"].as_u64().unwrap() as usize;
    let result = &records[line - 1]["message"]["content"][0];
    assert_eq!(result["type"], "tool_result");
    let text = match &result["content"] {
        Value::String(t) => t.clone(),
        other => other[0]["text"].as_str().unwrap().to_owned(),
    };
    assert!(text.len() < 4096 + 200, "{}", text.len());
    assert!(
        text.contains("line 0000 of a long build log"),
        "the head is kept"
    );
    assert!(
        text.contains("line 1499 of a long build log"),
        "the tail is kept"
    );
    assert!(
        text.contains(&format!(
            "lines) cut by ccrescue — original in {}.jsonl.bak …]",
            s.id
        )),
        "{text}"
    );
    assert_eq!(std::fs::read(&backup).unwrap(), original);

    // Trimming again (nothing left over 1K but the shortened output itself) takes `.bak.1` and
    // leaves the first backup alone.
    let j = ccrescue(
        &sb,
        &project,
        &["trim", "--yes", "--json", "--tool-output-over", "1K"],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["backup"], format!("{}.1", backup.display()));
    assert_eq!(std::fs::read(&backup).unwrap(), original);
}

#[test]
fn only_after_the_last_compaction_unless_all() {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("compacted");
    let f = fixtures::screenshots(&mock, &sb, &project, 2);
    let s = f.session;
    mock.set_rules(vec![Rule::reply(Reply::summary(
        "<summary>looked at screenshots</summary>",
    ))]);
    let run = s.resume(&sb, "/compact", &["--model", fixtures::COMPACT_MODEL]);
    run.assert_success();
    mock.set_rules(vec![]);
    let before = snapshot(sb.root());

    let r = ccrescue(&sb, &project, &["trim", "--yes"]).expect_code(0);
    assert!(
        r.stdout
            .contains("Looking at the records after the last compaction (line "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Nothing to trim."), "{}", r.stdout);
    assert_eq!(
        snapshot(sb.root()),
        before,
        "the images before the boundary are not sent: kept"
    );

    let r = ccrescue(&sb, &project, &["trim", "--yes", "--all"]).expect_code(0);
    assert!(
        r.stdout.contains("Looking at every record of the file."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("2 images: "), "{}", r.stdout);
    assert!(r.stdout.contains(": 2 blocks replaced, "), "{}", r.stdout);
    let records = read_jsonl(&s.file);
    assert_eq!(
        records
            .iter()
            .map(|r| common::base64_media_in(&r["message"]["content"]))
            .sum::<usize>(),
        0
    );
    assert_eq!(
        lines(&s.file).len(),
        lines(&s.file.with_file_name(format!("{}.jsonl.bak", s.id))).len()
    );
}
