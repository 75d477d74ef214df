//! Owns the test bench's own copy of claude's project-folder naming rule (reference §2), written
//! independently of the product's so that tests check one against the other.

use std::path::Path;

const MAX_SLUG: usize = 200;

/// The folder name under `~/.claude/projects/` for a working directory. `path` must already be
/// the real path (symlinks resolved), as claude uses `realpath(cwd)`.
pub fn slug(path: &Path) -> String {
    let text = path.to_string_lossy();
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out = String::with_capacity(units.len());
    for &u in &units {
        let alnum = u < 0x80 && (u as u8).is_ascii_alphanumeric();
        out.push(if alnum { u as u8 as char } else { '-' });
    }
    if out.len() <= MAX_SLUG {
        return out;
    }
    let hash = java_hash(&units).unsigned_abs();
    format!("{}-{}", &out[..MAX_SLUG], base36(u64::from(hash)))
}

/// Java's `String.hashCode` over UTF-16 code units (`h = 31*h + c`, wrapping i32).
fn java_hash(units: &[u16]) -> i32 {
    units.iter().fold(0i32, |h, &c| {
        h.wrapping_shl(5).wrapping_sub(h).wrapping_add(i32::from(c))
    })
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        assert_eq!(slug(Path::new("/home/u/p.dots.v1")), "-home-u-p-dots-v1");
        assert_eq!(
            slug(Path::new("/home/u/p_under score")),
            "-home-u-p-under-score"
        );
        // A non-BMP character is two UTF-16 code units, so two dashes.
        assert_eq!(slug(Path::new("/a/\u{1F600}b")), "-a---b");
        assert_eq!(slug(Path::new("/a/é")), "-a--");
    }

    #[test]
    fn long_paths_are_cut_and_hashed() {
        assert_eq!(
            java_hash(&"hello".encode_utf16().collect::<Vec<_>>()),
            99162322
        );
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        let long = format!("/x/{}", "a".repeat(300));
        let s = slug(Path::new(&long));
        assert_eq!(
            s.len(),
            201 + base36(u64::from(
                java_hash(&long.encode_utf16().collect::<Vec<_>>()).unsigned_abs()
            ))
            .len()
        );
        assert!(s.starts_with("-x-aaa"));
    }
}
