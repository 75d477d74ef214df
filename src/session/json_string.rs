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
/// A string without backslashes (keys, base64, most values) is one run of plain bytes, found in
/// one pass ([`string_end::plain_end`]: quotes, backslashes and control bytes at once). A string
/// with a backslash is text: from that backslash, its end and its escapes are found in one pass
/// ([`string_end::end_of_text`]).
pub(super) fn skip_string(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let stop = string_end::plain_end(b, i + 1);
    match b.get(stop) {
        Some(b'"') => Ok(stop + 1),
        // The bytes before it hold no quote, backslash or control byte: it is not escaped.
        Some(b'\\') => string_end::end_of_text(b, stop),
        Some(_) => err(stop, "control character in a string"),
        None => err(b.len(), "unterminated string"),
    }
}
