//! How numbers, sizes, times and bars are written for people, shared by every report.
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

/// The first `max` characters of `s`, with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
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
    fn bar_is_clamped() {
        console::set_colors_enabled(false);
        assert_eq!(bar(100, 200, 4), "[██··]");
        assert_eq!(bar(999, 200, 4), "[████]");
        assert_eq!(bar(0, 200, 4), "[····]");
    }
}
