//! Bad input for `trim`: malformed, non-UTF-8 and torn lines kept verbatim, an empty file, a huge
//! line, a folder ccrescue may not write (as `nobody`), and a full disk. Each case checks the
//! message, the exit code, that every file is byte-for-byte as it was (or exactly what was asked
//! for), and that no temp file is left behind. The same for `restore` is in bad_input_restore.rs.
mod common;
mod edit_damage;

use std::fs;

use ccrescue_testbench::sandbox::describe;
use common::{Ran, ccrescue, snapshot};
use edit_damage::*;

#[test]
fn trim_keeps_malformed_non_utf8_and_torn_lines_verbatim_and_says_which() {
    let s = screenshots();
    let dir = s.session.file.parent().unwrap().to_path_buf();
    let clean_lines = fs::read(&s.session.file)
        .unwrap()
        .split(|&b| b == b'\n')
        .count() as u64
        - 1;
    for (_, damage) in DAMAGE {
        append(&s.session.file, damage);
    }
    let original = fs::read(&s.session.file).unwrap();
    assert!(has_image(&original));
    let out = ccrescue(&s.sb, &s.project, &["trim", "--all", "--yes"]).expect_code(0);
    for i in 1..=3 {
        let want = format!("Kept as it is: line {}: ", clean_lines + i);
        assert!(
            out.stdout.contains(&want),
            "{want:?} missing:\n{}",
            out.stdout
        );
    }
    let trimmed = fs::read(&s.session.file).unwrap();
    assert!(!has_image(&trimmed), "the screenshots are out");
    let pieces = |b: &[u8]| {
        b.split(|&c| c == b'\n')
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    let (before, after) = (pieces(&original), pieces(&trimmed));
    assert_eq!(before.len(), after.len(), "same lines, same torn end");
    let n = before.len();
    assert_eq!(
        after[n - 3..],
        before[n - 3..],
        "the damaged lines are kept byte for byte"
    );
    assert!(
        trimmed.ends_with(b"{\"type\":\"assistant\",\"mess"),
        "still torn, not 'fixed'"
    );
    assert_eq!(
        fs::read(with_suffix(&s.session.file, ".bak")).unwrap(),
        original
    );
    assert!(temp_files(&dir).is_empty());
}

/// FAILS on the trim branch as merged (reported to the lead): with one malformed, one non-UTF-8
/// and one torn line, all three are listed and then "Kept as it is: 2 more such lines" follows —
/// the non-UTF-8 and the torn line are counted again (malformed + non_utf8 + torn − listed), so
/// the user is told of two damaged lines that do not exist.
#[test]
fn trim_reports_each_damaged_line_once() {
    let s = screenshots();
    for (_, damage) in DAMAGE {
        append(&s.session.file, damage);
    }
    let out = ccrescue(&s.sb, &s.project, &["trim", "--all", "--dry-run"]).expect_code(0);
    let kept: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("Kept as it is: "))
        .collect();
    assert_eq!(
        kept.len(),
        3,
        "one line per damaged line, nothing more:\n{}",
        out.stdout
    );
    // Each in its own words, not all as JSON errors.
    assert!(kept[0].contains("not a JSON record"), "{kept:?}");
    assert!(kept[1].contains("not valid UTF-8"), "{kept:?}");
    assert!(kept[2].contains("the last line has no newline"), "{kept:?}");
}

#[test]
fn trim_on_an_empty_file_writes_nothing_and_a_huge_line_passes_through() {
    let s = screenshots();
    let dir = s.session.file.parent().unwrap().to_path_buf();
    let empty_id = "00000000-0000-4000-8000-000000000000";
    let empty = dir.join(format!("{empty_id}.jsonl"));
    fs::write(&empty, b"").unwrap();
    let before = snapshot(s.sb.root());
    let out = ccrescue(&s.sb, &s.project, &["--session", empty_id, "trim", "--yes"]).expect_code(0);
    assert!(out.stdout.contains("Nothing to trim."), "{}", out.stdout);
    assert_eq!(snapshot(s.sb.root()), before, "no backup, no change");
    fs::remove_file(&empty).unwrap();

    let huge = big_record(64 << 20);
    append(&s.session.file, &huge);
    let original = fs::read(&s.session.file).unwrap();
    let out = ccrescue(
        &s.sb,
        &s.project,
        &["--session", &s.session.id, "trim", "--all", "--yes"],
    )
    .expect_code(0);
    assert!(out.stdout.contains("Trimmed "), "{}", out.stdout);
    let trimmed = fs::read(&s.session.file).unwrap();
    assert!(!has_image(&trimmed));
    assert!(trimmed.ends_with(&huge), "the 64 MB line is byte-identical");
    assert!(fs::read(with_suffix(&s.session.file, ".bak")).unwrap() == original);
    assert!(temp_files(&dir).is_empty());
}

#[test]
fn trim_in_a_folder_nobody_may_write_fails_and_changes_nothing() {
    let s = screenshots();
    let dir = readable_not_writable(&s);
    let before = snapshot(s.sb.root());
    let dry = as_nobody(&s.sb, &s.project, &["trim", "--all", "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}", describe(&dry.output));
    let out = as_nobody(&s.sb, &s.project, &["trim", "--all", "--yes"]);
    assert_eq!(out.code(), 1, "{}", describe(&out.output));
    let err = error_line(&out);
    assert!(err.contains("Permission denied"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: nothing was changed; run ccrescue as the user who owns the file"),
        "{}",
        out.stderr
    );
    assert!(
        err.contains(&dir.display().to_string()),
        "the message names the folder: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(snapshot(s.sb.root()), before, "nothing changed");
    assert!(temp_files(&dir).is_empty());
}

#[test]
fn trim_on_a_full_disk_fails_with_the_reason_and_leaves_every_file() {
    let s = screenshots();
    let dir = s.session.file.parent().unwrap().to_path_buf();
    // Text that stays after the trim, so the trimmed file cannot fit in what is free.
    append(&s.session.file, &big_record(1 << 20));
    let disk = FullDisk::mount(&dir, 128 << 10);
    let before = snapshot(&dir);
    let out = ccrescue(&s.sb, &s.project, &["trim", "--all", "--yes"]);
    assert_eq!(out.code(), 1, "{}", describe(&out.output));
    let err = error_line(&out);
    assert!(err.contains("No space left on device"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: nothing was changed; free some disk space"),
        "{}",
        out.stderr
    );
    assert!(
        err.contains(&s.session.file.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&dir), before, "every file as it was");
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    drop(disk);
}

/// The `error:` line ccrescue printed (empty when there is none).
fn error_line(out: &Ran) -> &str {
    out.stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
}
