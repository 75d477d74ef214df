//! Where a JSON string ends, fast: one `memchr` for the common string, 64-byte quote/backslash
//! bitmasks for text dense with escaped quotes. The walker in `json_span` spends most of its time
//! here, since a session is mostly long strings (base64 images, tool output).
use memchr::memchr;

use super::json_span::SyntaxError;

/// `b[i]` is the opening quote; returns the index after the closing quote. A quote ends the
/// string when an even number of backslashes precedes it; escapes are not checked one by one.
/// Most strings (keys, base64) end at their first quote, found with one `memchr`; a string whose
/// first quote is escaped is likely text full of `\"` (code, JSON), and goes 64 bytes at a time.
pub fn skip_string(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let j = i + 1;
    let Some(p) = memchr(b'"', &b[j..]) else {
        return Err(unterminated(b));
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
    end_of_escaped_text(b, quote + 1).ok_or_else(|| unterminated(b))
}

fn unterminated(b: &[u8]) -> SyntaxError {
    SyntaxError {
        offset: b.len(),
        what: "unterminated string",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
