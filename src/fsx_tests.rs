use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use std::io;
use std::time::SystemTime;

use super::*;

type Hook = Box<dyn FnOnce(&Path)>;

thread_local! {
    /// Runs inside `replace` between its last check and the rename: a test's "claude appends
    /// right now".
    pub(super) static BEFORE_RENAME: std::cell::Cell<Option<Hook>> =
        const { std::cell::Cell::new(None) };
    /// Makes hard links fail, as on FAT and some network file systems.
    pub(super) static NO_HARD_LINKS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn session(dir: &Path, content: &[u8]) -> PathBuf {
    let path = dir.join("s.jsonl");
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn write_all(bytes: &'static [u8]) -> impl FnOnce(&mut dyn Write) -> Result<()> {
    move |out| Ok(out.write_all(bytes)?)
}

fn filetime_of(path: &Path) -> i64 {
    fs::metadata(path).unwrap().mtime()
}

fn accept(_: &mut File) -> Result<()> {
    Ok(())
}

#[test]
fn replace_with_a_link_backup_keeps_the_original_and_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"old\n");
    let done = replace(&path, Backup::Link, write_all(b"new\n"), accept).unwrap();
    let backup = done.backup.unwrap();
    assert_eq!(backup, dir.path().join("s.jsonl.bak"));
    assert_eq!(fs::read(&path).unwrap(), b"new\n");
    assert_eq!(fs::read(&backup).unwrap(), b"old\n");
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert_ne!(
        fs::metadata(&path).unwrap().ino(),
        fs::metadata(&backup).unwrap().ino(),
        "the session is a new file; the backup is the old inode"
    );
    assert_eq!(
        names(dir.path()),
        ["s.jsonl", "s.jsonl.bak"],
        "no temp file left"
    );
}

#[test]
fn backups_never_overwrite_and_number_past_the_highest() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"v1\n");
    fs::write(dir.path().join("s.jsonl.bak.3"), b"older").unwrap();
    let first = replace(&path, Backup::Link, write_all(b"v2\n"), accept).unwrap();
    assert_eq!(first.backup.unwrap(), dir.path().join("s.jsonl.bak.4"));
    let second = replace(&path, Backup::Copy, write_all(b"v3\n"), accept).unwrap();
    assert_eq!(second.backup.unwrap(), dir.path().join("s.jsonl.bak.5"));
    assert_eq!(
        fs::read(dir.path().join("s.jsonl.bak.3")).unwrap(),
        b"older"
    );
    assert_eq!(fs::read(dir.path().join("s.jsonl.bak.4")).unwrap(), b"v1\n");
    assert_eq!(fs::read(dir.path().join("s.jsonl.bak.5")).unwrap(), b"v2\n");
    let listed: Vec<u64> = list_backups(&path)
        .unwrap()
        .iter()
        .map(|b| b.number)
        .collect();
    assert_eq!(listed, [5, 4, 3], "newest first");
    assert_eq!(
        next_backup_path(&path).unwrap(),
        dir.path().join("s.jsonl.bak.6")
    );
}

#[test]
fn a_failed_write_or_validation_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"keep me\n");
    let err = replace(
        &path,
        Backup::Link,
        |out| {
            out.write_all(b"half")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "No space left on device").into())
        },
        accept,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("No space left on device"),
        "{err:#}"
    );
    let err = replace(&path, Backup::Link, write_all(b"bad\n"), |_| {
        bail!("line count changed")
    })
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("failed validation; nothing was changed: line count changed"),
        "{err:#}"
    );
    let err = replace(
        &path,
        Backup::Link,
        |_| Err(interrupt::Interrupted.into()),
        accept,
    )
    .unwrap_err();
    assert!(err.chain().any(|c| c.is::<interrupt::Interrupted>()));
    assert_eq!(fs::read(&path).unwrap(), b"keep me\n");
    assert_eq!(names(dir.path()), ["s.jsonl"], "no temp file, no backup");
}

#[test]
fn a_file_that_grows_during_the_write_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"a\n");
    let appender = path.clone();
    let err = replace(
        &path,
        Backup::Link,
        move |out| {
            // claude appending a record while ccrescue writes
            let mut f = OpenOptions::new().append(true).open(&appender)?;
            f.write_all(b"b\n")?;
            Ok(out.write_all(b"trimmed\n")?)
        },
        accept,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("changed while ccrescue was writing"),
        "{err:#}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"a\nb\n");
    assert_eq!(names(dir.path()), ["s.jsonl"]);
}

#[test]
fn a_copy_backup_is_independent_of_later_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"one\n");
    let old = filetime_of(&path) - 3600;
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(old as u64))
        .unwrap();
    let backup = backup_copy(&path).unwrap();
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"two\n")
        .unwrap();
    assert_eq!(fs::read(&backup).unwrap(), b"one\n");
    assert_eq!(fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        fs::metadata(&backup).unwrap().mtime(),
        fs::metadata(dir.path().join("s.jsonl.bak"))
            .unwrap()
            .mtime()
    );
    assert_eq!(names(dir.path()), ["s.jsonl", "s.jsonl.bak"]);
}

#[test]
fn list_backups_ignores_other_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"x\n");
    for name in [
        "s.jsonl.bak",
        "s.jsonl.bak.2",
        "s.jsonl.bak.0",
        "s.jsonl.bak.x",
        "s.jsonl.bakery",
        "t.jsonl.bak",
    ] {
        fs::write(dir.path().join(name), b"").unwrap();
    }
    let listed: Vec<String> = list_backups(&path)
        .unwrap()
        .iter()
        .map(|b| b.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, ["s.jsonl.bak.2", "s.jsonl.bak"]);
}

#[test]
fn stale_temps_of_dead_processes_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    // A pid that cannot be alive (above Linux's pid_max).
    let stale = dir.path().join(".s.jsonl.ccrescue-99999999.tmp");
    let mine = dir
        .path()
        .join(format!(".s.jsonl.ccrescue-{}.tmp", std::process::id()));
    let other = dir.path().join(".notes.ccrescue-x.tmp");
    for p in [&stale, &mine, &other] {
        fs::write(p, b"partial").unwrap();
    }
    assert_eq!(sweep_stale_temps(dir.path()), std::slice::from_ref(&stale));
    assert!(!stale.exists() && mine.exists() && other.exists());
    assert_eq!(temp_pid(".a.jsonl.ccrescue-42.tmp"), Some(42));
    assert_eq!(temp_pid("a.jsonl"), None);
}

#[test]
fn end_torn_line_appends_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{\"a\":1}\n{\"b\":");
    assert!(end_torn_line(&path).unwrap());
    assert_eq!(fs::read(&path).unwrap(), b"{\"a\":1}\n{\"b\":\n");
    assert!(!end_torn_line(&path).unwrap());
    let empty = dir.path().join("e.jsonl");
    fs::write(&empty, b"").unwrap();
    assert!(!end_torn_line(&empty).unwrap());
    assert_eq!(fs::read(&empty).unwrap(), b"");
}

#[test]
fn a_file_is_removed_only_while_it_holds_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{}\n");
    let err = remove_if_holds(&path, b"{\"other\":1}\n", "it").unwrap_err();
    assert!(err.is::<ChangedSinceRead>(), "{err:#}");
    assert_eq!(fs::read(&path).unwrap(), b"{}\n", "put back");
    assert_eq!(names(dir.path()), ["s.jsonl"], "nothing left aside");
    remove_if_holds(&path, b"{}\n", "it").unwrap();
    assert!(names(dir.path()).is_empty());
}

#[test]
fn where_hard_links_fail_the_backup_is_a_copy_and_the_change_is_made() {
    // Found by a review: the copy's temp file had the name of replace's own, written and
    // validated, and creating it removed that one; every trim failed on such file systems.
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{\"a\":1}\n");
    NO_HARD_LINKS.set(true);
    let done = replace(&path, Backup::Link, write_all(b"{\"a\":0}\n"), accept);
    NO_HARD_LINKS.set(false);
    let done = done.unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{\"a\":0}\n");
    let backup = done.backup.unwrap();
    assert_eq!(backup, dir.path().join("s.jsonl.bak"));
    assert_eq!(fs::read(&backup).unwrap(), b"{\"a\":1}\n");
    assert_ne!(
        fs::metadata(&backup).unwrap().ino(),
        fs::metadata(&path).unwrap().ino()
    );
    assert_eq!(fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        names(dir.path()),
        ["s.jsonl", "s.jsonl.bak"],
        "no temp file left"
    );
}

#[test]
fn lines_appended_just_before_the_rename_are_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{\"a\":1}\n");
    BEFORE_RENAME.set(Some(Box::new(|p: &Path| append(p, b"{\"late\":2}\n"))));
    let done = replace(&path, Backup::Link, write_all(b"{\"a\":0}\n"), accept).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{\"a\":0}\n{\"late\":2}\n");
    assert_eq!(
        fs::read(done.backup.unwrap()).unwrap(),
        b"{\"a\":1}\n{\"late\":2}\n",
        "the backup is the old file, late line included"
    );
    assert_eq!(names(dir.path()), ["s.jsonl", "s.jsonl.bak"]);
}

#[test]
fn a_late_change_that_is_not_an_append_is_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{\"model\":\"x\"}\n");
    BEFORE_RENAME.set(Some(Box::new(|p: &Path| {
        fs::write(p, b"{\"model\":\"other\"}\n").unwrap()
    })));
    let err = replace(&path, Backup::None, write_all(b"{}\n"), accept).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("was changed by another program"), "{msg}");
    assert!(
        msg.contains("s.jsonl.bak holds the other program's"),
        "{msg}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"{}\n");
    assert_eq!(
        fs::read(dir.path().join("s.jsonl.bak")).unwrap(),
        b"{\"model\":\"other\"}\n",
        "the other program's version is saved, not lost with the old file"
    );
}

#[test]
fn a_symlinked_file_keeps_its_link_and_its_target_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("disk");
    fs::create_dir(&elsewhere).unwrap();
    let target = session(&elsewhere, b"old\n");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(
        next_backup_path(&link).unwrap(),
        elsewhere.join("s.jsonl.bak")
    );
    let done = replace(&link, Backup::Link, write_all(b"new\n"), accept).unwrap();
    assert_eq!(fs::read_link(&link).unwrap(), target, "still a link");
    assert_eq!(fs::read(&link).unwrap(), b"new\n");
    assert_eq!(done.backup, Some(elsewhere.join("s.jsonl.bak")));
    assert_eq!(fs::read(elsewhere.join("s.jsonl.bak")).unwrap(), b"old\n");
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
    let listed: Vec<PathBuf> = list_backups(&link)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(listed, [elsewhere.join("s.jsonl.bak")]);
    assert_eq!(backup_copy(&link).unwrap(), elsewhere.join("s.jsonl.bak.1"));
    assert_eq!(
        names(dir.path()),
        ["disk", "link.jsonl"],
        "no temp file beside the link"
    );
    assert_eq!(
        names(&elsewhere),
        ["s.jsonl", "s.jsonl.bak", "s.jsonl.bak.1"]
    );
}

/// The one temp file in `dir` (while `replace` writes it).
fn the_temp(dir: &Path) -> PathBuf {
    let temps: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(TEMP_MARK))
        .collect();
    assert_eq!(temps.len(), 1, "{temps:?}");
    temps[0].clone()
}

#[test]
fn temp_files_are_private_while_written_and_get_the_original_mode_at_the_end() {
    // Issue 17 point 2: a 0644 session's temp copy was 0644 (0666 − umask) while filled.
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"old\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let folder = dir.path().to_owned();
    replace(
        &path,
        Backup::Copy,
        move |out| {
            let temp = the_temp(&folder);
            assert_eq!(
                fs::metadata(&temp).unwrap().mode() & 0o777,
                0o600,
                "{temp:?}"
            );
            Ok(out.write_all(b"new\n")?)
        },
        accept,
    )
    .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
    assert_eq!(
        fs::metadata(dir.path().join("s.jsonl.bak")).unwrap().mode() & 0o777,
        0o644
    );
    // A stricter original keeps the temp file stricter still.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    let folder = dir.path().to_owned();
    replace(
        &path,
        Backup::Link,
        move |out| {
            let temp = the_temp(&folder);
            assert_eq!(
                fs::metadata(&temp).unwrap().mode() & 0o777,
                0o400,
                "{temp:?}"
            );
            Ok(out.write_all(b"newer\n")?)
        },
        accept,
    )
    .unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"newer\n");
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o400);
    // The handoff note (and any other new file) is private from its first byte too.
    let note = dir.path().join("note.md");
    create_new(&note, b"hello").unwrap();
    assert_eq!(fs::metadata(&note).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn a_temp_file_swapped_for_a_symlink_changes_nothing_and_gives_nothing_away() {
    // Issue 17 point 1: whoever can write the folder swaps the temp name for a symlink to a
    // private file while it is filled; ccrescue used to chmod/chown that file by name (making it
    // theirs and readable) and rename the link into place.
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"{\"a\":1}\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    let secret = dir.path().join("secret");
    fs::write(&secret, b"root's").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    for backup in [Backup::Link, Backup::Copy] {
        let (folder, target) = (dir.path().to_owned(), secret.clone());
        let err = replace(
            &path,
            backup,
            move |out| {
                out.write_all(b"{\"a\":0}\n")?;
                let temp = the_temp(&folder);
                fs::remove_file(&temp)?;
                std::os::unix::fs::symlink(&target, &temp)?;
                Ok(())
            },
            accept,
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("was replaced by another program"),
            "{err:#}"
        );
        let m = fs::metadata(&secret).unwrap();
        assert_eq!(
            (m.uid(), m.mode() & 0o777),
            (0, 0o600),
            "the secret is untouched"
        );
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\":1}\n");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }
}

#[test]
fn backups_number_past_dangling_links_and_a_name_taken_meanwhile_is_refused() {
    // Issue 17 point 4: with a dangling symlink at `.bak` the backup went to `.bak.1` while the
    // summary (and the trim's placeholders) said `.bak`.
    let dir = tempfile::tempdir().unwrap();
    let path = session(dir.path(), b"v1\n");
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("s.jsonl.bak")).unwrap();
    assert_eq!(
        next_backup_path(&path).unwrap(),
        dir.path().join("s.jsonl.bak.1")
    );
    let done = replace(&path, Backup::Link, write_all(b"v2\n"), accept).unwrap();
    assert_eq!(done.backup.unwrap(), dir.path().join("s.jsonl.bak.1"));
    // The planned name appears while the new version is written: refused before the rename.
    let bak2 = dir.path().join("s.jsonl.bak.2");
    let squatter = bak2.clone();
    let err = replace(
        &path,
        Backup::Link,
        move |out| {
            std::os::unix::fs::symlink("/nowhere", &squatter)?;
            Ok(out.write_all(b"v3\n")?)
        },
        accept,
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("s.jsonl.bak.2 appeared while ccrescue was working")
            && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"v2\n");
    assert_eq!(
        names(dir.path()),
        ["s.jsonl", "s.jsonl.bak", "s.jsonl.bak.1", "s.jsonl.bak.2"]
    );
}
