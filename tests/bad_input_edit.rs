//! Bad input for the commands that change files (`restore`, `trim`): damaged sessions and
//! backups, a folder ccrescue may not write (as `nobody`: tests run as root), and a full disk (a
//! small tmpfs mounted over the session folder). Each case checks the message, the exit code,
//! that every file is byte-for-byte as it was (or exactly what was asked for), and that no temp
//! file is left behind.
mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ccrescue::fsx;
use ccrescue_testbench::fixtures::{self, Session};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{Sandbox, describe, run_with_timeout};
use common::{Ran, ccrescue, snapshot};

struct Setup {
    _mock: MockApi,
    sb: Sandbox,
    project: PathBuf,
    session: Session,
}

fn setup() -> Setup {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Hello from the mock."))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("damaged");
    let session = fixtures::healthy(&mock, &sb, &project).session;
    Setup {
        _mock: mock,
        sb,
        project,
        session,
    }
}

fn append(path: &Path, bytes: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ccrescue-"))
        .collect()
}

/// A valid user record holding one text tool result of about `bytes` bytes.
fn big_record(bytes: usize) -> Vec<u8> {
    let chunk = "output line with \\\"quotes\\\" and \\\\ slashes\\n";
    let mut line = String::from(
        r#"{"type":"user","isSidechain":false,"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_big","content":""#,
    );
    while line.len() < bytes {
        line.push_str(chunk);
    }
    line.push_str("\"}]},\"uuid\":\"big-1\",\"timestamp\":\"2026-11-24T00:00:00Z\"}\n");
    assert!(serde_json::from_str::<serde_json::Value>(line.trim_end()).is_ok());
    line.into_bytes()
}

/// The damage the world does to a session file, each appended to a real one.
const DAMAGE: &[(&str, &[u8])] = &[
    ("a malformed line", b"{this is not json}\n"),
    ("a non-UTF-8 line", b"\xff\xfe{\"type\":\"user\"}\n"),
    ("a torn last line", b"{\"type\":\"assistant\",\"mess"),
];

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

/// Runs ccrescue as user `nobody` (the tests run as root, and root may write anywhere).
fn as_nobody(sb: &Sandbox, project: &Path, args: &[&str]) -> Ran {
    let mut cmd = sb.command(common::nobody_exe(sb), project);
    // std drops root's supplementary groups itself when it sets the uid.
    cmd.args(args).uid(65534).gid(65534);
    common::ran(run_with_timeout(cmd, std::time::Duration::from_secs(120)))
}

/// Makes `path` and every folder above it readable and searchable by everyone.
fn open_up(path: &Path) {
    let mut p = path.to_path_buf();
    loop {
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode | 0o555)).unwrap();
        if !p.pop() || p == Path::new("/") {
            break;
        }
    }
}

/// Readable to `nobody` but not writable: the session folder and its files are root's, 0755/0644.
fn readable_not_writable(s: &Setup) -> PathBuf {
    let dir = s.session.file.parent().unwrap().to_path_buf();
    open_up(&dir);
    open_up(&s.project);
    for e in fs::read_dir(&dir).unwrap().flatten() {
        let mode = if e.path().is_dir() { 0o755 } else { 0o644 };
        fs::set_permissions(e.path(), fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
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

/// A tmpfs of `bytes` mounted over `dir` with `dir`'s files copied in; unmounted on drop.
struct FullDisk {
    dir: PathBuf,
}

impl FullDisk {
    fn mount(dir: &Path, free: u64) -> FullDisk {
        let saved = dir.with_extension("saved");
        let status = Command::new("cp")
            .arg("-a")
            .arg(dir)
            .arg(&saved)
            .status()
            .unwrap();
        assert!(status.success());
        let used: u64 = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len().div_ceil(4096) * 4096)
            .sum();
        let size = used + free;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test needs a small tmpfs to fill (mount -t tmpfs as root): mount failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let guard = FullDisk {
            dir: dir.to_path_buf(),
        };
        let status = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", saved.display()))
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "copying the session onto the tmpfs");
        guard
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
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
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&dir), before, "every file as it was");
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    drop(disk);
}

// ---- trim ----

/// A real session with two screenshots read by claude (images in tool results).
fn screenshots() -> Setup {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("shots");
    let session = fixtures::screenshots(&mock, &sb, &project, 2).session;
    Setup {
        _mock: mock,
        sb,
        project,
        session,
    }
}

fn has_image(bytes: &[u8]) -> bool {
    // The PNG signature in base64: every screenshot's data starts with it.
    bytes.windows(12).any(|w| w == b"iVBORw0KGgoA")
}

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
