//! ccrescue's own temp files left behind by a ccrescue that is gone (a SIGKILL, a power cut):
//! found by their name, which holds the pid that made them, and removed once that process no
//! longer runs; a running ccrescue's temp files are left alone.
use std::fs;
use std::path::{Path, PathBuf};

use super::{TEMP_MARK, TEMP_SUFFIX, resolve};

/// Sweeps the stale temp files beside `file` (beside its target, when it is a symlink, where
/// `replace` puts them) and tells `say` about each one removed, in words for the user.
pub fn sweep_stale_temps_beside(file: &Path, mut say: impl FnMut(&str)) {
    if let Some(folder) = resolve(file).parent() {
        for stale in sweep_stale_temps(folder) {
            say(&format!(
                "removed {}, left behind by an interrupted ccrescue",
                stale.display()
            ));
        }
    }
}

/// Removes ccrescue's own temp files in `dir` whose process is gone (left by a SIGKILL or a power
/// cut); returns the paths removed. Temp files of a ccrescue still running are left alone.
pub fn sweep_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut removed = vec![];
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) && fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// The pid in a temp file name `.<name>.ccrescue-<pid>.tmp`.
pub(super) fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (_, pid) = rest.rsplit_once(TEMP_MARK)?;
    pid.parse().ok()
}

fn process_alive(pid: u32) -> bool {
    let Ok(mut sys) = sysinfo::System::new() else {
        return true; // cannot tell: keep the file
    };
    let pid = sysinfo::Pid::from_u32(pid);
    sys.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing(),
    );
    sys.process(pid).is_some()
}
