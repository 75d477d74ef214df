//! Building blocks of the session generator: a seeded PRNG, the base64 and JSON-escaped text pools the
//! big payloads are sliced from, real image/PDF headers, and RFC 3339 timestamps.
use base64::prelude::{BASE64_STANDARD, Engine as _};

/// splitmix64: tiny, fast and good enough for synthetic data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5EED_CC0D_E000_0001)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `lo..=hi` (many small values, a few large ones).
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.unit()).exp() as u64).clamp(lo, hi)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// An Anthropic-style id: `prefix` followed by `n` base62 characters.
    pub fn id(&mut self, prefix: &str, n: usize) -> String {
        const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut s = String::from(prefix);
        s.extend((0..n).map(|_| *self.pick(ALNUM) as char));
        s
    }
}

/// Random base64 characters; any slice of a multiple of 4 decodes to (random) bytes.
pub fn base64_pool(rng: &mut Rng, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|_| ALPHABET[(rng.next() >> 58) as usize])
        .collect()
}

/// JSON-escaped text (the inside of a JSON string), cut only at line boundaries.
pub struct TextPool {
    pub buf: String,
    cuts: Vec<usize>,
}

impl TextPool {
    pub fn new(rng: &mut Rng, len: usize) -> Self {
        const WORDS: &[&str] = &[
            "config",
            "handler",
            "résumé",
            "naïve",
            "日本語",
            "Привет",
            "über",
            "€42",
            "🚀",
            "数据",
            "ok",
            "error",
            "path",
            "value",
            "état",
            "Ωmega",
            "tokio",
            "serde",
            "½",
            "→",
        ];
        let (mut buf, mut cuts) = (String::with_capacity(len + 512), vec![0]);
        let mut raw = String::new();
        while buf.len() < len {
            let (w1, w2, n) = (*rng.pick(WORDS), *rng.pick(WORDS), rng.range(0, 99_999));
            raw.clear();
            raw.push_str(&match rng.range(0, 7) {
                0 => format!("    let {w1}_{n} = format!(\"{{}}\\\\{{}}\", dir, \"{w2}\");"),
                1 => format!("2026-11-20T09:{:02}:{:02}Z INFO  server: \"GET /api/{w1}/{n}\" took {}ms", n % 60, n % 59, n % 997),
                2 => format!("\u{1b}[32m✓\u{1b}[0m test {w1}::{w2}_{n} ... ok"),
                3 => format!("{{\"id\": {n}, \"name\": \"{w1} \\\"Pro\\\"\", \"path\": \"C:\\\\Users\\\\dev\\\\{w2}.txt\"}}"),
                4 => format!("Grüße aus Köln — {w1} {w2}, 日本語のテキスト, Привет мир 🚀 #{n}"),
                5 => format!("{n}\t{w1}\t{w2}\t{}", n % 7),
                6 => format!("src/{w1}/{w2}.rs:{}:{}: warning: unused variable `{w1}`", n % 900, n % 80),
                _ => String::new(),
            });
            raw.push('\n');
            let quoted = serde_json::to_string(&raw).expect("string serializes");
            buf.push_str(&quoted[1..quoted.len() - 1]);
            cuts.push(buf.len());
        }
        TextPool { buf, cuts }
    }

    /// A `(start, end, lines)` slice of about `want` bytes (at least `want`, shorter only when the
    /// pool is).
    pub fn slice(&self, rng: &mut Rng, want: usize) -> (usize, usize, u64) {
        let fits = self
            .cuts
            .partition_point(|&c| c + want <= self.buf.len())
            .max(1);
        let start_i = rng.next() as usize % fits;
        let start = self.cuts[start_i];
        let end_i = self
            .cuts
            .partition_point(|&c| c < start + want)
            .min(self.cuts.len() - 1);
        (start, self.cuts[end_i], (end_i - start_i) as u64)
    }
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// The first bytes of a real file of this media type and size (length always a multiple of 3, so
/// its base64 can be followed directly by filler base64).
pub fn header(media: &str, w: u32, h: u32, total: u64) -> Vec<u8> {
    let (wb, hb) = (w.to_be_bytes(), h.to_be_bytes());
    match media {
        "image/png" => {
            let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            v.extend_from_slice(&wb);
            v.extend_from_slice(&hb);
            v.extend_from_slice(&[8, 6, 0, 0, 0]);
            let crc = crc32(&v[12..]);
            v.extend_from_slice(&crc.to_be_bytes());
            v // 33 bytes
        }
        "image/jpeg" => {
            let mut v = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
            v.extend_from_slice(b"\xff\xdb\0\x43\0");
            v.extend((0..64u8).map(|i| 1 + i / 4));
            v.extend_from_slice(b"\xff\xc0\0\x11\x08");
            v.extend_from_slice(&[hb[2], hb[3], wb[2], wb[3]]);
            v.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
            v // 108 bytes
        }
        "image/gif" => {
            let mut v = b"GIF89a".to_vec();
            v.extend_from_slice(&(w as u16).to_le_bytes());
            v.extend_from_slice(&(h as u16).to_le_bytes());
            v.extend_from_slice(&[0xf7, 0, 0, 0, 0]);
            v // 15 bytes
        }
        "image/webp" => {
            let mut v = b"RIFF".to_vec();
            v.extend_from_slice(&(total.saturating_sub(8) as u32).to_le_bytes());
            v.extend_from_slice(b"WEBPVP8X\x0a\0\0\0\0\0\0\0");
            v.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
            v.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
            v // 30 bytes
        }
        _ => b"%PDF-1.7\n".to_vec(), // application/pdf, 9 bytes
    }
}

/// A base64 payload: the encoded header, then `filler` characters of the pool from `off`.
pub struct Blob {
    pub media: &'static str,
    pub w: u32,
    pub h: u32,
    pub head: String,
    pub off: usize,
    pub filler: usize,
}

impl Blob {
    /// `raw` is the wanted decoded size; the pool must hold at least `raw * 4 / 3` characters.
    pub fn new(
        rng: &mut Rng,
        pool_len: usize,
        media: &'static str,
        w: u32,
        h: u32,
        raw: u64,
    ) -> Self {
        let hdr = header(media, w, h, raw);
        let filler = (raw.saturating_sub(hdr.len() as u64) / 3 * 4) as usize;
        let off = rng.next() as usize % (pool_len - filler + 1);
        Blob {
            media,
            w,
            h,
            head: BASE64_STANDARD.encode(&hdr),
            off,
            filler,
        }
    }

    pub fn data_len(&self) -> u64 {
        (self.head.len() + self.filler) as u64
    }

    pub fn raw_len(&self) -> u64 {
        self.data_len() / 4 * 3
    }
}

/// RFC 3339 UTC with milliseconds, as claude writes `timestamp`.
pub fn iso(ms: u64) -> String {
    let (secs, days) = (ms / 1000, (ms / 86_400_000) as i64);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let sod = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_headers() {
        assert_eq!(iso(1_795_165_200_123), "2026-11-20T09:00:00.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        for m in [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
        ] {
            assert_eq!(header(m, 1280, 800, 100_000).len() % 3, 0, "{m}");
        }
        let jpeg = header("image/jpeg", 3024, 1964, 100_000);
        assert_eq!(
            &jpeg[jpeg.len() - 19..jpeg.len() - 13],
            &[0xff, 0xc0, 0, 0x11, 8, 0x07]
        );
    }
}
