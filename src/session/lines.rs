//! Streams a file line by line through one reusable buffer: memory stays at the buffer size plus
//! the longest line, and lines are handed out while they are still in the CPU cache. UTF-8 is
//! checked per read, right after it, and only lines that hold an error are checked again alone.
use std::io::{self, Read};

use memchr::memchr_iter;

/// Initial buffer size: room for several reads, so that the unfinished line at the end of the
/// buffer is moved to its start once every few reads rather than after each (with 1 MiB reads,
/// moving after each copied a tenth of a session of long image lines once more).
const CHUNK: usize = 4 << 20;
/// Bytes asked for per read: the scan reads them while they are still in L2.
const READ: usize = 1 << 20;
/// A buffer grown for long lines is kept up to this size (regrowing it for every multi-megabyte
/// image line costs page faults); past it, it shrinks back after the line.
const KEEP_UP_TO: usize = 32 << 20;
/// A buffer full of one line grows by at most this much at a time, so that memory stays near
/// the longest line (doubling gave up to twice it: a 1 GB line took 2 GB; issue 17 point 13).
/// (glibc grows such large blocks by remapping their pages, not copying them.)
const GROW_AT_MOST: usize = 32 << 20;

/// One line as handed to the callback.
#[derive(Clone, Copy)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The line without its `\n`.
    pub bytes: &'a [u8],
    /// False only for a last line that does not end in `\n` (a torn write, or a file in progress).
    pub terminated: bool,
    /// True when the line on its own is valid UTF-8.
    pub utf8: bool,
}

/// How far the bytes held are known to be valid UTF-8. Every `\n` ends a character, so a run of
/// whole lines is valid exactly when each line is: one check per read covers all its lines.
struct Utf8 {
    /// `buf[..clean_to]` is valid UTF-8 and ends on a character boundary.
    clean_to: usize,
}

impl Utf8 {
    /// Extends the clean prefix as far as `buf` allows; it stops before an error or before a
    /// character cut off by the end of `buf` (the next read completes it).
    fn check(&mut self, buf: &[u8]) {
        self.clean_to += match simdutf8::compat::from_utf8(&buf[self.clean_to..]) {
            Ok(_) => buf.len() - self.clean_to,
            Err(e) => e.valid_up_to(),
        };
    }

    /// Whether `buf[start..end]`, a line, is valid UTF-8; `buf` holds everything read so far,
    /// and `end` is at `buf.len()` or at a `\n`.
    fn line(&mut self, buf: &[u8], start: usize, end: usize) -> bool {
        if end <= self.clean_to {
            return true;
        }
        // The check stopped inside this line: at an error, or (last line) a cut-off character.
        let valid = simdutf8::basic::from_utf8(&buf[start..end]).is_ok();
        if end < buf.len() {
            self.clean_to = end + 1; // resume after the `\n`
            self.check(buf);
        }
        valid
    }

    /// The held bytes moved down by `by` (the lines before them are done).
    fn shift(&mut self, by: usize) {
        self.clean_to -= by;
    }
}

/// Calls `each` for every line of `reader`, in order. Returns the number of bytes read.
pub fn for_each_line<R: Read>(mut reader: R, mut each: impl FnMut(Line<'_>)) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut start = 0; // first byte of the line not handed out yet
    let mut filled = 0; // bytes of buf holding data
    let mut number = 0u64;
    let mut offset = 0u64; // file offset of buf[0]
    let mut utf8 = Utf8 { clean_to: 0 };
    loop {
        if buf.len() - filled < READ && start > 0 {
            // Too little room left for a whole read: move the unfinished line to the start.
            buf.copy_within(start..filled, 0);
            filled -= start;
            utf8.shift(start);
            offset += start as u64;
            start = 0;
            if buf.len() > KEEP_UP_TO && filled < CHUNK / 2 {
                // A very long line has passed: give its memory back.
                buf.truncate(CHUNK);
                buf.shrink_to_fit();
            }
        }
        if filled == buf.len() {
            // One line fills the whole buffer: grow it (the line is the only thing held).
            buf.resize(buf.len() + buf.len().min(GROW_AT_MOST), 0);
        }
        let want = buf.len().min(filled + READ);
        let n = match reader.read(&mut buf[filled..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let scan_from = filled;
        filled += n;
        utf8.check(&buf[..filled]);
        // Bytes before `scan_from` hold no newline after `start`, so search only the new ones.
        for nl in memchr_iter(b'\n', &buf[scan_from..filled]) {
            let end = scan_from + nl;
            number += 1;
            each(Line {
                number,
                offset: offset + start as u64,
                bytes: &buf[start..end],
                terminated: true,
                utf8: utf8.line(&buf[..filled], start, end),
            });
            start = end + 1;
        }
    }
    if filled > start {
        number += 1;
        each(Line {
            number,
            offset: offset + start as u64,
            bytes: &buf[start..filled],
            terminated: false,
            utf8: utf8.line(&buf[..filled], start, filled),
        });
    }
    Ok(offset + filled as u64)
}

/// How much of a file in memory [`for_each_line_in`] checks for UTF-8 and line ends at a time:
/// small enough that the walk of its lines finds it still in L2 (256 KiB measured 3% faster than
/// 1 MiB on a mapped 1 GiB session; 64–512 KiB all within 1%).
const WINDOW: usize = 256 << 10;

/// Calls `each` for every line of `data`, which is in memory already (a mapped file): lines are
/// handed out in place, never copied. UTF-8 is checked a window at a time, just before the lines
/// of that window, as [`for_each_line`] checks each read. After each window, `done(n)` says
/// that no line handed out later holds any of the first `n` bytes (a mapping lets them go).
/// Returns `data.len()`.
pub fn for_each_line_in(data: &[u8], done: impl FnMut(usize), each: impl FnMut(Line<'_>)) -> u64 {
    lines_in(data, WINDOW, done, each)
}

/// [`for_each_line_in`] with windows of `window` bytes (tests use small ones).
fn lines_in(
    data: &[u8],
    window: usize,
    mut done: impl FnMut(usize),
    mut each: impl FnMut(Line<'_>),
) -> u64 {
    let mut start = 0; // first byte of the line not handed out yet
    let mut number = 0u64;
    let mut utf8 = Utf8 { clean_to: 0 };
    let mut pos = 0;
    while pos < data.len() {
        let upto = data.len().min(pos + window);
        utf8.check(&data[..upto]);
        for nl in memchr_iter(b'\n', &data[pos..upto]) {
            let end = pos + nl;
            number += 1;
            each(Line {
                number,
                offset: start as u64,
                bytes: &data[start..end],
                terminated: true,
                utf8: utf8.line(&data[..upto], start, end),
            });
            start = end + 1;
        }
        done(start);
        pos = upto;
    }
    if data.len() > start {
        number += 1;
        each(Line {
            number,
            offset: start as u64,
            bytes: &data[start..],
            terminated: false,
            utf8: utf8.line(data, start, data.len()),
        });
    }
    data.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its data in pieces of the given sizes (cycled).
    struct Pieces<'a>(&'a [u8], Vec<usize>, usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1[self.2 % self.1.len()]
                .min(out.len())
                .min(self.0.len());
            self.2 += 1;
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// What every reader must hand out for `data`, which ends in a torn line: per line
    /// (bytes, terminated, utf8), by splitting it whole.
    fn expected(data: &[u8]) -> Vec<(Vec<u8>, bool, bool)> {
        let mut want: Vec<_> = data
            .split(|&c| c == b'\n')
            .map(|l| (l.to_vec(), true, std::str::from_utf8(l).is_ok()))
            .collect();
        want.last_mut().expect("split gives a line").1 = false;
        want
    }

    /// Per line: (bytes, terminated, utf8), read in pieces of `sizes`.
    fn utf8_flags(data: &[u8], sizes: &[usize]) -> Vec<(Vec<u8>, bool, bool)> {
        let mut out = vec![];
        for_each_line(Pieces(data, sizes.to_vec(), 0), |l| {
            out.push((l.bytes.to_vec(), l.terminated, l.utf8))
        })
        .unwrap();
        out
    }

    /// Multi-byte characters (cut by small reads or windows), bad bytes, a cut-off character
    /// before a newline, and a torn last line ending in one.
    fn mixed_utf8() -> Vec<u8> {
        "é€😀 ok\nplain\n\u{1F600}\u{20AC}\n"
            .bytes()
            .chain(*b"bad \xff here\n\xe2\x82\nafter bad \xc3\xa9\n\n")
            .chain("ünïcode\n".bytes())
            .chain(*b"torn \xf0\x9f\x98")
            .collect()
    }

    /// `count` lines of `é`s, of 0 to 4 times `unit` characters (plus the line's number), every
    /// third one with a bad byte.
    fn long_lines(count: usize, unit: usize) -> Vec<u8> {
        let mut data = vec![];
        for i in 0..count {
            let mut line = "é".repeat(unit * (i % 5) + i).into_bytes();
            if i % 3 == 0 && !line.is_empty() {
                let at = i * 7919 % line.len();
                line[at] = 0xff;
            }
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
        data
    }

    /// Per line: (bytes, terminated, utf8), walked in memory in windows of `window` bytes;
    /// checks on the way that `done` never gives away a byte of a line still to come.
    fn utf8_flags_in(data: &[u8], window: usize) -> Vec<(Vec<u8>, bool, bool)> {
        let mut out = vec![];
        let given_away = std::cell::Cell::new(0);
        let total = lines_in(
            data,
            window,
            |n| {
                assert!(n >= given_away.get(), "done went back to {n}");
                given_away.set(n);
            },
            |l| {
                let at = l.offset as usize;
                assert!(at >= given_away.get(), "line at {at} was let go");
                assert_eq!(&data[l.offset as usize..][..l.bytes.len()], l.bytes);
                out.push((l.bytes.to_vec(), l.terminated, l.utf8))
            },
        );
        assert_eq!(total, data.len() as u64);
        out
    }

    #[test]
    fn lines_in_memory_have_the_flags_of_lines_read_however_the_windows_cut() {
        let data = mixed_utf8();
        let want = expected(&data);
        for window in [1, 2, 3, 5, 7, 64, 4096, WINDOW] {
            assert_eq!(utf8_flags_in(&data, window), want, "windows of {window}");
        }
        assert_eq!(utf8_flags_in(b"x\n\xc3", 1), utf8_flags(b"x\n\xc3", &[1]));
        assert_eq!(
            utf8_flags_in("x\né".as_bytes(), 3),
            utf8_flags("x\né".as_bytes(), &[3])
        );
        assert!(utf8_flags_in(b"", 1).is_empty());
        // Long lines across many windows, some with a bad byte, as a mapped part holds them.
        let long = long_lines(12, WINDOW / 3);
        assert_eq!(utf8_flags_in(&long, WINDOW), utf8_flags(&long, &[READ]));
    }

    #[test]
    fn utf8_flags_are_exact_however_the_reads_cut() {
        let data = mixed_utf8();
        let want = expected(&data);
        for sizes in [&[1][..], &[2], &[3], &[5, 1], &[7, 2, 1], &[4096]] {
            assert_eq!(utf8_flags(&data, sizes), want, "reads of {sizes:?}");
        }
        // A cut-off char at EOF alone makes the torn line invalid; a whole one does not.
        assert_eq!(
            utf8_flags(b"x\n\xc3", &[1]),
            vec![
                (b"x".to_vec(), true, true),
                (b"\xc3".to_vec(), false, false)
            ]
        );
        assert_eq!(
            utf8_flags("x\né".as_bytes(), &[3]),
            vec![(b"x".to_vec(), true, true), ("é".into(), false, true)]
        );
    }

    #[test]
    fn utf8_flags_survive_long_lines_and_buffer_moves() {
        let data = long_lines(40, CHUNK / 7);
        let got = utf8_flags(&data, &[READ / 3, READ]);
        assert_eq!(got.len(), 40);
        for (line, (bytes, terminated, utf8)) in data.split(|&c| c == b'\n').zip(&got) {
            assert_eq!(bytes, line);
            assert!(terminated);
            assert_eq!(*utf8, std::str::from_utf8(line).is_ok());
        }
    }

    fn collect(data: &[u8]) -> Vec<(u64, u64, Vec<u8>, bool)> {
        let mut out = vec![];
        let total = for_each_line(data, |l| {
            out.push((l.number, l.offset, l.bytes.to_vec(), l.terminated))
        })
        .unwrap();
        assert_eq!(total, data.len() as u64);
        out
    }

    #[test]
    fn splits_lines_and_flags_a_torn_last_line() {
        let got = collect(b"a\n\nbc\nd");
        assert_eq!(
            got,
            vec![
                (1, 0, b"a".to_vec(), true),
                (2, 2, b"".to_vec(), true),
                (3, 3, b"bc".to_vec(), true),
                (4, 6, b"d".to_vec(), false)
            ]
        );
        assert!(collect(b"").is_empty());
        assert_eq!(collect(b"x\n"), vec![(1, 0, b"x".to_vec(), true)]);
    }

    #[test]
    fn a_file_of_many_buffers_arrives_in_order_however_the_reads_cut() {
        // Several buffers' worth (what a large session's scan reads): short lines, lines around the
        // buffer size, bad UTF-8 near buffer ends, and a torn last line.
        let mut data = vec![];
        let mut seed = 99u64;
        while data.len() < 5 * CHUNK {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = match seed >> 61 {
                0 => CHUNK - READ + (seed >> 40) as usize % (2 * READ),
                1 => (seed >> 32) as usize % 300_000,
                _ => (seed >> 32) as usize % 900,
            };
            let mut line = "é".repeat(len / 2).into_bytes();
            if seed & 7 == 0 && !line.is_empty() {
                let at = (seed >> 20) as usize % line.len();
                line[at] = 0xff;
            }
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
        data.extend_from_slice("torn é".as_bytes());
        let want = expected(&data);
        for sizes in [&[READ][..], &[READ / 3 + 1, 4096, READ]] {
            let got = utf8_flags(&data, sizes);
            assert_eq!(got.len(), want.len(), "reads of {sizes:?}");
            for (n, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(g == w, "line {} differs, reads of {sizes:?}", n + 1);
            }
        }
        let offsets: Vec<u64> = {
            let mut v = vec![];
            for_each_line(&data[..], |l| v.push(l.offset)).unwrap();
            v
        };
        let mut at = 0u64;
        for (line, offset) in want.iter().zip(&offsets) {
            assert_eq!(*offset, at);
            at += line.0.len() as u64 + 1;
        }
    }

    /// Fails once `ok` bytes have been read.
    struct Failing<'a>(&'a [u8], usize);

    impl Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.1 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(self.1).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            self.1 -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_midway_is_returned_and_only_whole_lines_before_it_are_handed_out() {
        let data = b"0123456789abcdef\n".repeat(CHUNK); // 17 buffers
        let mut seen = 0;
        let got = for_each_line(Failing(&data, 3 * CHUNK + 5), |_| seen += 1);
        assert_eq!(got.unwrap_err().to_string(), "disk on fire");
        assert_eq!(
            seen,
            (3 * CHUNK + 5) / 17,
            "the lines read whole before the error"
        );
    }

    #[test]
    fn lines_longer_than_the_buffer_arrive_whole() {
        let long = vec![b'x'; CHUNK * 3 + 17];
        let mut data = b"short\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\ntail\n");
        let got = collect(&data);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].2, long);
        assert_eq!(got[1].1, 6);
        assert_eq!(got[2].2, b"tail");
    }
}
