//! The session both restore test files start from: two states of one session the real claude
//! wrote, the first kept as a backup the way ccrescue makes one before a compaction.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use ccrescue::fsx;
use ccrescue_testbench::fixtures::{self, Session};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::Sandbox;

/// A session after its first turn (`a`, backed up) and after its second (`b`, the file now).
pub struct TwoStates {
    pub mock: MockApi,
    pub sb: Sandbox,
    pub project: PathBuf,
    pub session: Session,
    pub a: Vec<u8>,
    pub b: Vec<u8>,
    pub bak: PathBuf,
}

pub fn two_states() -> TwoStates {
    let mock = MockApi::start(vec![Rule::reply(Reply::text("Hello from the mock."))]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("restore");
    let (session, first) = fixtures::new_session(&sb, &project, "first turn", &[]);
    first.assert_success();
    let a = fs::read(&session.file).unwrap();
    let bak = fsx::backup_copy(&session.file).unwrap();
    assert_eq!(bak, with_suffix(&session.file, ".bak"));
    session.resume(&sb, "second turn", &[]).assert_success();
    let b = fs::read(&session.file).unwrap();
    assert_ne!(a, b, "the second turn changed the session");
    TwoStates {
        mock,
        sb,
        project,
        session,
        a,
        b,
        bak,
    }
}

pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}
