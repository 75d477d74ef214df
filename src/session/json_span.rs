//! A lazy JSON walker over one line's bytes: it finds object keys and the byte spans of values
//! without decoding or allocating, so skipping a 100 MB base64 string costs one `memchr` pass.
//! Leaf values that matter are decoded afterwards with serde_json on their span.
//!
//! serde_json validates every byte (about 7 GB/s here), while `cat` reads a cached file at about
//! 13 GB/s; the scan budget (≤ 2× `cat`) leaves no room for that on image lines, hence this walker.
use std::ops::Range;

use memchr::memchr;

/// A byte range inside the walked line.
pub type Span = Range<usize>;

/// Why a line is not well-formed JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// Deeper nesting than this is reported as malformed instead of risking the stack.
const MAX_DEPTH: usize = 256;

fn err<T>(offset: usize, what: &'static str) -> Result<T, SyntaxError> {
    Err(SyntaxError { offset, what })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            break;
        }
        i += 1;
    }
    i
}

/// Checks that the whole of `b` is one JSON value (with surrounding whitespace).
pub fn validate(b: &[u8]) -> Result<Span, SyntaxError> {
    let start = skip_ws(b, 0);
    let end = skip_value(b, start, 0)?;
    if skip_ws(b, end) != b.len() {
        return err(end, "unexpected bytes after the JSON value");
    }
    Ok(start..end)
}

/// Walks a line that must be one JSON object, calling `each(key, value)` for its top-level entries;
/// the whole line is validated on the way, in one pass.
pub fn for_each_entry(b: &[u8], mut each: impl FnMut(Span, Span)) -> Result<(), SyntaxError> {
    let start = skip_ws(b, 0);
    let mut entries = Entries::at(b, start, 1)?;
    for entry in &mut entries {
        let (k, v) = entry?;
        each(k, v);
    }
    if skip_ws(b, entries.end) != b.len() {
        return err(entries.end, "unexpected bytes after the JSON value");
    }
    Ok(())
}

/// Returns the end (exclusive) of the value that starts at `i`.
fn skip_value(b: &[u8], i: usize, depth: usize) -> Result<usize, SyntaxError> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{') => {
            let mut entries = Entries::at(b, i, depth + 1)?;
            for entry in &mut entries {
                entry?;
            }
            Ok(entries.end)
        }
        Some(b'[') => {
            let mut items = Items::at(b, i, depth + 1)?;
            for item in &mut items {
                item?;
            }
            Ok(items.end)
        }
        Some(b't') => skip_literal(b, i, b"true"),
        Some(b'f') => skip_literal(b, i, b"false"),
        Some(b'n') => skip_literal(b, i, b"null"),
        Some(b'-' | b'0'..=b'9') => {
            let mut j = i + 1;
            while matches!(
                b.get(j),
                Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
            ) {
                j += 1;
            }
            Ok(j)
        }
        Some(_) => err(i, "unexpected character"),
        None => err(i, "unexpected end of line"),
    }
}

fn skip_literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, SyntaxError> {
    if b[i..].starts_with(word) {
        Ok(i + word.len())
    } else {
        err(i, "unexpected character")
    }
}

/// `b[i]` is the opening quote; returns the index after the closing quote. A quote ends the
/// string when an even number of backslashes precedes it; escapes are not checked one by one.
/// Most strings (keys, base64) end at their first quote, found with one `memchr`; a string whose
/// first quote is escaped is likely text full of `\"` (code, JSON), and goes 64 bytes at a time.
fn skip_string(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let j = i + 1;
    let Some(p) = memchr(b'"', &b[j..]) else {
        return err(b.len(), "unterminated string");
    };
    let quote = j + p;
    let backslashes = b[j..quote]
        .iter()
        .rev()
        .take_while(|&&c| c == b'\\')
        .count();
    if backslashes % 2 == 0 {
        return Ok(quote + 1);
    }
    end_of_escaped_text(b, quote + 1).ok_or(SyntaxError {
        offset: b.len(),
        what: "unterminated string",
    })
}

/// Bits 0, 2, 4, … of a 64-byte block.
const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The index after the first unescaped quote at or after `from`, where `b[from]` is not escaped.
/// Per 64-byte block: a bitmask of quotes and of backslashes; a quote is escaped when the run of
/// backslashes before it has odd length, which is found for every run at once by adding each
/// run's start bit to the run (the carry stops right after the run) and comparing parities.
fn end_of_escaped_text(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    let mut escape_next = false; // the previous block ended in an odd run of backslashes
    while at < b.len() {
        let block = &b[at..b.len().min(at + 64)];
        let (quotes, mut backslashes) = masks(block);
        let mut escaped = 0u64;
        if escape_next {
            if backslashes & 1 == 1 {
                backslashes &= !1; // that backslash is itself escaped: it starts nothing
            } else {
                escaped |= 1;
            }
        }
        let starts = backslashes & !(backslashes << 1);
        let after_even_runs = backslashes.wrapping_add(starts & EVEN_BITS) & !backslashes;
        let after_odd_runs = backslashes.wrapping_add(starts & !EVEN_BITS) & !backslashes;
        // After a run that starts on an even bit, the next char is escaped when it sits on an odd
        // bit (odd length), and the other way round.
        escaped |= (after_even_runs & !EVEN_BITS) | (after_odd_runs & EVEN_BITS);
        let ends = quotes & !escaped;
        if ends != 0 {
            return Some(at + ends.trailing_zeros() as usize + 1);
        }
        // Only a full block can be followed by more of the string.
        escape_next = backslashes.leading_ones() % 2 == 1;
        at += block.len();
    }
    None
}

/// Bitmasks of `"` and `\` in a block of up to 64 bytes (bit i = byte i).
fn masks(block: &[u8]) -> (u64, u64) {
    let mut padded = [0u8; 64];
    let bytes: &[u8; 64] = match block.try_into() {
        Ok(full) => full,
        Err(_) => {
            padded[..block.len()].copy_from_slice(block);
            &padded
        }
    };
    let (mut q, mut s) = (0u64, 0u64);
    for (k, lane) in bytes.chunks_exact(16).enumerate() {
        let (lq, ls) = lane_masks(lane.try_into().expect("16 bytes"));
        q |= u64::from(lq) << (16 * k);
        s |= u64::from(ls) << (16 * k);
    }
    (q, s)
}

/// Quote and backslash masks of 16 bytes with SSE2 (part of every x86-64 CPU): two compares and
/// two `movemask`s, where plain Rust compiles to a byte-at-a-time loop.
#[cfg(target_arch = "x86_64")]
fn lane_masks(lane: &[u8; 16]) -> (u16, u16) {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    let lo = i64::from_le_bytes(lane[..8].try_into().expect("8 bytes"));
    let hi = i64::from_le_bytes(lane[8..].try_into().expect("8 bytes"));
    // SAFETY: these intrinsics only need SSE2, which every x86-64 CPU has (it is part of the
    // architecture's baseline, enabled for every x86_64 target); no memory is accessed.
    let (q, s) = unsafe {
        let v = _mm_set_epi64x(hi, lo);
        (
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8))),
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8))),
        )
    };
    (q as u16, s as u16)
}

#[cfg(not(target_arch = "x86_64"))]
fn lane_masks(lane: &[u8; 16]) -> (u16, u16) {
    swar_lane_masks(lane)
}

/// The portable version: per 8-byte word, a byte-equality test that sets the top bit of each
/// matching byte, then a multiply that gathers those 8 bits into one byte.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn swar_lane_masks(lane: &[u8; 16]) -> (u16, u16) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let word_mask = |w: u64, c: u8| -> u64 {
        let x = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
        let zero_bytes = !(((x & LOW7) + LOW7) | x | LOW7); // 0x80 where the byte was c
        ((zero_bytes >> 7).wrapping_mul(GATHER)) >> 56
    };
    let mut q = 0u16;
    let mut s = 0u16;
    for (k, word) in lane.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        q |= (word_mask(w, b'"') as u16) << (8 * k);
        s |= (word_mask(w, b'\\') as u16) << (8 * k);
    }
    (q, s)
}

/// The entries of an object: `(key span without quotes, value span)`.
pub struct Entries<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    first: bool,
    done: bool,
    /// The index after the closing brace, once iteration has finished.
    pub end: usize,
}

impl<'a> Entries<'a> {
    /// Walks the object whose `{` is at `span.start`; an error if it is not an object.
    pub fn of(b: &'a [u8], span: &Span) -> Result<Self, SyntaxError> {
        Self::at(b, span.start, 1)
    }

    fn at(b: &'a [u8], i: usize, depth: usize) -> Result<Self, SyntaxError> {
        if depth > MAX_DEPTH {
            return err(i, "nested too deeply");
        }
        if b.get(i) != Some(&b'{') {
            return err(i, "expected an object");
        }
        Ok(Self {
            b,
            i: i + 1,
            depth,
            first: true,
            done: false,
            end: i,
        })
    }

    fn next_entry(&mut self) -> Result<Option<(Span, Span)>, SyntaxError> {
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        match b.get(i) {
            Some(b'}') => {
                self.end = i + 1;
                return Ok(None);
            }
            Some(b',') if !self.first => i = skip_ws(b, i + 1),
            _ if self.first => {}
            Some(_) => return err(i, "expected ',' or '}'"),
            None => return err(i, "unexpected end of line"),
        }
        if b.get(i) != Some(&b'"') {
            return err(i, "expected a key");
        }
        let key_end = skip_string(b, i)?;
        let key = i + 1..key_end - 1;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return err(colon, "expected ':'");
        }
        let start = skip_ws(b, colon + 1);
        let end = skip_value(b, start, self.depth)?;
        self.i = end;
        self.first = false;
        Ok(Some((key, start..end)))
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<(Span, Span), SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_entry();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// The items of an array, as value spans.
pub struct Items<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    first: bool,
    done: bool,
    /// The index after the closing bracket, once iteration has finished.
    pub end: usize,
}

impl<'a> Items<'a> {
    /// Walks the array whose `[` is at `span.start`; an error if it is not an array.
    pub fn of(b: &'a [u8], span: &Span) -> Result<Self, SyntaxError> {
        Self::at(b, span.start, 1)
    }

    fn at(b: &'a [u8], i: usize, depth: usize) -> Result<Self, SyntaxError> {
        if depth > MAX_DEPTH {
            return err(i, "nested too deeply");
        }
        if b.get(i) != Some(&b'[') {
            return err(i, "expected an array");
        }
        Ok(Self {
            b,
            i: i + 1,
            depth,
            first: true,
            done: false,
            end: i,
        })
    }

    fn next_item(&mut self) -> Result<Option<Span>, SyntaxError> {
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        match b.get(i) {
            Some(b']') => {
                self.end = i + 1;
                return Ok(None);
            }
            Some(b',') if !self.first => i = skip_ws(b, i + 1),
            _ if self.first => {}
            Some(_) => return err(i, "expected ',' or ']'"),
            None => return err(i, "unexpected end of line"),
        }
        let end = skip_value(b, i, self.depth)?;
        self.i = end;
        self.first = false;
        Ok(Some(i..end))
    }
}

impl Iterator for Items<'_> {
    type Item = Result<Span, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_item();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// The value of `key` in the object at `span` (first occurrence), if the span is an object.
pub fn get(b: &[u8], span: &Span, key: &str) -> Option<Span> {
    Entries::of(b, span)
        .ok()?
        .map_while(Result::ok)
        .find(|(k, _)| &b[k.clone()] == key.as_bytes())
        .map(|(_, v)| v)
}

/// The raw bytes of a string value without its quotes (escapes left as they are), if it is one.
pub fn raw_str<'a>(b: &'a [u8], span: &Span) -> Option<&'a [u8]> {
    let s = &b[span.clone()];
    (s.len() >= 2 && s[0] == b'"').then(|| &s[1..s.len() - 1])
}

/// Decodes a string value (unescaping it), if it is one.
pub fn string(b: &[u8], span: &Span) -> Option<String> {
    serde_json::from_slice(&b[span.clone()]).ok()
}

/// Decodes an unsigned integer value, if it is one.
pub fn uint(b: &[u8], span: &Span) -> Option<u64> {
    serde_json::from_slice(&b[span.clone()]).ok()
}

/// True if the value is the literal `true`.
pub fn is_true(b: &[u8], span: &Span) -> bool {
    &b[span.clone()] == b"true"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        validate(s.as_bytes()).is_ok()
    }

    #[test]
    fn accepts_what_serde_accepts() {
        for s in [
            r#"{}"#,
            r#"{"a":1,"b":[true,false,null,-1.5e3,"x\"y\\z\u00e9","\\\\","q\\\"q"],"c":{"d":{}}}"#,
            r#" { "a" : [ ] , "b" : "" } "#,
            r#"[1,2,3]"#,
            r#""just a string""#,
        ] {
            assert!(ok(s), "{s}");
            assert!(serde_json::from_str::<serde_json::Value>(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_broken_lines_with_an_offset() {
        for (s, what) in [
            (r#"{"a":1"#, "unexpected end of line"),
            (r#"{"a":"unterminated"#, "unterminated string"),
            (r#"{"a" 1}"#, "expected ':'"),
            (r#"{"a":1 "b":2}"#, "expected ',' or '}'"),
            (r#"{"a":tru}"#, "unexpected character"),
            (r#"{"a":"x\"}"#, "unterminated string"),
            (r#"{"a":1}}"#, "unexpected bytes after the JSON value"),
            (r#"{a:1}"#, "expected a key"),
            ("", "unexpected end of line"),
        ] {
            let e = validate(s.as_bytes()).unwrap_err();
            assert_eq!(e.what, what, "{s}");
        }
    }

    /// The obvious byte loop, to check the block version against.
    fn reference_end(b: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    #[test]
    fn block_string_end_agrees_with_a_byte_loop() {
        // Strings of quotes, backslashes and letters, at every length around block boundaries.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            for _ in 0..40 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        [b'"', b'\\', b'\\', b'a', b'n'][(seed % 5) as usize]
                    })
                    .collect();
                assert_eq!(
                    end_of_escaped_text(&s, 0),
                    reference_end(&s, 0),
                    "{:?}",
                    String::from_utf8_lossy(&s)
                );
            }
        }
        let mut long = vec![b'\\'; 200];
        long.push(b'"');
        long.push(b'"');
        assert_eq!(
            end_of_escaped_text(&long, 0),
            Some(201),
            "after 200 backslashes the first quote ends it"
        );
        long.insert(0, b'\\');
        assert_eq!(
            end_of_escaped_text(&long, 0),
            Some(203),
            "after 201, the second"
        );
    }

    #[test]
    fn lane_masks_agree_with_a_byte_loop() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            let mut lane = [0u8; 16];
            for c in &mut lane {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *c = [b'"', b'\\', b'a', 0xff, 0x22 ^ 0x80, 0x5c ^ 0x80, 0]
                    [(seed >> 60) as usize % 7];
            }
            let naive = lane
                .iter()
                .enumerate()
                .fold((0u16, 0u16), |(q, s), (i, &c)| {
                    (
                        q | (u16::from(c == b'"') << i),
                        s | (u16::from(c == b'\\') << i),
                    )
                });
            assert_eq!(lane_masks(&lane), naive, "{lane:?}");
            assert_eq!(swar_lane_masks(&lane), naive, "{lane:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "[".repeat(100_000);
        assert_eq!(
            validate(s.as_bytes()).unwrap_err().what,
            "nested too deeply"
        );
    }

    #[test]
    fn finds_keys_and_spans() {
        let line = br#"{"type":"user","message":{"content":[{"type":"text","text":"hi \"there\""}]},"n":42}"#;
        let root = validate(line).unwrap();
        let msg = get(line, &root, "message").unwrap();
        let content = get(line, &msg, "content").unwrap();
        let first = Items::of(line, &content).unwrap().next().unwrap().unwrap();
        let text = get(line, &first, "text").unwrap();
        assert_eq!(string(line, &text).unwrap(), "hi \"there\"");
        assert_eq!(
            raw_str(line, &get(line, &root, "type").unwrap()).unwrap(),
            b"user"
        );
        assert_eq!(uint(line, &get(line, &root, "n").unwrap()), Some(42));
        assert!(get(line, &root, "missing").is_none());
    }
}
