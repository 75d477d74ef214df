//! Bad input for `restore`: damaged sessions and backups, an empty one and a huge line, a folder
//! ccrescue may not write (as `nobody`), and a full disk. Each case checks the message, the exit
//! code, that every file is byte-for-byte as it was (or exactly what was asked for), and that no
//! temp file is left behind. The same for `trim` is in bad_input_trim.rs.
mod common;
mod edit_damage;

use std::fs;

use ccrescue::fsx;
use ccrescue_testbench::sandbox::describe;
use common::{ccrescue, snapshot};
use edit_damage::*;

#[test]
fn damaged_sessions_and_backups_are_restored_byte_for_byte() {
    let s = setup();
    let dir = s.session.file.parent().unwrap().to_path_buf();
    for (what, damage) in DAMAGE {
        // A damaged backup comes back exactly as it is, and so does the damaged state it replaces.
        let clean = fs::read(&s.session.file).unwrap();
        append(&s.session.file, damage);
        let damaged = fs::read(&s.session.file).unwrap();
        let bak = fsx::backup_copy(&s.session.file).unwrap();
        fs::write(&s.session.file, &clean).unwrap();
        let out = ccrescue(
            &s.sb,
            &s.project,
            &["restore", "--backup", bak.to_str().unwrap()],
        );
        assert_eq!(out.code(), 0, "{what}: {}", describe(&out.output));
        assert_eq!(fs::read(&s.session.file).unwrap(), damaged, "{what}");
        let undo = ccrescue(&s.sb, &s.project, &["restore", "--yes"]);
        assert_eq!(undo.code(), 0, "{what}: {}", describe(&undo.output));
        assert_eq!(fs::read(&s.session.file).unwrap(), clean, "{what}: undone");
        assert_eq!(fs::read(&bak).unwrap(), damaged, "{what}: backup untouched");
        assert!(temp_files(&dir).is_empty(), "{what}");
    }
}

#[test]
fn an_empty_session_or_backup_and_a_huge_line_restore_exactly() {
    let s = setup();
    let original = fs::read(&s.session.file).unwrap();
    // An empty backup is what the session was; restoring it is allowed and undoable.
    fs::write(&s.session.file, b"").unwrap();
    let empty_bak = fsx::backup_copy(&s.session.file).unwrap();
    fs::write(&s.session.file, &original).unwrap();
    ccrescue(
        &s.sb,
        &s.project,
        &["restore", "--backup", empty_bak.to_str().unwrap()],
    )
    .expect_code(0);
    assert_eq!(fs::metadata(&s.session.file).unwrap().len(), 0);
    // An empty session gets a backup restored into it (one holding a 64 MB line, written where
    // the next backup would go).
    let mut huge = original.clone();
    huge.extend_from_slice(&big_record(64 << 20));
    let newest = fsx::next_backup_path(&s.session.file).unwrap();
    fs::write(&newest, &huge).unwrap();
    let out = ccrescue(
        &s.sb,
        &s.project,
        &["--session", &s.session.id, "restore", "--yes"],
    )
    .expect_code(0);
    assert!(out.stdout.starts_with("Restored "), "{}", out.stdout);
    assert!(
        fs::read(&s.session.file).unwrap() == huge,
        "the 64 MB line came back whole"
    );
    let undo = with_suffix(&s.session.file, ".bak.3");
    assert_eq!(
        fs::metadata(&undo).unwrap().len(),
        0,
        "the empty state is kept"
    );
}

#[test]
fn a_folder_nobody_may_write_refuses_restore_and_prune_and_changes_nothing() {
    let s = setup();
    let bak = fsx::backup_copy(&s.session.file).unwrap();
    append(&s.session.file, &big_record(10_000));
    let dir = readable_not_writable(&s);
    let readable = as_nobody(&s.sb, &s.project, &["restore", "--list"]);
    assert_eq!(readable.code(), 0, "{}", describe(&readable.output));
    assert!(readable.stdout.contains(&bak.display().to_string()));

    let before = snapshot(s.sb.root());
    let out = as_nobody(&s.sb, &s.project, &["restore", "--yes"]);
    assert_cannot_restore(&out, &s, &bak);
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);

    let prune = as_nobody(&s.sb, &s.project, &["restore", "--prune", "0", "--yes"]);
    assert_eq!(prune.code(), 1, "{}", describe(&prune.output));
    assert!(
        prune
            .stderr
            .contains(&format!("error: cannot delete {}", bak.display())),
        "{}",
        prune.stderr
    );
    assert!(
        prune.stderr.contains("Permission denied"),
        "{}",
        prune.stderr
    );
    assert_eq!(snapshot(s.sb.root()), before, "nothing changed");
    assert!(temp_files(&dir).is_empty());
}

#[test]
fn a_full_disk_fails_restore_with_the_reason_and_leaves_every_file() {
    let s = setup();
    let dir = s.session.file.parent().unwrap().to_path_buf();
    append(&s.session.file, &big_record(1 << 20));
    let bak = fsx::backup_copy(&s.session.file).unwrap();
    append(&s.session.file, b"{\"type\":\"user\",\"uuid\":\"later\"}\n");
    let disk = FullDisk::mount(&dir, 256 << 10);
    let before = snapshot(&dir);
    let out = ccrescue(&s.sb, &s.project, &["restore", "--yes"]);
    assert_cannot_restore(&out, &s, &bak);
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&dir), before, "every file as it was");
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    drop(disk);
}

/// The restore failed with the message that names the session and the backup, and exit 1.
fn assert_cannot_restore(out: &common::Ran, s: &Setup, bak: &std::path::Path) {
    assert_eq!(out.code(), 1, "{}", describe(&out.output));
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot restore {} from {} (it was left as it was): ",
            s.session.file.display(),
            bak.display()
        )),
        "{}",
        out.stderr
    );
}
