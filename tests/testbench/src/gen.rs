//! Synthetic Claude Code session generator: streams a realistic session JSONL of a requested size
//! (record shapes of reference §3, about 75% base64 images by bytes, compactions, one long-context
//! API error near the end) in bounded memory, and returns what a scanner should find in it.
//!
//! Big payloads are slices of two pregenerated pools (random base64, JSON-escaped text), so a GiB
//! costs little more than the write itself.

mod parts;
mod records;
#[cfg(test)]
mod tests;

use std::io::{self, BufWriter, Write};

use parts::{Blob, Rng, TextPool, base64_pool, iso};
pub use parts::{crc32, header as file_header};

/// The synthetic error text of the last assistant record (interactive wording, reference §1).
pub const ERROR_TEXT: &str = "API Error: Usage credits required for 1M context · run /usage-credits to turn them on, or /model to switch to standard context";
/// Largest decoded image/document (3 MB) and text tool result (2 MB).
const MAX_BLOB: u64 = 3_000_000;
const MAX_TEXT: u64 = 2_000_000;
const B64_POOL: usize = 4_100_000;
const TEXT_POOL: usize = 3 << 20;
/// Context tokens stay a little under this (the 1M window).
const TOKEN_CAP: u64 = 990_000;
const START_MS: u64 = 1_795_165_200_000; // 2026-11-20T09:00:00Z

const SCREENS: &[(u32, u32)] = &[
    (1280, 800),
    (2560, 1600),
    (3024, 1964),
    (1920, 1080),
    (1440, 900),
    (2880, 1800),
    (390, 844),
];
const PHOTOS: &[(u32, u32)] = &[
    (4032, 3024),
    (3024, 4032),
    (1600, 1200),
    (800, 600),
    (640, 480),
];

#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Stop adding turns once the file is about this many bytes (it ends a little past it).
    pub size: u64,
    pub seed: u64,
    /// Wanted share of all bytes that are base64 payload (including the `toolUseResult` copies).
    pub image_share: f64,
    /// Write one text tool result whose line is about this long.
    pub huge_line: Option<u64>,
    /// Defaults to a uuid drawn from the seed.
    pub session_id: Option<String>,
    pub cwd: String,
    pub version: String,
    pub model: String,
    pub entrypoint: String,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            size: 64 << 20,
            seed: 1,
            image_share: 0.75,
            huge_line: None,
            session_id: None,
            cwd: "/home/u/proj".into(),
            version: "2.1.328".into(),
            model: "claude-opus-4-6".into(),
            entrypoint: "cli".into(),
        }
    }
}

/// One base64 block in `message.content` (line numbers are 1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockInfo {
    pub line: u64,
    /// `image` or `document`.
    pub kind: &'static str,
    pub media_type: &'static str,
    /// 0 for documents.
    pub width: u32,
    pub height: u32,
    /// Length of the base64 `data` string (no padding; decoded size is `data_len / 4 * 3`).
    pub data_len: u64,
}

/// What was written, for comparing a scanner's findings against.
#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    pub session_id: String,
    pub bytes: u64,
    /// Lines (every line is one record).
    pub records: u64,
    /// Longest line in bytes, without its newline.
    pub largest_line: u64,
    pub user_records: u64,
    /// Including the synthetic error record.
    pub assistant_records: u64,
    /// Distinct non-synthetic `message.id`s.
    pub assistant_messages: u64,
    pub compactions: u32,
    /// Local-command records holding `Error during compaction: …`.
    pub failed_compactions: u32,
    /// Line of the last `compact_boundary` (0 if none).
    pub last_boundary_line: u64,
    /// Base64 blocks in `message.content`, whole file.
    pub image_blocks: u64,
    pub document_blocks: u64,
    /// Base64 copies outside `message.content` (`toolUseResult`).
    pub duplicate_copies: u64,
    /// All base64 payload characters, copies included.
    pub base64_bytes: u64,
    /// Base64 blocks in `message.content` after the last boundary, in file order.
    pub after_boundary: Vec<BlockInfo>,
    /// input + cache_read + cache_creation of the last non-synthetic assistant record.
    pub context_tokens: u64,
    /// That record's output_tokens.
    pub last_output_tokens: u64,
    pub last_error_line: u64,
    pub last_uuid: String,
}

impl GenSummary {
    pub fn images_after_boundary(&self) -> impl Iterator<Item = &BlockInfo> {
        self.after_boundary.iter().filter(|b| b.kind == "image")
    }

    pub fn image_share(&self) -> f64 {
        self.base64_bytes as f64 / self.bytes.max(1) as f64
    }
}

/// Writes a whole session to `out` (buffered here) and returns its summary.
pub fn write_session(out: impl Write, opts: &GenOptions) -> io::Result<GenSummary> {
    let mut rng = Rng::new(opts.seed);
    let sid = opts.session_id.clone().unwrap_or_else(|| rng.uuid());
    let js = |s: &str| serde_json::to_string(s).expect("string serializes");
    let tail = format!(
        ",\"entrypoint\":{},\"cwd\":{},\"sessionId\":{},\"version\":{}}}",
        js(&opts.entrypoint),
        js(&opts.cwd),
        js(&sid),
        js(&opts.version)
    );
    let b64 = base64_pool(&mut rng, B64_POOL);
    let text = TextPool::new(&mut rng, TEXT_POOL);
    let mut g = Gen {
        o: opts,
        out: BufWriter::with_capacity(1 << 20, out),
        model: js(&opts.model),
        pos: 0,
        line_start: 0,
        rng,
        b64,
        text,
        tail,
        parent: None,
        clock: START_MS + opts.seed % 86_400_000,
        ctx: 0,
        pending: 18_000,
        s: GenSummary {
            session_id: sid,
            ..GenSummary::default()
        },
    };
    g.run()?;
    g.out.flush()?;
    g.s.bytes = g.pos;
    Ok(g.s)
}

struct Gen<'o, W: Write> {
    o: &'o GenOptions,
    out: BufWriter<W>,
    model: String,
    pos: u64,
    line_start: u64,
    rng: Rng,
    b64: Vec<u8>,
    text: TextPool,
    /// `,"entrypoint":…,"version":…}` closing every chained record.
    tail: String,
    parent: Option<String>,
    clock: u64,
    ctx: u64,
    pending: u64,
    s: GenSummary,
}

impl<W: Write> Gen<'_, W> {
    fn run(&mut self) -> io::Result<()> {
        let size = self.o.size as f64;
        let marks: &[f64] = if self.rng.chance(0.5) {
            &[0.35, 0.75]
        } else {
            &[0.25, 0.55, 0.8]
        };
        let jitter: Vec<f64> = marks
            .iter()
            .map(|m| (m + (self.rng.unit() - 0.5) * 0.04) * size)
            .collect();
        let mut marks = jitter.into_iter();
        let mut next_mark = marks.next();
        let mut huge = self.o.huge_line;
        let leaf = self.rng.uuid();
        self.plain(&format!("{{\"type\":\"summary\",\"summary\":\"Fix flaky login e2e test\",\"leafUuid\":\"{leaf}\"}}"))?;
        self.queue_ops("Take screenshots of the login page and fix the layout")?;
        loop {
            self.turn()?;
            if let Some(h) = huge.filter(|_| self.pos as f64 >= 0.45 * size) {
                self.huge_turn(h)?;
                huge = None;
            }
            if next_mark.is_some_and(|m| self.pos as f64 >= m) {
                next_mark = marks.next();
                self.compact(next_mark.is_none())?;
            } else if self.pos + 8192 >= self.o.size {
                break;
            }
        }
        while next_mark.is_some() {
            next_mark = marks.next();
            self.compact(next_mark.is_none())?;
            self.turn()?;
        }
        if let Some(h) = huge {
            self.huge_turn(h)?;
        }
        self.prompt("continue", false)?;
        self.api_error()?;
        self.plain(&format!(
            "{{\"type\":\"last-prompt\",\"lastPrompt\":\"continue\",\"sessionId\":\"{}\"}}",
            self.s.session_id
        ))
    }

    fn put(&mut self, s: &str) -> io::Result<()> {
        self.pos += s.len() as u64;
        self.out.write_all(s.as_bytes())
    }

    fn end_line(&mut self) -> io::Result<()> {
        self.put("\n")?;
        self.s.largest_line = self.s.largest_line.max(self.pos - self.line_start - 1);
        self.s.records += 1;
        self.line_start = self.pos;
        Ok(())
    }

    /// A record outside the uuid chain.
    fn plain(&mut self, json: &str) -> io::Result<()> {
        self.put(json)?;
        self.end_line()
    }

    /// Opens a chained record up to and including its `type`.
    fn open(&mut self, ty: &str) -> io::Result<()> {
        let p = self
            .parent
            .as_ref()
            .map_or("null".into(), |p| format!("\"{p}\""));
        self.put(&format!(
            "{{\"parentUuid\":{p},\"isSidechain\":false,\"type\":\"{ty}\","
        ))
    }

    /// Writes `uuid` and `timestamp`; the record becomes the chain's tip.
    fn stamp(&mut self, uuid: String) -> io::Result<()> {
        self.clock += self.rng.log_range(150, 40_000);
        self.put(&format!(
            ",\"uuid\":\"{uuid}\",\"timestamp\":\"{}\"",
            iso(self.clock)
        ))?;
        self.s.last_uuid.clone_from(&uuid);
        self.parent = Some(uuid);
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        let tail = std::mem::take(&mut self.tail);
        self.put(&tail)?;
        self.tail = tail;
        self.end_line()
    }

    /// Writes about `want` bytes of escaped text; returns the pool range and its line count.
    fn text(&mut self, want: u64) -> io::Result<(usize, usize, u64)> {
        let (a, b, lines) = self.text.slice(&mut self.rng, want as usize);
        self.text_at(a, b)?;
        Ok((a, b, lines))
    }

    fn text_at(&mut self, a: usize, b: usize) -> io::Result<()> {
        self.pos += (b - a) as u64;
        self.out.write_all(&self.text.buf.as_bytes()[a..b])
    }

    fn text_string(&mut self, lo: u64, hi: u64) -> String {
        let want = self.rng.log_range(lo, hi) as usize;
        let (a, b, _) = self.text.slice(&mut self.rng, want);
        self.text.buf[a..b].to_string()
    }

    fn data(&mut self, b: &Blob) -> io::Result<()> {
        self.put(&b.head)?;
        self.pos += b.filler as u64;
        self.s.base64_bytes += b.data_len();
        self.out.write_all(&self.b64[b.off..b.off + b.filler])
    }

    /// A base64 block inside `message.content`.
    fn block(&mut self, b: &Blob) -> io::Result<()> {
        let kind = if b.media == "application/pdf" {
            "document"
        } else {
            "image"
        };
        let line = self.s.records + 1;
        self.put(&format!("{{\"type\":\"{kind}\",\"source\":{{\"type\":\"base64\",\"media_type\":\"{}\",\"data\":\"", b.media))?;
        self.data(b)?;
        self.put("\"}}")?;
        let (w, h) = (b.w, b.h);
        if kind == "image" {
            self.s.image_blocks += 1;
            self.pending += image_tokens(w, h);
        } else {
            self.s.document_blocks += 1;
            self.pending += b.data_len() / 8;
        }
        let info = BlockInfo {
            line,
            kind,
            media_type: b.media,
            width: w,
            height: h,
            data_len: b.data_len(),
        };
        self.s.after_boundary.push(info);
        Ok(())
    }

    /// Largest payload that keeps small files many-turned and the end near `size`.
    fn cap(&self, lo: u64, hi: u64) -> u64 {
        let left = self.o.size.saturating_sub(self.pos) / 3;
        hi.min(self.o.size / 16).min(left).max(lo)
    }

    fn blob(&mut self, pdf: bool) -> Blob {
        let r = if pdf { 2.0 } else { self.rng.unit() };
        let (media, dims, lo, hi) = match r {
            r if r < 0.6 => ("image/png", SCREENS, 200_000, MAX_BLOB),
            r if r < 0.92 => ("image/jpeg", PHOTOS, 50_000, 1_500_000),
            r if r < 0.96 => ("image/webp", SCREENS, 50_000, 800_000),
            r if r < 1.0 => ("image/gif", &[(480u32, 270u32)][..], 50_000, 500_000),
            _ => ("application/pdf", &[(0u32, 0u32)][..], 100_000, 2_000_000),
        };
        let (w, h) = *self.rng.pick(dims);
        let raw = self.rng.log_range(lo, hi).min(self.cap(50_000, MAX_BLOB));
        Blob::new(&mut self.rng, self.b64.len(), media, w, h, raw)
    }
}

/// Image token estimate: long edge scaled to at most 1568 px, then width × height / 750.
pub fn image_tokens(w: u32, h: u32) -> u64 {
    let scale = (1568.0 / f64::from(w.max(h))).min(1.0);
    (f64::from(w) * scale * f64::from(h) * scale / 750.0).round() as u64
}
