//! Helpers shared by ccrescue's integration tests: run the built binary in a sandbox and read
//! what it printed, and snapshot a folder tree to prove nothing was written.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use std::ffi::OsStr;

use ccrescue_testbench::sandbox::{RUN_TIMEOUT, Sandbox, describe, run_with_timeout};
use serde_json::Value;

/// The ccrescue binary under test.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ccrescue"))
}

/// The sandbox folder holding the copy of ccrescue that `nobody` runs ([`snapshot`] skips it: it
/// is the test's own file, not something ccrescue wrote).
const NOBODY_BIN: &str = "nobody-bin";

/// A copy of the ccrescue binary that user `nobody` can run, inside the sandbox. The tests run as
/// root and drop to `nobody` to make "permission denied" possible; the binary itself may sit in a
/// folder `nobody` cannot enter (CI clones into a fresh 0700 temp folder), so they run this copy.
pub fn nobody_exe(sb: &Sandbox) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = sb.root().join(NOBODY_BIN);
    let copy = dir.join("ccrescue");
    if !copy.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(exe(), &copy).unwrap();
    }
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Every folder from the copy up to / must be searchable by others.
    let mut p = dir;
    loop {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | 0o111)).unwrap();
        if !p.pop() || p == Path::new("/") {
            break;
        }
    }
    copy
}

/// One finished ccrescue run.
pub struct Ran {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn code(&self) -> i32 {
        self.output
            .status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal\n{}", describe(&self.output)))
    }

    /// Panics with everything printed unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "unexpected exit code\n{}",
            describe(&self.output)
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", describe(&self.output)))
    }
}

/// Runs ccrescue in `project` with the sandbox's environment (so it finds the sandbox's claude
/// on PATH and `~/.claude` in the sandbox's HOME).
pub fn ccrescue(sb: &Sandbox, project: &Path, args: &[&str]) -> Ran {
    ccrescue_with(sb, project, args, &[])
}

/// [`ccrescue`] with extra arguments that need not be UTF-8 and extra environment variables.
pub fn ccrescue_with<A: AsRef<OsStr>>(
    sb: &Sandbox,
    project: &Path,
    args: &[A],
    env: &[(&str, &OsStr)],
) -> Ran {
    let mut cmd = sb.command(exe(), project);
    cmd.args(args).envs(env.iter().copied());
    ran(run_with_timeout(cmd, RUN_TIMEOUT))
}

/// What a finished ccrescue run printed.
pub fn ran(output: Output) -> Ran {
    Ran {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

/// Every file under `dir` with its length, mode and content hash, to compare before and after.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, u64)> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() && p.file_name() == Some(OsStr::new(NOBODY_BIN)) {
                continue;
            }
            if meta.is_dir() {
                stack.push(p);
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap_or_default().hash(&mut h);
                out.insert(p, (meta.len(), meta.permissions().mode(), h.finish()));
            }
        }
    }
    out
}

/// How many base64 image or document blocks a `message.content` value holds, at any depth of
/// `tool_result` nesting.
pub fn base64_media_in(content: &Value) -> usize {
    match content {
        Value::Array(items) => items.iter().map(base64_media_in).sum(),
        Value::Object(b) => {
            usize::from(
                matches!(
                    b.get("type").and_then(Value::as_str),
                    Some("image" | "document")
                ) && b.get("source").is_some_and(|s| s["type"] == "base64"),
            ) + b.get("content").map_or(0, base64_media_in)
        }
        _ => 0,
    }
}
