//! `ccrescue trim` on a session file that is a symbolic link (a session moved to a bigger disk
//! and linked back): the link stays a link, the file it points at is trimmed, and the backup
//! sits next to that file — where `restore` and the placeholders look for it.
mod common;

use std::fs;

use std::path::PathBuf;

use ccrescue_testbench::fixtures::{self, Session, setup};
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::ccrescue;

/// A session with `shots` screenshots moved to another folder ("a bigger disk") and linked
/// back: (mock, sandbox, session, that folder, the file the link points at).
fn linked_session(shots: usize) -> (MockApi, Sandbox, Session, PathBuf, PathBuf) {
    let (mock, sb) = setup(Auth::ApiKey);
    let project = sb.project("linked");
    let s = fixtures::screenshots(&mock, &sb, &project, shots).session;
    let disk = sb.tmp().join("bigger-disk");
    fs::create_dir_all(&disk).unwrap();
    let target = disk.join(s.file.file_name().unwrap());
    fs::rename(&s.file, &target).unwrap();
    std::os::unix::fs::symlink(&target, &s.file).unwrap();
    (mock, sb, s, disk, target)
}

#[test]
fn a_symlinked_session_is_trimmed_through_its_link() {
    let (_mock, sb, s, disk, target) = linked_session(2);
    let original = fs::read(&target).unwrap();

    let r = ccrescue(&sb, &s.project, &["trim", "--yes"]).expect_code(0);
    let backup = disk.join(format!("{}.jsonl.bak", s.id));
    assert!(
        r.stdout
            .contains(&format!("The original is kept as {}.", backup.display())),
        "{}",
        r.stdout
    );
    assert_eq!(fs::read_link(&s.file).unwrap(), target, "the link is kept");
    assert_eq!(fs::read(&backup).unwrap(), original);
    let trimmed = fs::read_to_string(&target).unwrap();
    assert!(
        trimmed.contains("[image removed by ccrescue") && trimmed.len() < original.len(),
        "the file the link points at is trimmed"
    );
    let beside_link: Vec<_> = fs::read_dir(s.file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".bak") || n.contains(".tmp"))
        .collect();
    assert!(beside_link.is_empty(), "{beside_link:?}");
}

#[test]
fn the_undo_command_printed_after_restoring_a_symlinked_session_works() {
    // Found by a review: the command said `--backup <beside the target>` alone, which names the
    // target as the session, outside the projects folder, and was refused.
    let (_mock, sb, s, disk, target) = linked_session(1);
    ccrescue(&sb, &s.project, &["trim", "--yes"]).expect_code(0);
    let trimmed = fs::read(&target).unwrap();

    let r = ccrescue(&sb, &s.project, &["restore", "--yes"]).expect_code(0);
    let undo = disk.join(format!("{}.jsonl.bak.1", s.id));
    let command = format!(
        "ccrescue restore --session {} --backup {}",
        s.file.display(),
        undo.display()
    );
    assert!(
        r.stdout.contains(&format!("run `{command}` to undo.")),
        "{}",
        r.stdout
    );
    assert_ne!(fs::read(&target).unwrap(), trimmed);
    // Run from elsewhere, as printed.
    let args: Vec<&str> = command.split(' ').skip(1).chain(["--yes"]).collect();
    ccrescue(&sb, &sb.tmp(), &args).expect_code(0);
    assert_eq!(fs::read(&target).unwrap(), trimmed, "the restore is undone");
    assert_eq!(fs::read_link(&s.file).unwrap(), target, "the link is kept");
}
