//! Tests of `string_end`: each path (AVX2, SSE2, plain Rust) against a byte loop.
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
fn plain_runs_end_where_a_byte_loop_says() {
    // Base64 with sparse quotes, backslashes, control bytes, and the bytes on either side of
    // each test (0x20, 0x1f, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff), at every length and
    // start around the 64-byte steps.
    let plain = b"ABCxyz019+/= !#[]\x7f\x80\xff";
    let special = [b'"', b'\\', 0, 0x1f, b'\n'];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..330 {
        for round in 0..20 {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    let r = xorshift(&mut seed);
                    match r % (8 + 40 * (round % 3)) {
                        0 => special[(r >> 8) as usize % special.len()],
                        _ => plain[(r >> 16) as usize % plain.len()],
                    }
                })
                .collect();
            for from in [0, 1, 7, 63, 64, 65, 127, 128, 129]
                .into_iter()
                .filter(|&f| f <= len)
            {
                let want = from
                    + s[from..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                        .unwrap_or(len - from);
                let show = String::from_utf8_lossy(&s);
                assert_eq!(plain_end(&s, from), want, "from {from} in {show:?}");
                assert_eq!(
                    plain_end_portable(&s, from),
                    want,
                    "from {from} in {show:?}"
                );
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    let got = unsafe { avx2::plain_end_avx2(&s, from) };
                    assert_eq!(got, want, "from {from} in {show:?}");
                }
            }
        }
    }
}

#[test]
fn text_strings_end_and_fail_where_a_byte_loop_says() {
    // Strings of quotes, backslashes, escape letters, hex digits and control bytes, at every
    // length around block boundaries.
    // The second alphabet has every simple escape letter, and bytes next to them in the
    // nibble tables of the AVX2 version.
    let alphabets = [
        [
            b'"', b'\\', b'\\', b'\\', b'a', b'n', b'u', b'0', b'F', b'q', 1, b'\n',
        ],
        [
            b'"', b'\\', b'\\', b'/', b'b', b't', b'u', b'f', b'r', b'.', 0x1f, 0xdc,
        ],
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for alphabet in alphabets {
        for len in 0..300 {
            for round in 0..60 {
                // Sparse problems in most rounds, so that long strings get past the first
                // block.
                let wild = round % 4 == 0;
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = xorshift(&mut seed);
                        let pick = if wild { r % 12 } else { r % 9 };
                        alphabet[pick as usize]
                    })
                    .collect();
                let want = reference(&s, 0);
                let want = want.as_ref().map_err(|e| (e.offset, e.what));
                let show = String::from_utf8_lossy(&s);
                // The dispatching function, and each version it may choose.
                let got = end_of_text(&s, 0);
                assert_eq!(
                    got.as_ref().map_err(|e| (e.offset, e.what)),
                    want,
                    "{show:?}"
                );
                let got = end_of_text_portable(&s, 0);
                assert_eq!(
                    got.as_ref().map_err(|e| (e.offset, e.what)),
                    want,
                    "{show:?}"
                );
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    let got = unsafe { avx2::end_of_text_avx2(&s, 0) };
                    assert_eq!(
                        got.as_ref().map_err(|e| (e.offset, e.what)),
                        want,
                        "{show:?}"
                    );
                }
            }
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

/// Only where the CPU has AVX2 (x86-64 CPUs since 2013; the development machine and CI's
/// runners have it): elsewhere it passes without checking anything.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_masks_agree_with_a_byte_loop() {
    if !std::is_x86_feature_detected!("avx2") {
        return;
    }
    let mut seed = 11u64;
    for _ in 0..5000 {
        let mut block = [0u8; 64];
        for c in &mut block {
            let r = xorshift(&mut seed);
            // Half the bytes from the interesting ones, half from anywhere.
            *c = if r & 1 == 0 {
                [
                    b'"',
                    b'\\',
                    0x1f,
                    0x20,
                    0,
                    0x7f,
                    0x80,
                    0x9f,
                    0xa2,
                    0xdc,
                    0xff,
                    b'/',
                    b'b',
                    b'f',
                    b'n',
                    b'r',
                    b't',
                    b'u',
                    b'c',
                    b'"' | 0x80,
                    b'\\' | 0x80,
                    0x22 + 0x30,
                ][(r >> 8) as usize % 22]
            } else {
                (r >> 8) as u8
            };
        }
        let bit = |f: &dyn Fn(u8) -> bool| {
            (block.iter().enumerate()).fold(0u64, |m, (i, &c)| m | (u64::from(f(c)) << i))
        };
        let naive = BlockMasks {
            quotes: bit(&|c| c == b'"'),
            backslashes: bit(&|c| c == b'\\'),
            controls: bit(&|c| c < 0x20),
        };
        let escaped = xorshift(&mut seed) | xorshift(&mut seed);
        let naive_not_simple = escaped & bit(&|c| !SIMPLE_ESCAPE[usize::from(c)]);
        // SAFETY: the CPU has AVX2 (checked at the start).
        let (masks, not_simple) =
            unsafe { (avx2::masks(&block), avx2::not_simple(&block, escaped)) };
        assert_eq!(masks, naive, "{block:?}");
        assert_eq!(not_simple, naive_not_simple, "{block:?}");
        assert_eq!(super::masks(&block), naive, "{block:?}");
    }
}
