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
/// is in the cache: the first quote or backslash, then the smallest byte. A string with a backslash
/// is text: from the block that holds it, its end and its escapes are found in one pass
/// ([`string_end`]).
pub(super) fn skip_string(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    const BLOCK: usize = 16 << 10;
    let mut at = i + 1;
    loop {
        let block = &b[at..b.len().min(at + BLOCK)];
        if block.is_empty() {
            return err(b.len(), "unterminated string");
        }
        // The first quote or backslash, in one pass.
        let stop = memchr::memchr2(b'"', b'\\', block);
        if stop.is_some_and(|k| block[k] == b'\\') {
            // The blocks before this one hold no quote, backslash or control byte.
            return string_end::end_of_text(b, at);
        }
        let quote = stop;
        let inside = &block[..quote.unwrap_or(block.len())];
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
