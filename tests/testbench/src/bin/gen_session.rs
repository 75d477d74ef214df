//! Owns the `gen_session` command: writes a synthetic, realistic Claude Code session JSONL of a
//! given size (see `ccrescue_testbench::gen`) and prints its summary as JSON on stdout.
//!
//! ```text
//! gen_session --size 1G --out FILE|- [--seed N] [--image-share 0.75] [--huge-line 100M]
//!             [--session-id UUID] [--cwd DIR]
//! ```
//! Sizes take a K/M/G suffix (binary units). With `--out -` the session goes to stdout and the
//! summary to stderr. Timing goes to stderr. `gen_session --longest-line FILE` instead prints the
//! length in bytes of FILE's longest line (without its newline), for any file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ccrescue_testbench::r#gen::{GenOptions, GenSummary, write_session};
use serde_json::json;

const USAGE: &str = "usage: gen_session --size 1G --out FILE|- [--seed N] [--image-share 0.75] [--huge-line 100M] [--session-id UUID] [--cwd DIR]\n       gen_session --longest-line FILE";

fn main() {
    if let Err(e) = run() {
        eprintln!("gen_session: {e:#}\n{USAGE}");
        std::process::exit(2);
    }
}

fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => bail!("bad size suffix in {s:?} (use K, M or G)"),
            };
            (&s[..i], mult)
        }
        _ => (s, 1),
    };
    let n: f64 = num.parse().with_context(|| format!("bad size {s:?}"))?;
    if !(n.is_finite() && n > 0.0) {
        bail!("bad size {s:?}");
    }
    Ok((n * mult as f64) as u64)
}

fn run() -> Result<()> {
    let mut opts = GenOptions::default();
    let (mut out, mut size) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let val = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--size" => size = Some(parse_size(&val)?),
            "--out" => out = Some(val),
            "--seed" => opts.seed = val.parse().context("bad --seed")?,
            "--image-share" => opts.image_share = val.parse().context("bad --image-share")?,
            "--huge-line" => opts.huge_line = Some(parse_size(&val)?),
            "--session-id" => opts.session_id = Some(val),
            "--cwd" => opts.cwd = val,
            "--longest-line" => {
                println!(
                    "{}",
                    longest_line(File::open(&val).with_context(|| format!("opening {val}"))?)?
                );
                return Ok(());
            }
            _ => bail!("unknown flag {flag}"),
        }
    }
    opts.size = size.context("--size is required")?;
    let out = out.context("--out is required")?;
    if !(0.0..1.0).contains(&opts.image_share) {
        bail!("--image-share must be in [0, 1)");
    }
    let start = Instant::now();
    let summary = if out == "-" {
        write_session(io::stdout().lock(), &opts)?
    } else {
        let file = File::create(&out).with_context(|| format!("creating {out}"))?;
        let s = write_session(&file, &opts)?;
        file.sync_data().ok();
        s
    };
    let secs = start.elapsed().as_secs_f64();
    let mib = summary.bytes as f64 / (1 << 20) as f64;
    eprintln!(
        "gen_session: {mib:.1} MiB in {secs:.2} s ({:.0} MiB/s)",
        mib / secs.max(1e-9)
    );
    let doc = serde_json::to_string_pretty(&to_json(&summary))?;
    if out == "-" {
        eprintln!("{doc}");
    } else {
        writeln!(io::stdout(), "{doc}")?;
    }
    Ok(())
}

fn longest_line(mut file: File) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut longest, mut current) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(longest.max(current));
        }
        let mut rest = &buf[..n];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            longest = longest.max(current + i as u64);
            current = 0;
            rest = &rest[i + 1..];
        }
        current += rest.len() as u64;
    }
}

fn to_json(s: &GenSummary) -> serde_json::Value {
    let images: Vec<_> = s.images_after_boundary().collect();
    let largest: Vec<_> = {
        let mut v: Vec<_> = s.after_boundary.iter().collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.data_len));
        v.iter()
            .take(10)
            .map(|b| json!({"line": b.line, "kind": b.kind, "media_type": b.media_type, "width": b.width, "height": b.height, "data_len": b.data_len}))
            .collect()
    };
    json!({
        "session_id": s.session_id,
        "bytes": s.bytes,
        "records": s.records,
        "largest_line": s.largest_line,
        "user_records": s.user_records,
        "assistant_records": s.assistant_records,
        "assistant_messages": s.assistant_messages,
        "compactions": s.compactions,
        "failed_compactions": s.failed_compactions,
        "last_boundary_line": s.last_boundary_line,
        "image_blocks": s.image_blocks,
        "document_blocks": s.document_blocks,
        "duplicate_copies": s.duplicate_copies,
        "base64_bytes": s.base64_bytes,
        "image_share": (s.image_share() * 1000.0).round() / 1000.0,
        "after_last_boundary": {
            "images": images.len(),
            "image_data_len": images.iter().map(|b| b.data_len).sum::<u64>(),
            "documents": s.after_boundary.len() - images.len(),
            "largest": largest,
        },
        "context_tokens": s.context_tokens,
        "last_output_tokens": s.last_output_tokens,
        "last_error_line": s.last_error_line,
        "last_uuid": s.last_uuid,
    })
}
