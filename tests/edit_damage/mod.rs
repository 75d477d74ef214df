//! What the bad-input tests of the editing commands share: a real session (healthy, or with two
//! screenshots), the damage the world does to a session file, running ccrescue as `nobody` (the
//! tests run as root, and root may write anywhere) and a full disk (a small tmpfs mounted over the
//! session folder).
#![allow(dead_code)] // each test file uses its own part

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ccrescue_testbench::fixtures::{self, Session};
use ccrescue_testbench::mock::{MockApi, Reply, Rule};
use ccrescue_testbench::sandbox::{Sandbox, run_with_timeout};

use crate::common::{self, Ran};

pub struct Setup {
    _mock: MockApi,
    pub sb: Sandbox,
    pub project: PathBuf,
    pub session: Session,
}

pub fn setup() -> Setup {
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

pub fn append(path: &Path, bytes: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ccrescue-"))
        .collect()
}

/// A valid user record holding one text tool result of about `bytes` bytes.
pub fn big_record(bytes: usize) -> Vec<u8> {
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
pub const DAMAGE: &[(&str, &[u8])] = &[
    ("a malformed line", b"{this is not json}\n"),
    ("a non-UTF-8 line", b"\xff\xfe{\"type\":\"user\"}\n"),
    ("a torn last line", b"{\"type\":\"assistant\",\"mess"),
];

/// Runs ccrescue as user `nobody` (the tests run as root, and root may write anywhere).
pub fn as_nobody(sb: &Sandbox, project: &Path, args: &[&str]) -> Ran {
    let mut cmd = sb.command(common::nobody_exe(sb), project);
    // std drops root's supplementary groups itself when it sets the uid.
    cmd.args(args).uid(65534).gid(65534);
    common::ran(run_with_timeout(cmd, std::time::Duration::from_secs(120)))
}

/// Makes `path` and every folder above it readable and searchable by everyone.
pub fn open_up(path: &Path) {
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
pub fn readable_not_writable(s: &Setup) -> PathBuf {
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

/// A tmpfs of `bytes` mounted over `dir` with `dir`'s files copied in; unmounted on drop.
pub struct FullDisk {
    dir: PathBuf,
}

impl FullDisk {
    pub fn mount(dir: &Path, free: u64) -> FullDisk {
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

/// A real session with two screenshots read by claude (images in tool results).
pub fn screenshots() -> Setup {
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

pub fn has_image(bytes: &[u8]) -> bool {
    // The PNG signature in base64: every screenshot's data starts with it.
    bytes.windows(12).any(|w| w == b"iVBORw0KGgoA")
}
