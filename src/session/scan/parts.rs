//! Scanning a large session in parts side by side. The file is cut at line ends into one part
//! per core (at most [`MAX_PARTS`], each at least [`MIN_PART`]); each part is scanned on its own
//! thread, through a mapping on unix ([`mapped`]) or its own small read buffer, and the scans
//! are joined in file order ([`Scanner::then`]). Why: one core parses at 3–5 GB/s while the
//! kernel copies cached pages at 10–14 GB/s, so a scan on one core took 2–3× `cat` of the same
//! file (issue 12); the parts read and parse at once. Every part works on the same descriptor,
//! at its own offsets; the last one also reads what is appended while the scan runs.
use std::fs::File;
use std::io::{self, Read};
use std::panic;
use std::path::Path;
use std::thread;

use super::Scanner;
#[cfg(unix)]
use super::mapped;
use crate::session::lines::for_each_line;

/// A part smaller than this is not worth a thread.
const MIN_PART: u64 = 16 << 20;
/// Each part holds a buffer of its own (4 MiB plus its longest line): memory grows with parts.
const MAX_PARTS: usize = 4;
/// How far past a part's nominal start its first line end is looked for; a line longer than
/// that there (one huge tool result) leaves the part joined to the one before.
const FIND_LINE_END: u64 = 8 << 20;

/// Scans `file` from its start to its end (read until then: lines appended meanwhile count),
/// `first` taking the first part. Returns the scan and the bytes read.
pub(super) fn scan_file(file: &File, first: Scanner) -> io::Result<(Scanner, u64)> {
    let len = file.metadata()?.len();
    let parts = if len >= 2 * MIN_PART {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        cores.min(MAX_PARTS).min((len / MIN_PART) as usize)
    } else {
        1
    };
    scan_in_parts(file, first, len, parts)
}

/// [`scan_file`] with `parts` parts, if `file` (of `len` bytes) has line ends to cut at.
pub(super) fn scan_in_parts(
    file: &File,
    first: Scanner,
    len: u64,
    parts: usize,
) -> io::Result<(Scanner, u64)> {
    scan_in_parts_with(file, first, len, parts, None)
}

/// [`scan_in_parts`] with threads of `stack` bytes of stack (the default when `None`; tests ask
/// for one no system gives, to see a thread fail to start).
fn scan_in_parts_with(
    file: &File,
    first: Scanner,
    len: u64,
    parts: usize,
    stack: Option<usize>,
) -> io::Result<(Scanner, u64)> {
    if parts <= 1 && len < 2 * MIN_PART {
        // One part of a small file: plain reads from the start, which also work on a pipe (no
        // offsets). A large file in one part (one core) goes on, to be mapped.
        let mut state = first;
        let bytes = for_each_line(file, |line| {
            state.line(line);
        })?;
        return Ok((state, bytes));
    }
    let path = first.so_far().path.clone();
    let session = Session {
        file,
        path: &path,
        len,
    };
    let cuts = cuts(file, len, parts)?;
    let Some(&first_end) = cuts.first() else {
        // No line end to cut at. Read at offsets still: on Windows, looking for one moved the
        // file's position (`seek_read`).
        return scan_part(session, first, 0, None);
    };
    // Part i runs from cuts[i-1] (0 for the first) to cuts[i] (the end of the file, for the last).
    let later: Vec<(u64, Option<u64>)> = cuts
        .iter()
        .enumerate()
        .map(|(i, &start)| (start, cuts.get(i + 1).copied()))
        .collect();
    thread::scope(|s| {
        let threads: Vec<_> = later
            .into_iter()
            .map(|(start, end)| {
                let mut builder = thread::Builder::new().name("scan part".into());
                if let Some(size) = stack {
                    builder = builder.stack_size(size);
                }
                let thread = builder.spawn_scoped(s, move || {
                    scan_part(session, Scanner::default(), start, end)
                });
                // A thread that cannot start (a limit on processes, no memory): its part is
                // scanned on this one, in turn.
                (start, end, thread.ok())
            })
            .collect();
        let (mut state, mut bytes) = scan_part(session, first, 0, Some(first_end))?;
        for (start, end, thread) in threads {
            let (part, read) = match thread {
                Some(t) => t.join().unwrap_or_else(|p| panic::resume_unwind(p))?,
                None => scan_part(session, Scanner::default(), start, end)?,
            };
            state = state.then(part);
            bytes += read;
        }
        Ok((state, bytes))
    })
}

/// The file being scanned, as each part needs it.
#[derive(Clone, Copy)]
#[cfg_attr(not(unix), allow(dead_code))] // path and len serve the mapping
struct Session<'a> {
    file: &'a File,
    path: &'a Path,
    /// Its length when the scan began.
    len: u64,
}

/// Scans the lines from `start` to `end` (or to the end of the file) into `state`: on unix
/// through a mapping ([`mapped`]) where the file allows one, else by reads.
#[cfg_attr(not(unix), allow(unused_mut))]
fn scan_part(
    session: Session<'_>,
    mut state: Scanner,
    start: u64,
    end: Option<u64>,
) -> io::Result<(Scanner, u64)> {
    #[cfg(unix)]
    {
        let to = end.unwrap_or(session.len);
        let last = end.is_none();
        if let Some(mapped) = mapped::scan(session.file, session.path, &mut state, start, to, last)
        {
            if !last {
                return Ok((state, mapped));
            }
            // The last part: the lines past the mapping are read, those appended meanwhile too.
            let (rest, read) = read_part(session.file, Scanner::default(), start + mapped, None)?;
            return Ok((state.then(rest), mapped + read));
        }
    }
    read_part(session.file, state, start, end)
}

/// [`scan_part`] by reads.
fn read_part(
    file: &File,
    mut state: Scanner,
    start: u64,
    end: Option<u64>,
) -> io::Result<(Scanner, u64)> {
    let part = Part {
        file,
        pos: start,
        end,
    };
    let bytes = for_each_line(part, |line| {
        state.line(line);
    })?;
    Ok((state, bytes))
}

/// Where the parts after the first begin: just past a line end, in increasing order.
fn cuts(file: &File, len: u64, parts: usize) -> io::Result<Vec<u64>> {
    let mut cuts: Vec<u64> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    for i in 1..parts as u64 {
        let from = (len / parts as u64 * i).max(cuts.last().copied().unwrap_or(0));
        if let Some(cut) = line_end_from(file, from, len, &mut buf)?
            && cut < len
            && cuts.last() != Some(&cut)
        {
            cuts.push(cut);
        }
    }
    Ok(cuts)
}

/// The offset just past the first `\n` at or after `from`, looked for up to [`FIND_LINE_END`].
fn line_end_from(file: &File, from: u64, len: u64, buf: &mut [u8]) -> io::Result<Option<u64>> {
    let stop = len.min(from.saturating_add(FIND_LINE_END));
    let mut pos = from;
    while pos < stop {
        let n = match read_at(file, buf, pos) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(pos + i as u64 + 1));
        }
        pos += n as u64;
    }
    Ok(None)
}

/// A byte range of a file, read at its own offsets (the file's position is not used).
struct Part<'a> {
    file: &'a File,
    pos: u64,
    end: Option<u64>,
}

impl Read for Part<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.end {
            Some(end) => buf
                .len()
                .min(usize::try_from(end.saturating_sub(self.pos)).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// (`seek_read` also moves the file's position, which nothing here uses.)
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::*;
    use crate::session::scan_tests::corpus_sessions;

    fn scan_path(path: &Path, parts: usize) -> String {
        let file = File::open(path).unwrap();
        let len = file.metadata().unwrap().len();
        let (state, bytes) = scan_in_parts(&file, Scanner::new(path), len, parts).unwrap();
        assert_eq!(bytes, len, "every byte read once");
        format!("{:#?}", state.finish(bytes))
    }

    #[test]
    fn corpus_sessions_scan_the_same_on_threads() {
        let mut largest = 0;
        for path in corpus_sessions() {
            let one = scan_path(&path, 1);
            for parts in [2, 3, 4] {
                let show = format!("{} in {parts}", path.display());
                assert_eq!(scan_path(&path, parts), one, "{show}");
            }
            largest = largest.max(path.metadata().unwrap().len());
        }
        assert!(
            largest > 1 << 20,
            "the corpus has sessions of more than 1 MiB"
        );
    }

    #[test]
    fn parts_whose_thread_cannot_start_are_scanned_on_this_one() {
        let path = corpus_sessions()
            .into_iter()
            .max_by_key(|p| p.metadata().unwrap().len())
            .expect("a corpus session");
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        // No system gives a thread a stack of half the address space.
        let huge = Some(usize::MAX / 2);
        let (state, bytes) = scan_in_parts_with(&file, Scanner::new(&path), len, 3, huge).unwrap();
        assert_eq!(bytes, len);
        assert_eq!(format!("{:#?}", state.finish(bytes)), scan_path(&path, 1));
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_read_in_one_part_without_offsets() {
        let (reader, mut writer) = io::pipe().unwrap();
        writer.write_all(b"{\"type\":\"user\"}\n{}\n").unwrap();
        drop(writer);
        let pipe = File::from(std::os::fd::OwnedFd::from(reader));
        let (state, bytes) = scan_file(&pipe, Scanner::default()).unwrap();
        assert_eq!(bytes, 19);
        assert_eq!(state.finish(bytes).records, 2);
    }

    #[test]
    fn parts_begin_after_a_line_end_and_a_huge_line_is_not_cut() {
        let mut file = tempfile::tempfile().unwrap();
        let short = b"{\"type\":\"user\"}\n".repeat(1000);
        file.write_all(&short).unwrap();
        let len = short.len() as u64;
        let cuts = cuts(&file, len, 4).unwrap();
        assert_eq!(cuts.len(), 3);
        for cut in cuts {
            assert_eq!(cut % 16, 0, "cut at {cut}, not after a line end");
        }
        // A line longer than FIND_LINE_END around the middle: no line end is near it.
        let huge = vec![b'a'; 2 * FIND_LINE_END as usize];
        file.write_all(&huge).unwrap();
        file.write_all(b"\n{}\n").unwrap();
        let len = len + huge.len() as u64 + 4;
        assert_eq!(super::cuts(&file, len, 2).unwrap(), Vec::<u64>::new());
        assert_eq!(super::cuts(&file, len, 1).unwrap(), Vec::<u64>::new());
        // Then the whole file is one part, read from its start wherever the file's position is
        // (here at the end, after the writes; on Windows the search for a cut moves it too).
        let (state, bytes) = scan_in_parts(&file, Scanner::default(), len, 2).unwrap();
        assert_eq!(bytes, len);
        assert_eq!(state.finish(bytes).lines, 1002);
    }
}
