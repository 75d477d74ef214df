//! Concrete-syntax edits of a settings file for `guard`: add or remove one object member or one
//! array item as a byte splice (the settings fix's `splice`, over spans from the project's own
//! JSON walker), so every other byte stays as it was and a removal undoes an insertion exactly.
//!
//! The one rule that makes uninstall byte-identical: an insertion after the last child is
//! `,` + the whitespace that precedes that child + the new text, and the removal of a child that is
//! not the first takes exactly the bytes from the previous child's end to its own end; in an empty
//! container the text goes right after the opening bracket and the removal of an only child takes
//! the bytes from the bracket to the child's end.
use anyhow::{Result, anyhow};
use serde::Serialize;
use serde_json::Value;

use crate::session::json_span::{self, Entries, Items, Span};
use crate::settings::fix::{encode, splice};
use crate::settings::without_bom;

/// One child of an object or array: where it starts (a key's opening quote, or the item) and its
/// value.
#[derive(Debug, Clone)]
pub struct Child {
    /// The decoded key (members only).
    pub key: Option<String>,
    pub start: usize,
    pub value: Span,
}

/// The top-level value's span in `file` (after a byte-order mark).
pub fn top(file: &[u8]) -> Result<Span> {
    let b = without_bom(file);
    let shift = file.len() - b.len();
    let s = json_span::validate(b).map_err(|e| anyhow!("not valid JSON ({e})"))?;
    if b.get(s.start) != Some(&b'{') {
        return Err(anyhow!("not a JSON object"));
    }
    Ok(s.start + shift..s.end + shift)
}

/// The children of the object or array at `span`, in file order.
pub fn children(b: &[u8], span: &Span) -> Result<Vec<Child>> {
    let bad = |e: json_span::SyntaxError| anyhow!("{e}");
    let mut out = vec![];
    match b.get(span.start) {
        Some(b'{') => {
            for entry in Entries::of(b, span).map_err(bad)? {
                let (k, v) = entry.map_err(bad)?;
                out.push(Child {
                    key: json_span::string(b, &(k.start - 1..k.end + 1)),
                    start: k.start - 1,
                    value: v,
                });
            }
        }
        Some(b'[') => {
            for item in Items::of(b, span).map_err(bad)? {
                let v = item.map_err(bad)?;
                out.push(Child {
                    key: None,
                    start: v.start,
                    value: v,
                });
            }
        }
        _ => return Err(anyhow!("not an object or array")),
    }
    Ok(out)
}

/// The value of the last member named `key` of the object at `obj` (the one JSON.parse keeps).
pub fn member(b: &[u8], obj: &Span, key: &str) -> Option<Span> {
    if b.get(obj.start) != Some(&b'{') {
        return None;
    }
    children(b, obj)
        .ok()?
        .into_iter()
        .rev()
        .find(|c| c.key.as_deref() == Some(key))
        .map(|c| c.value)
}

/// `b` with `"key": value` added as the last member of the object at `obj`.
pub fn insert_member(b: &[u8], obj: &Span, key: &str, value: &Value) -> Result<Vec<u8>> {
    insert(b, obj, |indent, unit, pretty| {
        let colon = if pretty { ": " } else { ":" };
        Ok(format!(
            "{}{colon}{}",
            encode(key),
            render(value, indent, unit, pretty)?
        ))
    })
}

/// `b` with `value` added as the last item of the array at `arr`.
pub fn append_item(b: &[u8], arr: &Span, value: &Value) -> Result<Vec<u8>> {
    insert(b, arr, |indent, unit, pretty| {
        render(value, indent, unit, pretty)
    })
}

/// `b` without child `index` of the container at `span` (see the module rule).
pub fn remove_child(b: &[u8], span: &Span, index: usize) -> Result<Vec<u8>> {
    let kids = children(b, span)?;
    let Some(kid) = kids.get(index) else {
        return Err(anyhow!("no child {index}"));
    };
    let cut = if index > 0 {
        kids[index - 1].value.end..kid.value.end
    } else if let Some(next) = kids.get(1) {
        kid.start..next.start
    } else {
        span.start + 1..kid.value.end
    };
    Ok(splice(b, &mut [(cut, String::new())]))
}

fn insert(
    b: &[u8],
    span: &Span,
    text: impl FnOnce(&[u8], &str, bool) -> Result<String>,
) -> Result<Vec<u8>> {
    let kids = children(b, span)?;
    let (at, sep) = match kids.last() {
        Some(last) => {
            let ws = leading_ws(b, last.start);
            (last.value.end, format!(",{}", String::from_utf8_lossy(ws)))
        }
        None => {
            let inner = &b[span.start + 1..span.end - 1];
            let sep = if inner.contains(&b'\n') {
                let mut s = "\n".to_owned();
                s.push_str(&String::from_utf8_lossy(line_indent(b, span.start)));
                s.push_str(&indent_unit(b));
                s
            } else if inner.is_empty() {
                String::new()
            } else {
                " ".to_owned()
            };
            (span.start + 1, sep)
        }
    };
    let pretty = sep.contains('\n');
    let indent = sep.rsplit('\n').next().unwrap_or("").to_owned();
    let new = format!("{sep}{}", text(indent.as_bytes(), &indent_unit(b), pretty)?);
    let mut edit = [(at..at, new)];
    Ok(splice(b, &mut edit))
}

/// `value` as JSON: pretty, indented by `unit`, each line after the first indented by
/// `indent`; or compact.
fn render(value: &Value, indent: &[u8], unit: &str, pretty: bool) -> Result<String> {
    if !pretty {
        return Ok(serde_json::to_string(value)?);
    }
    let mut out = vec![];
    let fmt = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser)?;
    let text = String::from_utf8(out)?;
    let pad = format!("\n{}", String::from_utf8_lossy(indent));
    Ok(text.replace('\n', &pad))
}

/// The whitespace right before byte `at`.
fn leading_ws(b: &[u8], at: usize) -> &[u8] {
    let start = b[..at]
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[start..at]
}

/// The spaces and tabs that start the line holding byte `at`.
fn line_indent(b: &[u8], at: usize) -> &[u8] {
    let start = b[..at]
        .iter()
        .rposition(|c| *c == b'\n')
        .map_or(0, |i| i + 1);
    let end = b[start..]
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .map_or(b.len(), |i| start + i);
    &b[start..end.min(at)]
}

/// The file's indent unit: the indentation of its first indented line, else two spaces.
fn indent_unit(b: &[u8]) -> String {
    b.split(|c| *c == b'\n')
        .map(|l| {
            &l[..l
                .iter()
                .position(|c| *c != b' ' && *c != b'\t')
                .unwrap_or(0)]
        })
        .find(|i| !i.is_empty())
        .map_or_else(
            || "  ".to_owned(),
            |i| String::from_utf8_lossy(i).into_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(original: &str) {
        let b = original.as_bytes();
        let t = top(b).unwrap();
        let added = insert_member(b, &t, "k", &json!({"a": [1, 2]})).unwrap();
        let parsed: Value = serde_json::from_slice(without_bom(&added)).unwrap();
        assert_eq!(
            parsed["k"],
            json!({"a": [1, 2]}),
            "{}",
            String::from_utf8_lossy(&added)
        );
        let t2 = top(&added).unwrap();
        let i = children(&added, &t2).unwrap().len() - 1;
        let back = remove_child(&added, &t2, i).unwrap();
        assert_eq!(String::from_utf8_lossy(&back), original);
    }

    #[test]
    fn insert_then_remove_gives_back_every_byte() {
        for original in [
            "{}",
            "{}\n",
            "{\n}\n",
            "{ }",
            "{\"a\":1}",
            "{\n  \"a\": 1\n}\n",
            "{\n    \"a\": {\"b\": 2},\n    \"c\": [3]\n}",
            "{\n\t\"a\": 1\n}",
            "\u{feff}{\r\n  \"a\": 1\r\n}\r\n",
            "  {\"a\": 1 , \"b\" :2 }  ",
        ] {
            round_trip(original);
        }
    }

    #[test]
    fn a_new_member_takes_the_indentation_of_its_neighbours() {
        let b = b"{\n    \"a\": 1\n}\n";
        let out = insert_member(b, &top(b).unwrap(), "k", &json!({"x": 1})).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n    \"a\": 1,\n    \"k\": {\n        \"x\": 1\n    }\n}\n"
        );
    }
}
