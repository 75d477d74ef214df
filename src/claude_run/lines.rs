//! Lines of a child's output, bounded: a line longer than [`MAX_LINE`] is skipped (the reader
//! goes on at the next newline), bytes that are not UTF-8 are decoded lossily, and reading goes
//! on to the end (issue 17 point 9: a newline-less flood aborted ccrescue on allocation, and one
//! invalid byte silently stopped the reader).
use std::io::{self, BufRead, BufReader, Read};

/// The longest stream-json line kept (claude's events are far smaller; a result text of a few
/// MiB fits).
pub const MAX_LINE: usize = 64 << 20;

/// Calls `each` with every line of `input` (without its newline) up to `max` bytes; longer lines
/// are dropped whole. Stops at the end of the input, a read error, or when `each` returns false.
pub fn for_each_line(input: impl Read, max: usize, mut each: impl FnMut(String) -> bool) {
    let mut reader = BufReader::with_capacity(64 << 10, input);
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let (chunk, newline) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(newline);
        reader.consume(used);
        if newline {
            let done = std::mem::take(&mut line);
            if !std::mem::take(&mut too_long) && !each(String::from_utf8_lossy(&done).into_owned())
            {
                return;
            }
        }
    }
    if !line.is_empty() && !too_long {
        each(String::from_utf8_lossy(&line).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut out = vec![];
        for_each_line(input, max, |l| {
            out.push(l);
            true
        });
        out
    }

    #[test]
    fn long_lines_are_skipped_bad_bytes_replaced_and_reading_goes_on() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nshort\nbad \xff byte\n");
        input.extend(std::iter::repeat_n(b'y', 50));
        input.extend_from_slice(b"\nlast");
        assert_eq!(
            lines(&input, 60),
            ["short", "bad \u{fffd} byte", &"y".repeat(50), "last"]
        );
    }
}
