//! How numbers, sizes, times and bars are written for people, shared by every report; and how
//! text taken from a session or settings file is made safe for a terminal and fitted to its width.
use std::borrow::Cow;
use std::time::SystemTime;

use console::style;

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in the largest fitting unit: `1.9 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `2000`, `64K`, `1.5M` → bytes (binary units: K = 1024). For `--tool-output-over SIZE`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M') => (&t[..t.len() - 1], 1 << 20),
        Some(b'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok((n * mult as f64) as u64),
        _ => Err(format!(
            "{s:?} is not a size: use bytes, or a number with K or M (e.g. 64K, 2M)"
        )),
    }
}

/// `3 min ago`, `2 h ago`, `5 days ago`.
pub fn ago(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// A bar of `width` cells for `part` of `whole`, full (and red) past the whole.
pub fn bar(part: u64, whole: u64, width: usize) -> String {
    let filled = ((part as f64 / whole as f64) * width as f64).round() as usize;
    let filled = filled.min(width);
    let text = format!("[{}{}]", "█".repeat(filled), "·".repeat(width - filled));
    if part >= whole {
        style(text).red().to_string()
    } else {
        text
    }
}

/// The first `max` characters of `s`, made [`safe`], with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    let s = safe(s);
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.into_owned(),
    }
}

/// Text from a session or a settings file, ready for a terminal (issue 17.6): a file can hold
/// escape sequences that set the window title (OSC 0), write the clipboard (OSC 52) or move the
/// cursor (CSI). Line breaks and tabs become spaces; every other control character (C0, DEL,
/// C1) and the bidirectional overrides that reorder what is shown are written as `\u{…}`, so
/// the text stays readable and nothing in it acts on the terminal. JSON output needs none of
/// this: serde escapes control characters itself.
pub fn safe(s: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`safe`] for text of several lines: each line made safe, the line breaks kept.
pub fn safe_lines(s: &str) -> String {
    s.split('\n').map(safe).collect::<Vec<_>>().join("\n")
}

/// The width of the terminal `term` writes to, or `None` when it is not a terminal (a pipe or a
/// file gets whole lines: scripts read them).
pub fn width_of(term: &console::Term) -> Option<usize> {
    if !term.is_term() {
        return None;
    }
    term.size_checked()
        .map(|(_, cols)| usize::from(cols).max(20))
}

/// `line` cut with `…` to `width` columns (colour codes do not count); whole when `None`.
pub fn fit(line: &str, width: Option<usize>) -> Cow<'_, str> {
    match width {
        Some(w) if console::measure_text_width(line) > w => console::truncate_str(line, w, "…"),
        _ => Cow::Borrowed(line),
    }
}

/// `text` for a terminal `width` wide: each line made [`safe`], and prose word-wrapped (not
/// cut, so nothing said is lost), continuing under the value of a `Label    value` line; a
/// `$ command` line and a word longer than the width (a path) stay whole, to be copied.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    text.split('\n')
        .map(|l| wrap_line(&safe(l), width))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_line(line: &str, width: Option<usize>) -> String {
    match width {
        Some(w) if console::measure_text_width(line) > w && !line.starts_with("$ ") => {
            // The label is found, and the indent measured, without the colour codes (a bold
            // label's codes used to count as columns, and its continuation lines sat 4 too far).
            let plain = console::strip_ansi_codes(line);
            let lead = plain.len() - plain.trim_start().len();
            let label = plain[lead..]
                .find("  ")
                .filter(|&at| at <= 10 && !plain[lead..lead + at].contains(' '))
                .map(|at| {
                    let rest = &plain[lead + at..];
                    lead + at + (rest.len() - rest.trim_start().len())
                });
            let indent = " ".repeat(console::measure_text_width(&plain[..label.unwrap_or(lead)]));
            // Never at a hyphen: paths and session ids are full of them.
            let options = textwrap::Options::new(w)
                .subsequent_indent(&indent)
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            textwrap::wrap(line, options).join("\n")
        }
        _ => line.to_owned(),
    }
}

/// A writer that fits each line to a terminal's width before passing it on: word-wrapped like
/// [`wrap`] (the text was made safe by its writer; colour codes do not count), except lines
/// that start with [`WHOLE`]: commands to copy, which must stay whole.
pub struct FitLines<W: std::io::Write> {
    inner: W,
    width: Option<usize>,
    line: Vec<u8>,
}

/// The indentation that marks a line [`FitLines`] leaves whole (a command line of a plan).
pub const WHOLE: &str = "     ";

impl<W: std::io::Write> FitLines<W> {
    pub fn new(inner: W, width: Option<usize>) -> Self {
        FitLines {
            inner,
            width,
            line: vec![],
        }
    }

    fn emit(&mut self) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let shown = if body.starts_with(WHOLE) {
            body.to_owned()
        } else {
            wrap_line(body, self.width)
        };
        self.inner.write_all(shown.as_bytes())?;
        if text.ends_with('\n') {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for FitLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for chunk in buf.split_inclusive(|&b| b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit()?;
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for FitLines<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(260_000), "260,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_900_000), "1.9 MB");
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hi", 2), "hi");
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("2000"), Ok(2000));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("1.5m"), Ok(1_572_864));
        assert!(parse_size("lots").unwrap_err().contains("64K"));
        assert!(parse_size("-1K").is_err());
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile =
            "title\x1b]0;pwned\x07 clip\x1b]52;c;ZXZpbA==\x1b\\ \x1b[2J\u{9b}31m\u{202e}txt\nnext";
        let shown = safe(hostile);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(
            shown,
            "title\\u{1b}]0;pwned\\u{7} clip\\u{1b}]52;c;ZXZpbA==\\u{1b}\\ \\u{1b}[2J\\u{9b}31m\\u{202e}txt next"
        );
        assert!(matches!(safe("plain é 😀"), Cow::Borrowed(_)));
        assert!(!cut(hostile, 8).contains('\x1b'));
    }

    #[test]
    fn lines_are_fitted_to_the_width() {
        assert_eq!(fit("abcdef", Some(4)), "abc…");
        assert_eq!(fit("abcdef", None), "abcdef");
        assert_eq!(fit("abc", Some(4)), "abc");
        let red = console::style("abcdef")
            .red()
            .force_styling(true)
            .to_string();
        assert_eq!(console::measure_text_width(&fit(&red, Some(4))), 4);
    }

    #[test]
    fn prose_is_wrapped_under_its_label_and_commands_and_paths_stay_whole() {
        assert_eq!(
            wrap("Error    one two three four", Some(16)),
            "Error    one two\n         three\n         four"
        );
        let path = format!("see /{}", "p".repeat(30));
        assert_eq!(wrap(&path, Some(16)), format!("see\n/{}", "p".repeat(30)));
        let cmd = "$ claude --resume=x --model y";
        assert_eq!(wrap(cmd, Some(10)), cmd);
        assert_eq!(wrap("a\u{1b}]0;t\u{7}", None), "a\\u{1b}]0;t\\u{7}");
        // A bold label (as report.rs writes them): the codes take no column.
        let bold = console::style("Error    ").bold().force_styling(true);
        let wrapped = wrap_line(&format!("{bold}one two three four"), Some(16));
        let plain: Vec<String> = wrapped
            .split('\n')
            .map(|l| console::strip_ansi_codes(l).into_owned())
            .collect();
        assert_eq!(
            plain,
            ["Error    one two", "         three", "         four"]
        );
    }

    #[test]
    fn bar_is_clamped() {
        console::set_colors_enabled(false);
        assert_eq!(bar(100, 200, 4), "[██··]");
        assert_eq!(bar(999, 200, 4), "[████]");
        assert_eq!(bar(0, 200, 4), "[····]");
    }
}
