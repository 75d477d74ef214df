//! The strings of a session line as claude's `JSON.parse` takes them (issue 17 point 15): where
//! one ends, and whether it may be there at all — no raw control character (U+0000–U+001F), no
//! escape but `\" \\ \/ \b \f \n \r \t \uXXXX`. Checked at close to memory speed, as the
//! walker in `json_span` meets every string of a session.
use super::json_span::SyntaxError;
use super::string_end;

fn err<T>(offset: usize, what: &'static str) -> Result<T, SyntaxError> {
    Err(SyntaxError { offset, what })
}

/// `b[i]` is a string's opening quote: returns the index after its closing quote, once the
/// string is one `JSON.parse` accepts (no raw control character, only valid escapes).
///
/// A string without backslashes (keys, base64, most values) is checked block by block while it
/// is in the cache: the closing quote, a backslash, the smallest byte — one trip through memory
/// for the three. A string with a backslash is text: its end is found escape-aware
/// ([`string_end`]) and then it is checked whole.
pub(super) fn skip_string(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    const BLOCK: usize = 16 << 10;
    let mut at = i + 1;
    loop {
        let block = &b[at..b.len().min(at + BLOCK)];
        if block.is_empty() {
            return err(b.len(), "unterminated string");
        }
        let quote = memchr::memchr(b'"', block);
        let inside = &block[..quote.unwrap_or(block.len())];
        if memchr::memchr(b'\\', inside).is_some() {
            let end = string_end::skip_string(b, i)?;
            check_string(&b[i + 1..end - 1], i + 1)?;
            return Ok(end);
        }
        if smallest(inside) < 0x20 {
            let bad = inside.iter().position(|&c| c < 0x20).unwrap_or(0);
            return err(at + bad, "control character in a string");
        }
        match quote {
            Some(q) => return Ok(at + q + 1),
            None => at += block.len(),
        }
    }
}

/// The smallest byte of `s` (255 when empty): a reduction the compiler vectorises.
fn smallest(s: &[u8]) -> u8 {
    s.iter().fold(u8::MAX, |m, &x| m.min(x))
}

/// Checks the inside of a string (text with escapes) that starts at `offset`: no byte below
/// 0x20, and every backslash starts a valid escape.
fn check_string(s: &[u8], offset: usize) -> Result<(), SyntaxError> {
    if smallest(s) < 0x20 {
        let at = s.iter().position(|&c| c < 0x20).unwrap_or(0);
        return err(offset + at, "control character in a string");
    }
    let mut k = 0;
    while let Some(at) = next_backslash(s, k) {
        let next = s.get(at + 1).copied().unwrap_or(0);
        k = if SIMPLE_ESCAPE[usize::from(next)] {
            at + 2
        } else if next == b'u'
            && s.len() >= at + 6
            && s[at + 2..at + 6].iter().all(u8::is_ascii_hexdigit)
        {
            at + 6
        } else {
            return err(offset + at, "invalid escape in a string");
        };
    }
    Ok(())
}

/// The first backslash in `s` at or after `from`, 8 bytes at a time inline: escapes come every
/// few bytes in code and JSON text, where a `memchr` call per escape costs more than it saves.
fn next_backslash(s: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut k = from;
    while let Some(word) = s.get(k..k + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ (ONES * u64::from(b'\\'));
        // The classic zero-byte test: exact for the lowest zero byte, which is all we need.
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return Some(k + zero.trailing_zeros() as usize / 8);
        }
        k += 8;
    }
    s.get(k..)?.iter().position(|&c| c == b'\\').map(|p| k + p)
}

/// The bytes that may follow a backslash on their own: `" \ / b f n r t`.
const SIMPLE_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let ok = *b"\"\\/bfnrt";
    while i < ok.len() {
        table[ok[i] as usize] = true;
        i += 1;
    }
    table
};
