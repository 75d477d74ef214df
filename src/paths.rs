//! Where claude keeps things: the config root, the project's session folder (claude's exact slug
//! rule), and the session files in it. Pure functions plus directory listings; nothing is written.
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result};

/// Longest slug claude uses verbatim; longer ones are cut and get a hash suffix.
const MAX_SLUG: usize = 200;

/// The config root: `--config-dir`, else `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn config_root(flag: Option<&Path>, env_value: Option<&OsStr>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return absolute(dir);
    }
    if let Some(dir) = env_value.filter(|v| !v.is_empty()) {
        return absolute(Path::new(dir));
    }
    let home = dirs::home_dir().context("cannot find your home folder: pass --config-dir")?;
    Ok(home.join(".claude"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

/// claude's project folder name for a working directory (reference §2): every UTF-16 unit outside
/// `[A-Za-z0-9]` becomes `-`; past 200 units, the first 200, `-`, and base36 of a Java string hash.
pub fn project_slug(real_path: &str) -> String {
    let units: Vec<u16> = real_path.encode_utf16().collect();
    let slug: String = units
        .iter()
        .map(|&u| match u8::try_from(u) {
            Ok(c) if c.is_ascii_alphanumeric() => c as char,
            _ => '-',
        })
        .collect();
    if slug.len() <= MAX_SLUG {
        return slug;
    }
    let hash = units
        .iter()
        .fold(0i32, |h, &u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
    format!(
        "{}-{}",
        &slug[..MAX_SLUG],
        base36(i64::from(hash).unsigned_abs())
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![];
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// The folder holding a project's sessions. `dir_name_override` is
/// `CLAUDE_CODE_PROJECT_DIR_NAME`, which claude honours only with an explicit config dir and only
/// from 2.1.234: when its folder does not exist but the slug's does, the slug's is the one in use.
pub fn project_sessions_dir(
    root: &Path,
    project: &Path,
    dir_name_override: Option<&OsStr>,
) -> Result<PathBuf> {
    // dunce: on Windows, std's canonical form starts with `\\?\`, which claude's slug lacks.
    let real = dunce::canonicalize(project)
        .with_context(|| format!("cannot open the project folder {}", project.display()))?;
    let by_slug = root
        .join("projects")
        .join(project_slug(&real.to_string_lossy()));
    match dir_name_override.filter(|n| !n.is_empty()) {
        Some(name) if root.join("projects").join(name).is_dir() || !by_slug.is_dir() => {
            Ok(root.join("projects").join(name))
        }
        _ => Ok(by_slug),
    }
}

/// The folder claude runs in for a session: the working directory the session recorded, or the
/// project folder when that one is gone (renamed or deleted; the slug still matched) or was
/// never recorded. The second value is the gone folder, to tell the user.
pub fn run_folder<'a>(recorded: Option<&'a str>, project: &Path) -> (PathBuf, Option<&'a str>) {
    match recorded {
        Some(cwd) if Path::new(cwd).is_dir() => (PathBuf::from(cwd), None),
        Some(gone) => (project.to_owned(), Some(gone)),
        None => (project.to_owned(), None),
    }
}

/// True for a canonical UUID (`8-4-4-4-12` hex digits), the form of claude's session ids.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `path` made absolute and with `.`/`..` resolved lexically (no file system access, so a path
/// that does not exist yet can still be checked).
pub fn normalize(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in absolute(path)?.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// True when `path` lies inside `<root>/projects`: lexically, after normalising both, or once
/// the folders above both are resolved (a `~/.claude` that is a symlink, named by its target).
/// The file itself is not followed: a session linked to elsewhere is inside where its link is.
pub fn is_inside_projects(root: &Path, path: &Path) -> Result<bool> {
    let projects = normalize(&root.join("projects"))?;
    let p = normalize(path)?;
    if p.starts_with(&projects) && p != projects {
        return Ok(true);
    }
    let real = |p: &Path| dunce::canonicalize(p).ok();
    Ok(
        match (real(&projects), p.parent().and_then(real), p.file_name()) {
            (Some(projects), Some(folder), Some(_)) => folder.starts_with(&projects),
            _ => false,
        },
    )
}

/// One `.jsonl` file in a project folder.
#[derive(Debug, Clone)]
pub struct SessionFile {
    pub id: String,
    pub path: PathBuf,
    pub modified: SystemTime,
    pub bytes: u64,
    pub is_symlink: bool,
}

impl SessionFile {
    /// Reads the file's metadata (following a symlink, noting that it was one).
    pub fn at(path: PathBuf) -> io::Result<Self> {
        let link = fs::symlink_metadata(&path)?;
        let meta = fs::metadata(&path)?;
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(SessionFile {
            id,
            modified: meta.modified()?,
            bytes: meta.len(),
            is_symlink: link.file_type().is_symlink(),
            path,
        })
    }
}

/// The session files of a project folder, newest first (the order `claude -p --continue` uses).
/// Only files named `<uuid>.jsonl` are sessions: claude 2.0.x writes its subagents' transcripts
/// beside them as `agent-<id>.jsonl`, and those belong to their parent session (later versions
/// put them in `<session>/subagents/`, a folder, which a listing of files never meets). Nothing
/// else may reach claude's `--resume`, either (issue 17.5: a file named like a flag would).
/// A missing folder is an empty list; an unreadable one is an error naming it.
pub fn list_sessions(dir: &Path) -> Result<Vec<SessionFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot list the session folder {}", dir.display()));
        }
    };
    let mut out = vec![];
    for entry in entries {
        let entry =
            entry.with_context(|| format!("cannot list the session folder {}", dir.display()))?;
        let path = entry.path();
        if !is_session_file_name(&path) {
            continue;
        }
        match SessionFile::at(path) {
            Ok(f) if f.path.is_file() => out.push(f),
            Ok(_) => {}
            // A dangling symlink or a file removed while listing: not a session to offer.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", entry.path().display()));
            }
        }
    }
    out.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// True for `<uuid>.jsonl`, the only name claude gives a session file.
pub fn is_session_file_name(path: &Path) -> bool {
    path.extension() == Some(OsStr::new("jsonl"))
        && path
            .file_stem()
            .and_then(OsStr::to_str)
            .is_some_and(is_uuid)
}

/// Every project folder under `<root>/projects`, by name.
pub fn list_project_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let projects = root.join("projects");
    let entries = match fs::read_dir(&projects) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", projects.display())),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_replaces_every_non_alphanumeric_unit() {
        assert_eq!(project_slug("/home/u/p.dots.v1"), "-home-u-p-dots-v1");
        assert_eq!(
            project_slug("/home/u/p_under score"),
            "-home-u-p-under-score"
        );
        assert_eq!(project_slug("/tmp/~x@y"), "-tmp--x-y");
        assert_eq!(project_slug("/tmp/é"), "-tmp--", "one BMP unit, one dash");
        assert_eq!(
            project_slug("/tmp/😀"),
            "-tmp---",
            "a surrogate pair is two units"
        );
        assert_eq!(project_slug("C:\\Users\\me\\proj"), "C--Users-me-proj");
    }

    #[test]
    fn long_slugs_are_cut_and_hashed_like_java() {
        // The hash is Java's String.hashCode: "abc".hashCode() == 96354.
        let h = "abc"
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
        assert_eq!(h, 96354);
        let path = format!("/tmp/{}", "a".repeat(250));
        let slug = project_slug(&path);
        let hash = path
            .encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
        assert_eq!(
            slug,
            format!(
                "{}-{}",
                &project_slug(&path[..200]),
                base36(i64::from(hash).unsigned_abs())
            )
        );
        assert_eq!(
            slug.len(),
            201 + base36(i64::from(hash).unsigned_abs()).len()
        );
        assert_eq!(
            project_slug(&"/x".repeat(100)).len(),
            200,
            "exactly 200 stays as it is"
        );
    }

    #[test]
    fn base36_digits() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(i64::from(i32::MIN).unsigned_abs()), "zik0zk");
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("55fc1a2b-0c3d-4e5f-8a9b-0123456789ab"));
        assert!(!is_uuid("55fc1a2b-0c3d-4e5f-8a9b-0123456789a"));
        assert!(!is_uuid("55fc1a2b00c3d-4e5f-8a9b-0123456789ab"));
        assert!(!is_uuid("../../etc/passwd"));
    }

    #[test]
    fn path_escapes_are_seen_through() {
        let root = Path::new("/r/.claude");
        assert!(is_inside_projects(root, Path::new("/r/.claude/projects/p/x.jsonl")).unwrap());
        assert!(
            !is_inside_projects(root, Path::new("/r/.claude/projects/p/../../secret.jsonl"))
                .unwrap()
        );
        assert!(!is_inside_projects(root, Path::new("/r/.claude/projects")).unwrap());
        assert!(!is_inside_projects(root, Path::new("/etc/passwd")).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_config_dir_that_is_a_symlink_takes_its_target_s_paths_too() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("claude-data");
        fs::create_dir_all(real.join("projects/-p")).unwrap();
        fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
        let root = tmp.path().join(".claude");
        std::os::unix::fs::symlink(&real, &root).unwrap();
        let inside = real.join("projects/-p/x.jsonl");
        assert!(is_inside_projects(&root, &inside).unwrap());
        assert!(is_inside_projects(&root, &root.join("projects/-p/x.jsonl")).unwrap());
        assert!(!is_inside_projects(&root, &real.join("projects")).unwrap());
        assert!(!is_inside_projects(&root, &tmp.path().join("elsewhere/x.jsonl")).unwrap());
        assert!(!is_inside_projects(&root, &real.join("x.jsonl")).unwrap());
    }

    #[test]
    fn config_root_precedence() {
        // Absolute on every platform (`/a` is not, on Windows).
        let (a, b) = (
            std::env::temp_dir().join("a"),
            std::env::temp_dir().join("b"),
        );
        assert_eq!(config_root(Some(&a), Some(b.as_os_str())).unwrap(), a);
        assert_eq!(config_root(None, Some(b.as_os_str())).unwrap(), b);
        assert!(config_root(None, None).unwrap().ends_with(".claude"));
    }
}
