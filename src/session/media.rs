//! Base64 image and document blocks: their size, their pixel dimensions (read from the image
//! header inside the base64, decoding only a prefix) and the context tokens they cost.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

/// The API scales an image so that its long edge is at most this many pixels.
pub const MAX_LONG_EDGE: u64 = 1568;
/// Pixels per token once scaled (Anthropic's published rule: tokens ≈ width × height / 750).
pub const PIXELS_PER_TOKEN: u64 = 750;
/// The most one image can cost (a full-size one).
pub const MAX_IMAGE_TOKENS: u64 = MAX_LONG_EDGE * MAX_LONG_EDGE / PIXELS_PER_TOKEN;
/// An image whose header cannot be read is estimated from its size: decoded bytes per token
/// (a 2 MB screenshot comes out near the full-size cost), capped at [`MAX_IMAGE_TOKENS`].
pub const IMAGE_BYTES_PER_TOKEN: u64 = 600;
/// A rough cost of a base64 document (a PDF is sent as page images plus text): decoded bytes per token.
pub const DOCUMENT_BYTES_PER_TOKEN: u64 = 40;

/// Base64 characters decoded to find an image header; JPEG headers behind large EXIF blocks need more.
const HEADER_PREFIXES: [usize; 3] = [64, 16 * 1024, 256 * 1024];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Document,
}

/// One base64 block found in `message.content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaBlock {
    /// 1-based line of the session file.
    pub line: u64,
    pub kind: MediaKind,
    pub media_type: String,
    /// Bytes of base64 text in the file.
    pub bytes: u64,
    /// Pixel size, when the header could be read.
    pub width: Option<u64>,
    pub height: Option<u64>,
    /// Estimated context tokens this block costs on every request.
    pub est_tokens: u64,
}

/// Tokens an image of this size costs: long edge scaled to ≤ 1568 px, then w·h/750.
pub fn image_tokens(width: u64, height: u64) -> u64 {
    let long = width.max(height);
    let (w, h) = if long > MAX_LONG_EDGE {
        (width * MAX_LONG_EDGE / long, height * MAX_LONG_EDGE / long)
    } else {
        (width, height)
    };
    (w * h).div_ceil(PIXELS_PER_TOKEN).max(1)
}

/// About the size of the file (image, PDF) a base64 text of `base64_len` bytes holds: what the
/// placeholders and trim's summary call the image's size.
pub fn decoded_bytes(base64_len: u64) -> u64 {
    base64_len * 3 / 4
}

/// Width and height of the image in `base64`, decoding no more of it than the header needs.
pub fn image_dimensions(base64: &[u8]) -> Option<(u64, u64)> {
    for prefix in HEADER_PREFIXES {
        let take = (prefix.min(base64.len())) / 4 * 4;
        let Ok(bytes) = STANDARD.decode(&base64[..take]) else {
            return None;
        };
        if let Ok(size) = imagesize::blob_size(&bytes) {
            return Some((size.width as u64, size.height as u64));
        }
        if take == base64.len() / 4 * 4 {
            break;
        }
    }
    None
}

/// Builds the block record for one base64 source.
pub fn measure(line: u64, kind: MediaKind, media_type: String, data: &[u8]) -> MediaBlock {
    let bytes = data.len() as u64;
    let (dims, est_tokens) = match kind {
        MediaKind::Image => match image_dimensions(data) {
            Some((w, h)) => (Some((w, h)), image_tokens(w, h)),
            None => (
                None,
                (bytes * 3 / 4 / IMAGE_BYTES_PER_TOKEN).clamp(1, MAX_IMAGE_TOKENS),
            ),
        },
        MediaKind::Document => (None, (bytes * 3 / 4 / DOCUMENT_BYTES_PER_TOKEN).max(1)),
    };
    MediaBlock {
        line,
        kind,
        media_type,
        bytes,
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
        est_tokens,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG signature and IHDR chunk for the given size (enough for a header reader).
    pub fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    /// A JPEG with an APPn segment of `pad` bytes before its SOF0 header.
    fn jpeg_header(w: u16, h: u16, pad: usize) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE1];
        v.extend_from_slice(&((pad + 2) as u16).to_be_bytes());
        v.extend(std::iter::repeat_n(0u8, pad));
        v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        v
    }

    fn gif_header(w: u16, h: u16) -> Vec<u8> {
        let mut v = b"GIF89a".to_vec();
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v
    }

    fn webp_header(w: u32, h: u32) -> Vec<u8> {
        // VP8X: 24-bit width-1 and height-1.
        let mut v = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        v.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        v.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        v.extend_from_slice(&[0; 8]);
        v
    }

    fn b64(bytes: &[u8]) -> Vec<u8> {
        STANDARD.encode(bytes).into_bytes()
    }

    #[test]
    fn reads_dimensions_of_each_format() {
        let mut png = png_header(1280, 800);
        png.extend(vec![7u8; 5000]);
        assert_eq!(image_dimensions(&b64(&png)), Some((1280, 800)));
        assert_eq!(
            image_dimensions(&b64(&jpeg_header(3024, 1964, 10))),
            Some((3024, 1964))
        );
        assert_eq!(
            image_dimensions(&b64(&jpeg_header(640, 480, 60_000))),
            Some((640, 480)),
            "SOF behind a 60 KB EXIF block"
        );
        assert_eq!(
            image_dimensions(&b64(&gif_header(300, 200))),
            Some((300, 200))
        );
        assert_eq!(
            image_dimensions(&b64(&webp_header(1000, 700))),
            Some((1000, 700))
        );
        assert_eq!(image_dimensions(b"not base64 at all!!"), None);
        assert_eq!(image_dimensions(&b64(b"plain text, no image")), None);
        assert_eq!(image_dimensions(b""), None);
    }

    #[test]
    fn token_rule_scales_the_long_edge() {
        assert_eq!(image_tokens(750, 1), 1);
        assert_eq!(image_tokens(1000, 1000), 1334); // 1e6/750 rounded up
        // 2560×1600 scales to 1568×980: 1_536_640 / 750 → 2049
        assert_eq!(image_tokens(2560, 1600), 2049);
        assert_eq!(image_tokens(1600, 2560), 2049);
        assert_eq!(image_tokens(1568, 1568), MAX_IMAGE_TOKENS + 1);
        assert_eq!(image_tokens(0, 0), 1);
    }

    #[test]
    fn unreadable_images_fall_back_and_documents_count_by_bytes() {
        let m = measure(3, MediaKind::Image, "image/png".into(), b"AAAA");
        assert_eq!(
            (m.width, m.est_tokens),
            (None, 1),
            "a tiny unreadable image costs little"
        );
        let big = measure(
            3,
            MediaKind::Image,
            "image/png".into(),
            &vec![b'A'; 400_000],
        );
        assert_eq!(big.est_tokens, 300_000 / IMAGE_BYTES_PER_TOKEN);
        let huge = measure(
            3,
            MediaKind::Image,
            "image/png".into(),
            &vec![b'A'; 8_000_000],
        );
        assert_eq!(
            huge.est_tokens, MAX_IMAGE_TOKENS,
            "never more than a full-size image"
        );
        let d = measure(
            4,
            MediaKind::Document,
            "application/pdf".into(),
            &vec![b'A'; 400_000],
        );
        assert_eq!(d.est_tokens, 400_000 * 3 / 4 / DOCUMENT_BYTES_PER_TOKEN);
        assert_eq!(d.bytes, 400_000);
    }
}
