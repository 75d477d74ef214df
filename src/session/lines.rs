//! Streams a file line by line through one reusable buffer: memory stays at the buffer size plus
//! the longest line, and lines are handed out while they are still in the CPU cache.
use std::io::{self, Read};

use memchr::memchr_iter;

/// Initial buffer size: large enough that read syscalls are cheap, small enough to stay in cache.
const CHUNK: usize = 1 << 20;
/// A buffer grown for long lines is kept up to this size (regrowing it for every multi-megabyte
/// image line costs page faults); past it, it shrinks back after the line.
const KEEP_UP_TO: usize = 32 << 20;

/// One line as handed to the callback.
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The line without its `\n`.
    pub bytes: &'a [u8],
    /// False only for a last line that does not end in `\n` (a torn write, or a file in progress).
    pub terminated: bool,
}

/// Calls `each` for every line of `reader`, in order. Returns the number of bytes read.
pub fn for_each_line<R: Read>(mut reader: R, mut each: impl FnMut(Line<'_>)) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0; // bytes of buf holding data
    let mut number = 0u64;
    let mut offset = 0u64; // file offset of buf[0]
    loop {
        if filled == buf.len() {
            // One line fills the whole buffer: grow it (the line is the only thing held).
            buf.resize(buf.len() * 2, 0);
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let scan_from = filled;
        filled += n;
        let mut start = 0;
        // Lines before `scan_from` have no newline, so search only the new bytes.
        for nl in memchr_iter(b'\n', &buf[scan_from..filled]) {
            let end = scan_from + nl;
            number += 1;
            each(Line {
                number,
                offset: offset + start as u64,
                bytes: &buf[start..end],
                terminated: true,
            });
            start = end + 1;
        }
        if start > 0 {
            buf.copy_within(start..filled, 0);
            filled -= start;
            offset += start as u64;
            if buf.len() > KEEP_UP_TO && filled < CHUNK / 2 {
                // A very long line has passed: give its memory back.
                buf.truncate(CHUNK);
                buf.shrink_to_fit();
            }
        }
    }
    if filled > 0 {
        number += 1;
        each(Line {
            number,
            offset,
            bytes: &buf[..filled],
            terminated: false,
        });
    }
    Ok(offset + filled as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

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
