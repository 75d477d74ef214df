//! Issue 17, the file side seen from the command line: a read-only session its owner restores
//! (point 14: the temp copy was made 0444 and then reopened for writing), `--prune DAYS` out
//! of range (point 3: 2^32 days wrapped round to 0 and deleted fresh backups), and a project
//! folder `sessions --all-projects` may not read. The user is `nobody` (the tests run as root,
//! and root may read and write anything).
mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;

use ccrescue::fsx;
use ccrescue_testbench::fixtures;
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{Sandbox, describe, run_with_timeout};
use common::{Ran, ccrescue, snapshot};

fn as_nobody(sb: &Sandbox, project: &Path, args: &[&str]) -> Ran {
    let mut cmd = sb.command(common::nobody_exe(sb), project);
    cmd.args(args).uid(65534).gid(65534);
    common::ran(run_with_timeout(cmd, std::time::Duration::from_secs(120)))
}

/// `path` and every folder above it searchable by everyone; `path` itself nobody's.
fn give_to_nobody(path: &Path) {
    let mut p = path.to_path_buf();
    while p.pop() && p != Path::new("/") {
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode | 0o111)).unwrap();
    }
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
}

#[test]
fn a_read_only_session_is_restored_by_its_owner_and_stays_read_only() {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Hello from the mock."))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("readonly");
    let session = fixtures::healthy(&mock, &sb, &project).session;
    let bak = fsx::backup_copy(&session.file).unwrap();
    let backed_up = fs::read(&bak).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&session.file)
        .unwrap()
        .write_all(b"{\"type\":\"user\",\"later\":true}\n")
        .unwrap();
    let dir = session.file.parent().unwrap();
    // The session folder and its files belong to nobody; the session is read-only (0444).
    give_to_nobody(&project);
    give_to_nobody(dir);
    for e in fs::read_dir(dir).unwrap().flatten() {
        give_to_nobody(&e.path());
    }
    fs::set_permissions(&session.file, fs::Permissions::from_mode(0o444)).unwrap();

    let out = as_nobody(&sb, &project, &["restore", "--yes"]);
    assert_eq!(out.code(), 0, "{}", describe(&out.output));
    assert!(out.stdout.contains("Restored "), "{}", out.stdout);
    assert_eq!(fs::read(&session.file).unwrap(), backed_up);
    let meta = fs::metadata(&session.file).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o444, "still read-only");
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "still nobody's");
    let temps: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ccrescue-"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn prune_refuses_a_number_of_days_out_of_range_and_deletes_nothing() {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Hello from the mock."))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("prune");
    let session = fixtures::healthy(&mock, &sb, &project).session;
    fsx::backup_copy(&session.file).unwrap();
    fsx::backup_copy(&session.file).unwrap();
    let before = snapshot(sb.root());
    for days in ["4294967296", "18446744073709551615", "36501"] {
        let out = ccrescue(&sb, &project, &["restore", "--prune", days, "--yes"]);
        assert_eq!(out.code(), 2, "{days}: {}", describe(&out.output));
        assert!(
            out.stderr
                .contains(&format!("invalid value '{days}' for '--prune <DAYS>'")),
            "{}",
            out.stderr
        );
        assert_eq!(snapshot(sb.root()), before, "{days}: nothing deleted");
    }
    let kept = ccrescue(&sb, &project, &["restore", "--prune", "36500", "--yes"]).expect_code(0);
    assert!(
        kept.stdout
            .contains("older than 36500 day(s); nothing deleted (2 kept)"),
        "{}",
        kept.stdout
    );
}

#[test]
fn sessions_all_projects_names_an_unreadable_project_and_lists_the_others() {
    // Found by a review: one project folder nobody may read (left root's by a `sudo claude`)
    // failed the whole listing.
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Hello from the mock."))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("readable");
    let session = fixtures::healthy(&mock, &sb, &project).session;
    let dir = session.file.parent().unwrap();
    give_to_nobody(&project);
    give_to_nobody(dir);
    for e in fs::read_dir(dir).unwrap().flatten() {
        give_to_nobody(&e.path());
    }
    let projects = dir.parent().unwrap();
    fs::set_permissions(projects, fs::Permissions::from_mode(0o755)).unwrap();
    let closed = projects.join("-root-only");
    fs::create_dir(&closed).unwrap();
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).unwrap();

    let out = as_nobody(&sb, &project, &["sessions", "--all-projects"]);
    assert_eq!(out.code(), 0, "{}", describe(&out.output));
    assert!(out.stdout.contains(&session.id), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "warning: cannot list the session folder {}: Permission denied",
            closed.display()
        )) && out.stderr.contains("(skipped)"),
        "{}",
        out.stderr
    );
}
