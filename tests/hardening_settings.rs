//! Issue 17 point 10: settings files that are not files. A FIFO at the project's
//! `.claude/settings.json` hung `ccrescue settings` (and `diagnose`) for ever; a user
//! `settings.json` linked to `/dev/zero` was read until memory ran out. Both are now reported as
//! problems of their layer, and the command goes on.
mod common;

use std::fs;
use std::path::Path;

use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{Sandbox, describe};
use common::ccrescue;

fn mkfifo(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_or_a_device_as_settings_file_is_reported_not_read() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("special");
    mkfifo(&project.join(".claude/settings.json"));
    let user = sb.config_dir().join("settings.json");
    fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &user).unwrap();
    fs::write(
        project.join(".claude/settings.local.json"),
        r#"{"model":"sonnet"}"#,
    )
    .unwrap();
    for args in [&["settings"][..], &["settings", "--fix", "--yes"]] {
        let out = ccrescue(&sb, &project, args);
        assert_eq!(out.code(), 0, "{args:?}: {}", describe(&out.output));
        let warnings = out
            .stdout
            .lines()
            .filter(|l| l.contains("not a regular file (a folder, a pipe or a device)"))
            .count();
        assert_eq!(warnings, 2, "{args:?}: {}", out.stdout);
        assert!(out.stdout.contains("sonnet"), "{}", out.stdout);
    }
    assert!(
        fs::symlink_metadata(&user)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
