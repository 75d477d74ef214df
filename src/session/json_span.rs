//! A lazy JSON walker over one line's bytes: it finds object keys and the byte spans of values
//! without decoding or allocating, so skipping a 100 MB base64 string costs a few passes at
//! memory speed (find the quote, check for control bytes and escapes).
//! Leaf values that matter are decoded afterwards with serde_json on their span.
//!
//! serde_json validates every byte (about 7 GB/s here), while `cat` reads a cached file at about
//! 13 GB/s; the scan budget (≤ 2× `cat`) leaves no room for that on image lines, hence this walker.
//!
//! Which lines are records follows claude's `JSON.parse` (issue 17 point 15): a raw control
//! character (U+0000–U+001F) inside a string or an escape other than `\" \\ \/ \b \f \n \r \t
//! \uXXXX` makes the line invalid, as claude skips such lines; of repeated keys the last counts.
use std::ops::Range;

use super::json_string::skip_string;

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
/// `each` skips or descends into the value and returns its end. The whole line is validated on the
/// way, in one pass.
pub fn for_each_entry(
    b: &[u8],
    each: impl FnMut(Span, Value<'_>) -> Result<usize, SyntaxError>,
) -> Result<(), SyntaxError> {
    let end = Value::at(b, skip_ws(b, 0), 0).object(each)?;
    if skip_ws(b, end) != b.len() {
        return err(end, "unexpected bytes after the JSON value");
    }
    Ok(())
}

/// A value met by a walk, not yet walked: the caller skips it or descends into it, and either
/// way learns where it ends. Descending validates exactly as skipping does.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    b: &'a [u8],
    /// Index of the value's first byte.
    pub start: usize,
    /// Nesting depth of the container holding the value.
    depth: usize,
}

impl<'a> Value<'a> {
    /// The value starting at `start`, inside a container at `depth` (0: the top level).
    pub fn at(b: &'a [u8], start: usize, depth: usize) -> Self {
        Value { b, start, depth }
    }

    /// The value's first byte (`{`, `[`, `"`, …), if the line has one there.
    pub fn first(&self) -> Option<u8> {
        self.b.get(self.start).copied()
    }

    /// Skips the value (validating it); returns its end.
    pub fn skip(&self) -> Result<usize, SyntaxError> {
        skip_value(self.b, self.start, self.depth)
    }

    /// Walks the object here, calling `each(key without quotes, value)` for every entry; `each`
    /// returns the value's end. Returns the end of the object.
    pub fn object(
        &self,
        mut each: impl FnMut(Span, Value<'a>) -> Result<usize, SyntaxError>,
    ) -> Result<usize, SyntaxError> {
        let mut c = Cursor::open(
            self.b,
            self.start,
            self.depth + 1,
            b'{',
            b'}',
            "expected an object",
        )?;
        while let Some(i) = c.next_member()? {
            c.first = false;
            let (key, start) = key_and_value_start(self.b, i)?;
            c.i = each(key, Value::at(self.b, start, c.depth))?;
        }
        Ok(c.end)
    }

    /// Walks the array here, calling `each(item)` for every item; `each` returns the item's end.
    /// Returns the end of the array.
    pub fn array(
        &self,
        mut each: impl FnMut(Value<'a>) -> Result<usize, SyntaxError>,
    ) -> Result<usize, SyntaxError> {
        let mut c = Cursor::open(
            self.b,
            self.start,
            self.depth + 1,
            b'[',
            b']',
            "expected an array",
        )?;
        while let Some(i) = c.next_member()? {
            c.first = false;
            c.i = each(Value::at(self.b, i, c.depth))?;
        }
        Ok(c.end)
    }
}

/// For an entry starting at `i`: the key without quotes, and where the value starts.
fn key_and_value_start(b: &[u8], i: usize) -> Result<(Span, usize), SyntaxError> {
    if b.get(i) != Some(&b'"') {
        return err(i, "expected a key");
    }
    let key_end = skip_string(b, i)?;
    let colon = skip_ws(b, key_end);
    if b.get(colon) != Some(&b':') {
        return err(colon, "expected ':'");
    }
    Ok((i + 1..key_end - 1, skip_ws(b, colon + 1)))
}

/// Returns the end (exclusive) of the value that starts at `i`.
fn skip_value(b: &[u8], i: usize, depth: usize) -> Result<usize, SyntaxError> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        // Containers are skipped by the same walk that descends into them (`Value`).
        Some(b'{') => Value::at(b, i, depth).object(|_, v| v.skip()),
        Some(b'[') => Value::at(b, i, depth).array(|v| v.skip()),
        Some(b't') => skip_literal(b, i, b"true"),
        Some(b'f') => skip_literal(b, i, b"false"),
        Some(b'n') => skip_literal(b, i, b"null"),
        Some(b'-' | b'0'..=b'9') => skip_number(b, i),
        Some(_) => err(i, "unexpected character"),
        None => err(i, "unexpected end of line"),
    }
}

/// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn skip_number(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let digits = |mut j: usize| {
        let start = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        (j > start).then_some(j)
    };
    let mut j = i + usize::from(b[i] == b'-');
    j = match b.get(j) {
        Some(b'0') => j + 1,
        Some(b'1'..=b'9') => digits(j).expect("a digit is there"),
        _ => return err(j, "invalid number"),
    };
    if b.get(j) == Some(&b'.') {
        j = digits(j + 1).ok_or(SyntaxError {
            offset: j + 1,
            what: "invalid number",
        })?;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1 + usize::from(matches!(b.get(j + 1), Some(b'+' | b'-')));
        j = digits(j).ok_or(SyntaxError {
            offset: j,
            what: "invalid number",
        })?;
    }
    Ok(j)
}

fn skip_literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, SyntaxError> {
    if b[i..].starts_with(word) {
        Ok(i + word.len())
    } else {
        err(i, "unexpected character")
    }
}

/// The state shared by object and array walks: where the next member starts, and where the
/// container ended once it has.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    close: u8,
    first: bool,
    done: bool,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn open(
        b: &'a [u8],
        i: usize,
        depth: usize,
        open: u8,
        close: u8,
        what: &'static str,
    ) -> Result<Self, SyntaxError> {
        if depth > MAX_DEPTH {
            return err(i, "nested too deeply");
        }
        if b.get(i) != Some(&open) {
            return err(i, what);
        }
        Ok(Cursor {
            b,
            i: i + 1,
            depth,
            close,
            first: true,
            done: false,
            end: i,
        })
    }

    /// The start of the next member, after its separating comma; `None` at the closing bracket.
    fn next_member(&mut self) -> Result<Option<usize>, SyntaxError> {
        let i = skip_ws(self.b, self.i);
        match self.b.get(i) {
            Some(&c) if c == self.close => {
                self.end = i + 1;
                Ok(None)
            }
            Some(b',') if !self.first => Ok(Some(skip_ws(self.b, i + 1))),
            None => err(i, "unexpected end of line"),
            _ if self.first => Ok(Some(i)),
            _ if self.close == b'}' => err(i, "expected ',' or '}'"),
            _ => err(i, "expected ',' or ']'"),
        }
    }

    /// Runs one step of iteration: stops for good after the end or an error.
    fn step<T>(
        &mut self,
        next: impl FnOnce(&mut Self) -> Result<Option<T>, SyntaxError>,
    ) -> Option<Result<T, SyntaxError>> {
        if self.done {
            return None;
        }
        let item = next(self);
        self.first = false;
        if !matches!(item, Ok(Some(_))) {
            self.done = true;
        }
        item.transpose()
    }
}

/// The entries of an object: `(key span without quotes, value span)`.
pub struct Entries<'a>(Cursor<'a>);

impl<'a> Entries<'a> {
    /// Walks the object whose `{` is at `span.start`; an error if it is not an object.
    pub fn of(b: &'a [u8], span: &Span) -> Result<Self, SyntaxError> {
        Cursor::open(b, span.start, 1, b'{', b'}', "expected an object").map(Entries)
    }

    /// The index after the closing brace, once iteration has finished.
    pub fn end(&self) -> usize {
        self.0.end
    }

    fn entry(c: &mut Cursor<'_>) -> Result<Option<(Span, Span)>, SyntaxError> {
        let Some(i) = c.next_member()? else {
            return Ok(None);
        };
        let (key, start) = key_and_value_start(c.b, i)?;
        c.i = skip_value(c.b, start, c.depth)?;
        Ok(Some((key, start..c.i)))
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<(Span, Span), SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.step(Self::entry)
    }
}

/// The items of an array, as value spans.
pub struct Items<'a>(Cursor<'a>);

impl<'a> Items<'a> {
    /// Walks the array whose `[` is at `span.start`; an error if it is not an array.
    pub fn of(b: &'a [u8], span: &Span) -> Result<Self, SyntaxError> {
        Cursor::open(b, span.start, 1, b'[', b']', "expected an array").map(Items)
    }

    /// The index after the closing bracket, once iteration has finished.
    pub fn end(&self) -> usize {
        self.0.end
    }

    fn item(c: &mut Cursor<'_>) -> Result<Option<Span>, SyntaxError> {
        let Some(i) = c.next_member()? else {
            return Ok(None);
        };
        c.i = skip_value(c.b, i, c.depth)?;
        Ok(Some(i..c.i))
    }
}

impl Iterator for Items<'_> {
    type Item = Result<Span, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.step(Self::item)
    }
}

/// The value of `key` in the object at `span` (the last occurrence, as `JSON.parse` keeps), if
/// the span is an object.
pub fn get(b: &[u8], span: &Span, key: &str) -> Option<Span> {
    Entries::of(b, span)
        .ok()?
        .map_while(Result::ok)
        .filter(|(k, _)| &b[k.clone()] == key.as_bytes())
        .last()
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
