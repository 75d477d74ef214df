//! Walking a part of a large session through a read-only mapping rather than reads: the kernel
//! copies nothing (its copy into the read buffers was a third of the CPU time of a 1 GiB scan,
//! and two threads' copies slowed each other; issue 12), and lines are handed out in place.
//! Pages already walked are let go as the walk moves on, so resident memory stays near
//! [`LET_GO_EVERY`] per part plus the longest line, as with reads (on Linux; macOS takes the
//! advice as a hint for clean file pages and may keep counting them). A mapping that another
//! program cuts short meanwhile ends ccrescue with a message ([`cut_short`]), not a crash.
//! Unix only: Windows refuses to replace a file by rename while another process maps it, and
//! the guard's hook may scan a session while a trim replaces it.
use std::fs::File;
use std::path::Path;

use memmap2::{Advice, MmapOptions, UncheckedAdvice};

use super::Scanner;
use super::cut_short;
use crate::session::lines::for_each_line_in;

/// Walked pages are let go once this many have gathered behind the walk.
const LET_GO_EVERY: usize = 8 << 20;

/// Scans the lines of `file` (the session at `path`) from `start` up to `end` into `state`
/// through a mapping. With `whole_lines`, only up to the last line end before `end`: the caller
/// reads the rest (a line being written, and whatever is appended meanwhile). Returns the bytes
/// scanned, or `None` when this part cannot be mapped (the file system does not map files, or
/// too many mappings are watched): the caller then reads it.
pub(super) fn scan(
    file: &File,
    path: &Path,
    state: &mut Scanner,
    start: u64,
    end: u64,
    whole_lines: bool,
) -> Option<u64> {
    let len = end
        .checked_sub(start)
        .filter(|&n| n > 0)
        .and_then(|n| usize::try_from(n).ok())?;
    // SAFETY: the mapping is read-only, and claude only appends to a session (bytes past `end`
    // are not mapped) and ccrescue replaces one by rename, which leaves a mapped file as it was.
    // Another program cutting it short meanwhile makes the next read of a lost page raise
    // SIGBUS, which `cut_short` turns into a message and exit 1 (a scan writes nothing); one
    // rewriting it in place would only change what is read (nothing here trusts a byte for
    // memory safety: every string is checked where it is decoded).
    let map = unsafe { MmapOptions::new().offset(start).len(len).map(file) }.ok()?;
    let _watch = cut_short::watch(&map, path)?;
    #[cfg(test)]
    if let Some(hook) = *tests::AFTER_MAPPING.lock().unwrap() {
        hook(path);
    }
    // Pages not cached yet are read ahead further (a cold 1 GiB session: 0.29–0.30 s in 8 runs
    // with it; without, 2 runs of 4 took 0.66 s). Cached ones: no difference measured.
    let _ = map.advise(Advice::Sequential);
    let stop = if whole_lines {
        memchr::memrchr(b'\n', &map).map_or(0, |i| i + 1)
    } else {
        len
    };
    let page = page_size();
    let base = map.as_ptr() as usize;
    let mut let_go = 0; // map[..let_go] is let go
    let scanned = for_each_line_in(
        &map[..stop],
        |done| {
            // Down to a page boundary: the page holding `done` is still being read.
            let upto = ((base + done) & !(page - 1)).saturating_sub(base);
            if upto >= let_go + LET_GO_EVERY {
                // SAFETY: the pages are mapped read-only from a file: dropping them loses
                // nothing, and no line handed out later lies in them (`done`).
                let _ = unsafe {
                    map.unchecked_advise_range(UncheckedAdvice::DontNeed, let_go, upto - let_go)
                };
                let_go = upto;
            }
        },
        |line| {
            state.line(line);
        },
    );
    Some(scanned)
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    use std::sync::Mutex;

    use super::*;
    use crate::session::scan::parts::scan_in_parts;
    use crate::session::scan::scan_bytes;

    /// Runs once a part is mapped and watched, before its walk (tests cut the file short there).
    pub(in crate::session::scan) static AFTER_MAPPING: Mutex<Option<fn(&Path)>> = Mutex::new(None);

    /// Set in the child process that a test runs to see it end.
    const IN_CHILD: &str = "CCRESCUE_TEST_MAPPED_CHILD";

    /// Runs test `name` alone in a child process with [`IN_CHILD`] set to `value`.
    fn in_child(name: &str, value: &str) -> std::process::Output {
        crate::test_child::run_alone(name, IN_CHILD, value)
    }

    /// Writes a session of `lines` lines as `name` in `dir`; returns its path, open.
    fn session_file(dir: &Path, name: &str, lines: usize) -> (std::path::PathBuf, File) {
        let path = dir.join(name);
        std::fs::write(&path, session(lines)).unwrap();
        let file = File::open(&path).unwrap();
        (path, file)
    }

    /// A session of `lines` lines of about 1 KB each.
    fn session(lines: usize) -> Vec<u8> {
        let mut data = vec![];
        for i in 0..lines {
            let pad = "x".repeat(900 + i % 97);
            writeln!(
                data,
                r#"{{"type":"user","uuid":"{i}","message":{{"content":"{pad}"}}}}"#
            )
            .unwrap();
        }
        data
    }

    #[test]
    fn a_session_cut_short_while_mapped_ends_ccrescue_with_a_message_not_a_crash() {
        if std::env::var_os(IN_CHILD).is_some() {
            let dir = tempfile::tempdir().unwrap();
            let (path, file) = session_file(dir.path(), "cut \x1b[31mshort.jsonl", 4000);
            let len = file.metadata().unwrap().len();
            if std::env::var_os(IN_CHILD).is_some_and(|v| v == "json") {
                cut_short::report_as_json();
            }
            *AFTER_MAPPING.lock().unwrap() = Some(|path| {
                let f = File::options().write(true).open(path).unwrap();
                f.set_len(0).unwrap();
            });
            // Four parts fault at once: the message is said once all the same.
            let _ = scan_in_parts(&file, Scanner::new(&path), len, 4);
            panic!("the scan of a file cut to nothing went on");
        }
        let name = "session::scan::mapped::tests::\
                    a_session_cut_short_while_mapped_ends_ccrescue_with_a_message_not_a_crash";
        // Several times: which parts fault first, and how close together, varies (when each
        // faulting part said it, about 1 run in 5 said it twice or three times).
        for _ in 0..10 {
            let out = in_child(name, "1");
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{said}");
            let message = "cut \\u{1b}[31mshort.jsonl: it became shorter while ccrescue was \
                           reading it (another program cut it short, or the disk failed to read \
                           it); ccrescue stopped there, and nothing was left half-written\n\
                           hint: run the command again\n";
            assert_eq!(said.matches(message).count(), 1, "{said}");
            assert_eq!(
                said.matches("error: cannot read session ").count(),
                1,
                "{said}"
            );
            assert!(
                !said.contains('\x1b'),
                "the file's name reached the terminal raw: {said}"
            );
        }
    }

    #[test]
    fn under_json_a_session_cut_short_is_also_a_json_error_on_stdout() {
        let name = "session::scan::mapped::tests::\
                    a_session_cut_short_while_mapped_ends_ccrescue_with_a_message_not_a_crash";
        let out = in_child(name, "json");
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("error: cannot read session "), "{said}");
        // stdout also holds the test harness's own lines, before the JSON.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = &stdout[stdout.find('{').expect("a JSON object on stdout")..];
        let doc: serde_json::Value = serde_json::from_str(json).unwrap();
        let error = &doc["error"];
        assert_eq!(error["exit_code"], 1, "{doc:#}");
        assert_eq!(error["hint"], "run the command again");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with("cannot read session ")
                && message.ends_with(
                    "cut \x1b[31mshort.jsonl: it became shorter while ccrescue was reading it \
                     (another program cut it short, or the disk failed to read it); ccrescue \
                     stopped there, and nothing was left half-written"
                ),
            "{message}"
        );
        assert!(
            !json.contains('\x1b'),
            "JSON escapes control characters: {json}"
        );
    }

    #[test]
    fn a_fault_on_memory_nobody_watches_ends_the_process_as_before() {
        if std::env::var_os(IN_CHILD).is_some() {
            let dir = tempfile::tempdir().unwrap();
            let (watched, file) = session_file(dir.path(), "watched.jsonl", 10);
            // SAFETY: nothing changes this file.
            let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
            let _watch = cut_short::watch(&map, &watched).expect("the handler is installed");
            let other = dir.path().join("other");
            std::fs::write(&other, vec![b'a'; 3 * 65536]).unwrap();
            let file = File::open(&other).unwrap();
            // SAFETY: the read below faults on purpose; nothing else reads this mapping.
            let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
            File::options()
                .write(true)
                .open(&other)
                .unwrap()
                .set_len(0)
                .unwrap();
            // SAFETY: a read of mapped memory whose page is gone: SIGBUS, as the test wants.
            let byte = unsafe { std::ptr::read_volatile(map.as_ptr().add(2 * 65536)) };
            panic!("read {byte} from a page past the end of the file");
        }
        let name = "session::scan::mapped::tests::\
                    a_fault_on_memory_nobody_watches_ends_the_process_as_before";
        let out = in_child(name, "1");
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGBUS),
            "{:?} {said}",
            out.status
        );
        assert!(!said.contains("cannot read session"), "{said}");
    }

    #[test]
    fn lines_appended_after_the_scan_began_are_read_past_the_mapping() {
        let data = session(40_000); // 40 MB: several pages to let go per part
        let whole = format!("{:#?}", scan_bytes(&data));
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        // The scan began when the file was shorter: ending on a line end, inside a line, and
        // near its start. Every byte is scanned, once, as if scanned in one piece. (One part
        // is mapped only from 32 MiB on, as on a one-core machine: smaller, it is read.)
        let large = data.len() * 7 / 8 + 3;
        assert!(large >= 32 << 20);
        let cases = [
            (data.len() / 2, 2),
            (data.len() / 2 + 7, 2),
            (data.len() * 3 / 4 + 1, 3),
            (3, 2),
            (large, 1),
            (large, 3),
        ];
        for (began, parts) in cases {
            let (state, bytes) =
                scan_in_parts(&file, Scanner::default(), began as u64, parts).unwrap();
            assert_eq!(bytes, data.len() as u64, "began at {began}, {parts} parts");
            let show = format!("began at {began}, {parts} parts");
            assert_eq!(format!("{:#?}", state.finish(bytes)), whole, "{show}");
        }
        // A torn last line, which the mapping stops before, is read and flagged.
        file.write_all(b"{\"type\":\"user\",\"torn").unwrap();
        let len = file.metadata().unwrap().len();
        let (state, bytes) = scan_in_parts(&file, Scanner::default(), len, 2).unwrap();
        let scan = state.finish(bytes);
        assert_eq!(bytes, len);
        assert!(scan.torn_last_line && scan.malformed == 1, "{scan:#?}");
        assert_eq!(scan.lines, 40_001);
    }
}
