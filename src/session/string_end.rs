//! Where a JSON string with escapes ends, and whether `JSON.parse` takes it (no raw control
//! character, only valid escapes), in one trip through its bytes: per 64-byte block, bitmasks of
//! quotes, backslashes and control bytes tell the closing quote, the escaped characters and any
//! control byte at once. Text (code, tool output) is where a session's backslashes are, and it was
//! a quarter of the time of planning a trim when the end and the escapes were found in two passes.
//! The same masks find where a string's plain run ends ([`plain_end`]: base64, keys, most values).
//!
//! On x86-64 CPUs with AVX2 (chosen at run time) the whole block loop is compiled for AVX2: the
//! masks take two 32-byte compares instead of four 16-byte ones, and the escaped bytes are
//! classified with a vector table lookup, so that only `\u` (and invalid) escapes are looked at
//! one by one. Elsewhere (older x86-64 CPUs: SSE2; aarch64: NEON; others: plain Rust on 8-byte
//! words) the same loop gets the masks 16 bytes at a time and looks at every escaped byte.
use super::json_span::SyntaxError;

fn err<T>(offset: usize, what: &'static str) -> Result<T, SyntaxError> {
    Err(SyntaxError { offset, what })
}

/// Bits 0, 2, 4, … of a 64-byte block.
const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The bytes that may follow a backslash on their own: `" \ / b f n r t`.
const SIMPLE_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let ok = *b"\"\\/bfnrt";
    while i < ok.len() {
        table[ok[i] as usize] = true;
        i += 1;
    }
    table
};

/// Bitmasks of a 64-byte block (bit i = byte i).
#[derive(Debug, PartialEq, Eq)]
struct BlockMasks {
    quotes: u64,
    backslashes: u64,
    /// Bytes below 0x20.
    controls: u64,
}

/// `b[from..]` is inside a string, and `b[from]` is not escaped (`from` is just after the opening
/// quote, or after bytes known to hold no quote, backslash or control byte). Returns the index
/// after the closing quote, or the first problem `JSON.parse` would stop at: a control byte
/// (U+0000–U+001F), a backslash that starts no valid escape, or the end of the line.
pub fn end_of_text(b: &[u8], from: usize) -> Result<usize, SyntaxError> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `end_of_text_avx2` only needs AVX2, which the CPU has (checked just above).
        return unsafe { avx2::end_of_text_avx2(b, from) };
    }
    end_of_text_portable(b, from)
}

/// The index of the first quote, backslash or control byte at or after `from` (`b.len()` when
/// there is none): where a string's plain run ends. One pass, 64 bytes per step; base64 media,
/// most of a large session's bytes, are one such run each.
pub fn plain_end(b: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `plain_end_avx2` only needs AVX2, which the CPU has (checked just above).
        return unsafe { avx2::plain_end_avx2(b, from) };
    }
    plain_end_portable(b, from)
}

/// [`plain_end`] with the masks of [`masks`].
fn plain_end_portable(b: &[u8], from: usize) -> usize {
    plain_blocks(b, from, |bytes| {
        let m = masks(bytes);
        m.quotes | m.backslashes | m.controls
    })
}

/// The loop of [`plain_end`] over a function that gives a block's mask of special bytes.
#[inline(always)]
fn plain_blocks(b: &[u8], from: usize, special: impl Fn(&[u8; 64]) -> u64) -> usize {
    let mut at = from;
    while let Some(block) = b.get(at..at + 64) {
        let found = special(block.try_into().expect("64 bytes"));
        if found != 0 {
            return at + found.trailing_zeros() as usize;
        }
        at += 64;
    }
    let tail = b.get(at..).unwrap_or_default();
    at + tail
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .unwrap_or(tail.len())
}

/// [`end_of_text`] with the masks of [`masks`], looking at every escaped byte on its own.
fn end_of_text_portable(b: &[u8], from: usize) -> Result<usize, SyntaxError> {
    blocks::<true>(b, from, masks, |_, escaped| escaped)
}

/// The block loop of [`end_of_text`], over a function that gives the masks of a block and one
/// that narrows the escaped bytes it is passed (a mask) to those that need a look on their own:
/// at least those that are not one of `" \ / b f n r t` (all of them when `MAY_BE_SIMPLE`, which
/// has each one looked up in [`SIMPLE_ESCAPE`]). Inlined into each caller, so that the functions
/// inline too (with AVX2 in [`avx2::end_of_text_avx2`]).
#[inline(always)]
fn blocks<const MAY_BE_SIMPLE: bool>(
    b: &[u8],
    from: usize,
    masks: impl Fn(&[u8; 64]) -> BlockMasks,
    not_simple: impl Fn(&[u8; 64], u64) -> u64,
) -> Result<usize, SyntaxError> {
    let mut at = from;
    let mut escape_next = false; // the previous block ended in an odd run of backslashes
    let mut padded = [0u8; 64];
    while at < b.len() {
        let block = &b[at..b.len().min(at + 64)];
        // A short block is padded with zeros, which show as control bytes past its end.
        let bytes: &[u8; 64] = match block.try_into() {
            Ok(full) => full,
            Err(_) => {
                padded[..block.len()].copy_from_slice(block);
                &padded
            }
        };
        let BlockMasks {
            quotes,
            mut backslashes,
            controls,
        } = masks(bytes);
        let mut escaped = 0u64;
        if escape_next {
            if backslashes & 1 == 1 {
                backslashes &= !1; // that backslash is itself escaped: it starts nothing
            }
            escaped |= 1;
        }
        let starts = backslashes & !(backslashes << 1);
        let after_even_runs = backslashes.wrapping_add(starts & EVEN_BITS) & !backslashes;
        let after_odd_runs = backslashes.wrapping_add(starts & !EVEN_BITS) & !backslashes;
        // After a run that starts on an even bit, the next char is escaped when it sits on an odd
        // bit (odd length), and the other way round.
        escaped |= (after_even_runs & !EVEN_BITS) | (after_odd_runs & EVEN_BITS);
        let ends = quotes & !escaped;
        let in_string = match ends {
            0 => u64::MAX,
            e => (1u64 << e.trailing_zeros()) - 1, // the bytes before the closing quote
        };
        let in_block = match block.len() {
            64 => u64::MAX,
            n => (1u64 << n) - 1,
        };
        let bad_control = controls & in_string & in_block;
        let to_check = escaped & in_string & in_block;
        if to_check != 0 {
            // At least the `\u` escapes and the invalid ones, in order.
            let mut suspects = not_simple(bytes, to_check);
            while suspects != 0 {
                let k = suspects.trailing_zeros() as usize;
                if bad_control != 0 && k > bad_control.trailing_zeros() as usize {
                    break;
                }
                let c = bytes[k];
                let valid = (MAY_BE_SIMPLE && SIMPLE_ESCAPE[usize::from(c)])
                    || (c == b'u'
                        && b.get(at + k + 1..at + k + 5)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
                if !valid {
                    // The backslash is the byte before (in the previous block when k is 0).
                    return err(at + k - 1, "invalid escape in a string");
                }
                suspects &= suspects - 1;
            }
        }
        if bad_control != 0 {
            return err(
                at + bad_control.trailing_zeros() as usize,
                "control character in a string",
            );
        }
        if ends != 0 {
            return Ok(at + ends.trailing_zeros() as usize + 1);
        }
        // Only a full block can be followed by more of the string (a backslash escaped from the
        // block before was taken out of `backslashes`, so it does not lengthen the run).
        escape_next = backslashes.leading_ones() % 2 == 1;
        at += block.len();
    }
    err(b.len(), "unterminated string")
}

/// The masks of a 64-byte block, 16 bytes at a time.
#[inline(always)]
fn masks(bytes: &[u8; 64]) -> BlockMasks {
    let (mut q, mut s, mut c) = (0u64, 0u64, 0u64);
    for (k, lane) in bytes.chunks_exact(16).enumerate() {
        let m = lane_masks(lane.try_into().expect("16 bytes"));
        q |= u64::from(m.quotes) << (16 * k);
        s |= u64::from(m.backslashes) << (16 * k);
        c |= u64::from(m.controls) << (16 * k);
    }
    BlockMasks {
        quotes: q,
        backslashes: s,
        controls: c,
    }
}

/// The AVX2 block loop.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BlockMasks, SyntaxError, blocks, plain_blocks};
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8, _mm256_setr_epi8,
        _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm256_testz_si256,
    };

    /// [`super::plain_end`] compiled for AVX2. A long run (base64) goes 128 bytes a step: the
    /// compares of its four 32-byte parts are OR-ed into one test, with no mask to build. The
    /// step that holds the end, and a short run, go through the 64-byte loop, which tells where.
    #[target_feature(enable = "avx2")]
    pub(super) fn plain_end_avx2(b: &[u8], from: usize) -> usize {
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let top_control = _mm256_set1_epi8(0x1f);
        // 0xff where the byte is a quote, a backslash or below 0x20 (v <= 0x1f exactly where
        // min(v, 0x1f) == v, unsigned).
        let special = |v| {
            let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, top_control), v);
            let quote_or_backslash =
                _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash));
            _mm256_or_si256(control, quote_or_backslash)
        };
        let mut at = from;
        while let Some(step) = b.get(at..at + 128) {
            let part = |k: usize| {
                // SAFETY: `step` is 128 bytes long, so bytes 32k..32k + 32 (k < 4) are inside
                // it, and `loadu` takes any alignment.
                unsafe { _mm256_loadu_si256(step.as_ptr().add(32 * k).cast()) }
            };
            let any = _mm256_or_si256(
                _mm256_or_si256(special(part(0)), special(part(1))),
                _mm256_or_si256(special(part(2)), special(part(3))),
            );
            if _mm256_testz_si256(any, any) == 0 {
                break;
            }
            at += 128;
        }
        plain_blocks(b, at, |bytes| {
            let (lo, hi) = halves(bytes);
            bits(special(lo), special(hi))
        })
    }

    /// [`super::end_of_text`] with every step compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn end_of_text_avx2(b: &[u8], from: usize) -> Result<usize, SyntaxError> {
        // The closures inherit AVX2 from this function, so they may call (and inline) the AVX2
        // functions below.
        blocks::<false>(
            b,
            from,
            |bytes| masks(bytes),
            |bytes, e| not_simple(bytes, e),
        )
    }

    /// The block's two halves.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn halves(bytes: &[u8; 64]) -> (__m256i, __m256i) {
        let p = bytes.as_ptr();
        // SAFETY: both loads read 32 bytes inside `bytes` (at offsets 0 and 32 of its 64), and
        // `loadu` takes any alignment.
        unsafe {
            (
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            )
        }
    }

    /// The 64-bit mask of the bytes where two 32-byte `cmpeq`-style results are all ones.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn bits(lo: __m256i, hi: __m256i) -> u64 {
        let lo = _mm256_movemask_epi8(lo) as u32;
        let hi = _mm256_movemask_epi8(hi) as u32;
        u64::from(lo) | (u64::from(hi) << 32)
    }

    /// The masks of a 64-byte block.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn masks(bytes: &[u8; 64]) -> BlockMasks {
        let (lo, hi) = halves(bytes);
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let top_control = _mm256_set1_epi8(0x1f);
        // v <= 0x1f exactly where min(v, 0x1f) == v (unsigned).
        let control = |v| _mm256_cmpeq_epi8(_mm256_min_epu8(v, top_control), v);
        BlockMasks {
            quotes: bits(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(hi, quote)),
            backslashes: bits(
                _mm256_cmpeq_epi8(lo, backslash),
                _mm256_cmpeq_epi8(hi, backslash),
            ),
            controls: bits(control(lo), control(hi)),
        }
    }

    /// Of the bytes in the mask `escaped`, those that are not one of `" \ / b f n r t`: a byte is
    /// one of them when the bit sets looked up by its high and by its low nibble meet. One bit
    /// per high nibble that holds one of them (2: `" /`, 5: `\`, 6: `b f n`, 7: `r t`); the low
    /// nibble's set holds the bits of the high nibbles it makes one with.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn not_simple(bytes: &[u8; 64], escaped: u64) -> u64 {
        #[rustfmt::skip]
        let by_low = _mm256_setr_epi8(
            0, 0, 0b1101, 0, 0b1000, 0, 0b0100, 0, 0, 0, 0, 0, 0b0010, 0, 0b0100, 0b0001,
            0, 0, 0b1101, 0, 0b1000, 0, 0b0100, 0, 0, 0, 0, 0, 0b0010, 0, 0b0100, 0b0001,
        );
        #[rustfmt::skip]
        let by_high = _mm256_setr_epi8(
            0, 0, 0b0001, 0, 0, 0b0010, 0b0100, 0b1000, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0b0001, 0, 0, 0b0010, 0b0100, 0b1000, 0, 0, 0, 0, 0, 0, 0, 0,
        );
        let nibble = _mm256_set1_epi8(0x0f);
        // 0xff where the byte is not a simple escape.
        let other = |v| {
            let low = _mm256_shuffle_epi8(by_low, _mm256_and_si256(v, nibble));
            let high =
                _mm256_shuffle_epi8(by_high, _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
            _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256())
        };
        let (lo, hi) = halves(bytes);
        escaped & bits(other(lo), other(hi))
    }
}

/// The three masks of 16 bytes.
#[derive(Debug, PartialEq, Eq)]
struct LaneMasks {
    quotes: u16,
    backslashes: u16,
    controls: u16,
}

/// The masks of 16 bytes with SSE2 (part of every x86-64 CPU): compares and `movemask`s, where
/// plain Rust compiles to a byte-at-a-time loop.
#[cfg(target_arch = "x86_64")]
fn lane_masks(lane: &[u8; 16]) -> LaneMasks {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8,
    };
    let lo = i64::from_le_bytes(lane[..8].try_into().expect("8 bytes"));
    let hi = i64::from_le_bytes(lane[8..].try_into().expect("8 bytes"));
    // SAFETY: these intrinsics only need SSE2, which every x86-64 CPU has (it is part of the
    // architecture's baseline, enabled for every x86_64 target); no memory is accessed.
    let (q, s, c) = unsafe {
        let v = _mm_set_epi64x(hi, lo);
        (
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8))),
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8))),
            // v <= 0x1f exactly where min(v, 0x1f) == v (unsigned).
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v)),
        )
    };
    LaneMasks {
        quotes: q as u16,
        backslashes: s as u16,
        controls: c as u16,
    }
}

/// The masks of 16 bytes with NEON (part of every aarch64 CPU, Apple Silicon included): three
/// compares, then each lane's bit weight summed across the vector's halves (aarch64 has no
/// `movemask`).
#[cfg(target_arch = "aarch64")]
fn lane_masks(lane: &[u8; 16]) -> LaneMasks {
    use std::arch::aarch64::{
        uint8x16_t, vaddv_u8, vandq_u8, vceqq_u8, vcleq_u8, vdupq_n_u8, vget_high_u8, vget_low_u8,
        vld1q_u8,
    };
    const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
    // SAFETY: NEON is in every aarch64 target's baseline; both loads read 16 bytes of arrays of
    // 16 bytes.
    unsafe {
        let v = vld1q_u8(lane.as_ptr());
        let weights = vld1q_u8(WEIGHTS.as_ptr());
        let bits = |all_ones: uint8x16_t| {
            let w = vandq_u8(all_ones, weights);
            u16::from(vaddv_u8(vget_low_u8(w))) | (u16::from(vaddv_u8(vget_high_u8(w))) << 8)
        };
        LaneMasks {
            quotes: bits(vceqq_u8(v, vdupq_n_u8(b'"'))),
            backslashes: bits(vceqq_u8(v, vdupq_n_u8(b'\\'))),
            controls: bits(vcleq_u8(v, vdupq_n_u8(0x1f))),
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn lane_masks(lane: &[u8; 16]) -> LaneMasks {
    swar_lane_masks(lane)
}

/// The portable version: per 8-byte word, tests that set the top bit of each matching byte, then
/// a multiply that gathers those 8 bits into one byte.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
fn swar_lane_masks(lane: &[u8; 16]) -> LaneMasks {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let gather = |top_bits: u64| ((top_bits >> 7).wrapping_mul(GATHER)) >> 56;
    // 0x80 where the byte is `c`: no carry crosses bytes, so every byte is exact.
    let equal = |w: u64, c: u8| {
        let x = w ^ (u64::from(c) * ONES);
        gather(!(((x & LOW7) + LOW7) | x | LOW7))
    };
    // 0x80 where the byte is below 0x20: its low 7 bits plus 0x60 stay under 0x80, and its top
    // bit is clear.
    let control = |w: u64| gather(!(((w & LOW7) + 0x60 * ONES) | w) & !LOW7);
    let mut m = LaneMasks {
        quotes: 0,
        backslashes: 0,
        controls: 0,
    };
    for (k, word) in lane.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        m.quotes |= (equal(w, b'"') as u16) << (8 * k);
        m.backslashes |= (equal(w, b'\\') as u16) << (8 * k);
        m.controls |= (control(w) as u16) << (8 * k);
    }
    m
}

#[cfg(test)]
#[path = "string_end_tests.rs"]
mod tests;
