//! Where a JSON string with escapes ends, and whether `JSON.parse` takes it (no raw control
//! character, only valid escapes), in one trip through its bytes: per 64-byte block, bitmasks of
//! quotes, backslashes and control bytes tell the closing quote, the escaped characters and any
//! control byte at once. Text (code, tool output) is where a session's backslashes are, and it was
//! a quarter of the time of planning a trim when the end and the escapes were found in two passes.
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

/// `b[from..]` is inside a string, and `b[from]` is not escaped (`from` is just after the opening
/// quote, or after bytes known to hold no quote, backslash or control byte). Returns the index
/// after the closing quote, or the first problem `JSON.parse` would stop at: a control byte
/// (U+0000–U+001F), a backslash that starts no valid escape, or the end of the line.
pub fn end_of_text(b: &[u8], from: usize) -> Result<usize, SyntaxError> {
    let mut at = from;
    let mut escape_next = false; // the previous block ended in an odd run of backslashes
    while at < b.len() {
        let block = &b[at..b.len().min(at + 64)];
        let (quotes, mut backslashes, controls) = masks(block);
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
        let mut to_check = escaped & in_string & in_block;
        while to_check != 0 {
            let k = to_check.trailing_zeros() as usize;
            if bad_control != 0 && k > bad_control.trailing_zeros() as usize {
                break;
            }
            let c = block[k];
            let valid = SIMPLE_ESCAPE[usize::from(c)]
                || (c == b'u'
                    && b.get(at + k + 1..at + k + 5)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
            if !valid {
                // The backslash is the byte before (in the previous block when k is 0).
                return err(at + k - 1, "invalid escape in a string");
            }
            to_check &= to_check - 1;
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

/// Bitmasks of `"`, `\\` and control bytes (below 0x20) in a block of up to 64 bytes (bit i =
/// byte i; a short block is padded with zeros, which show as control bytes past its end).
fn masks(block: &[u8]) -> (u64, u64, u64) {
    let mut padded = [0u8; 64];
    let bytes: &[u8; 64] = match block.try_into() {
        Ok(full) => full,
        Err(_) => {
            padded[..block.len()].copy_from_slice(block);
            &padded
        }
    };
    let (mut q, mut s, mut c) = (0u64, 0u64, 0u64);
    for (k, lane) in bytes.chunks_exact(16).enumerate() {
        let m = lane_masks(lane.try_into().expect("16 bytes"));
        q |= u64::from(m.quotes) << (16 * k);
        s |= u64::from(m.backslashes) << (16 * k);
        c |= u64::from(m.controls) << (16 * k);
    }
    (q, s, c)
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

#[cfg(not(target_arch = "x86_64"))]
fn lane_masks(lane: &[u8; 16]) -> LaneMasks {
    swar_lane_masks(lane)
}

/// The portable version: per 8-byte word, tests that set the top bit of each matching byte, then
/// a multiply that gathers those 8 bits into one byte.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
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
mod tests {
    use super::*;

    /// The obvious byte loop that `JSON.parse` is, to check the block version against.
    fn reference(b: &[u8], from: usize) -> Result<usize, SyntaxError> {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'\\' => match b.get(i + 1) {
                    None => break,
                    Some(&c) if SIMPLE_ESCAPE[usize::from(c)] => i += 2,
                    Some(b'u')
                        if b.get(i + 2..i + 6)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        i += 6
                    }
                    Some(_) => return err(i, "invalid escape in a string"),
                },
                b'"' => return Ok(i + 1),
                c if c < 0x20 => return err(i, "control character in a string"),
                _ => i += 1,
            }
        }
        err(b.len(), "unterminated string")
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn text_strings_end_and_fail_where_a_byte_loop_says() {
        // Strings of quotes, backslashes, escape letters, hex digits and control bytes, at every
        // length around block boundaries.
        let alphabet = [
            b'"', b'\\', b'\\', b'\\', b'a', b'n', b'u', b'0', b'F', b'q', 1, b'\n',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            for round in 0..60 {
                // Sparse problems in most rounds, so that long strings get past the first block.
                let wild = round % 4 == 0;
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = xorshift(&mut seed);
                        let pick = if wild { r % 12 } else { r % 9 };
                        alphabet[pick as usize]
                    })
                    .collect();
                let (got, want) = (end_of_text(&s, 0), reference(&s, 0));
                assert_eq!(
                    got.as_ref().map_err(|e| (e.offset, e.what)),
                    want.as_ref().map_err(|e| (e.offset, e.what)),
                    "{:?}",
                    String::from_utf8_lossy(&s)
                );
            }
        }
        let mut long = vec![b'\\'; 200];
        long.push(b'"');
        long.push(b'"');
        assert_eq!(
            end_of_text(&long, 0).ok(),
            Some(201),
            "after 200 backslashes the first quote ends it"
        );
        long.insert(0, b'\\');
        assert_eq!(
            end_of_text(&long, 0).ok(),
            Some(203),
            "after 201, the second"
        );
    }

    #[test]
    fn lane_masks_agree_with_a_byte_loop() {
        let mut seed = 7u64;
        for _ in 0..5000 {
            let mut lane = [0u8; 16];
            for c in &mut lane {
                let r = xorshift(&mut seed);
                // Half the bytes from the interesting ones, half from anywhere.
                *c = if r & 1 == 0 {
                    [
                        b'"', b'\\', 0x1f, 0x20, 0, 0x7f, 0x80, 0x9f, 0xa2, 0xdc, 0xff,
                    ][(r >> 8) as usize % 11]
                } else {
                    (r >> 8) as u8
                };
            }
            let naive = lane.iter().enumerate().fold(
                LaneMasks {
                    quotes: 0,
                    backslashes: 0,
                    controls: 0,
                },
                |m, (i, &c)| LaneMasks {
                    quotes: m.quotes | (u16::from(c == b'"') << i),
                    backslashes: m.backslashes | (u16::from(c == b'\\') << i),
                    controls: m.controls | (u16::from(c < 0x20) << i),
                },
            );
            assert_eq!(lane_masks(&lane), naive, "{lane:?}");
            assert_eq!(swar_lane_masks(&lane), naive, "{lane:?}");
        }
    }
}
