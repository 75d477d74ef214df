//! What passes between a program and its terminal, for the terminal driver ([`super`]): the
//! codes of keys, the answers to the program's queries, and whether it has put the tty in raw mode.

use portable_pty::MasterPty;

/// A key that is not plain text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Enter,
    Tab,
    /// Shift+Tab.
    BackTab,
    Escape,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// Ctrl and a letter, e.g. `Key::Ctrl('c')`.
    Ctrl(char),
}

impl Key {
    /// The bytes a terminal sends for this key; arrows follow the application-cursor mode.
    pub fn bytes(self, application_cursor: bool) -> Vec<u8> {
        let arrow = |c: u8| {
            let intro = if application_cursor { b'O' } else { b'[' };
            vec![0x1b, intro, c]
        };
        match self {
            Key::Enter => b"\r".to_vec(),
            Key::Tab => b"\t".to_vec(),
            Key::BackTab => b"\x1b[Z".to_vec(),
            Key::Escape => b"\x1b".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::Delete => b"\x1b[3~".to_vec(),
            Key::Up => arrow(b'A'),
            Key::Down => arrow(b'B'),
            Key::Right => arrow(b'C'),
            Key::Left => arrow(b'D'),
            Key::Home => arrow(b'H'),
            Key::End => arrow(b'F'),
            Key::PageUp => b"\x1b[5~".to_vec(),
            Key::PageDown => b"\x1b[6~".to_vec(),
            Key::Ctrl(c) => vec![(c.to_ascii_lowercase() as u8) & 0x1f],
        }
    }
}

/// Answers terminal queries and records the sequences vt100 does not handle itself.
#[derive(Default)]
pub(super) struct Responder {
    pub(super) replies: Vec<u8>,
    pub(super) queries: Vec<String>,
}

impl Responder {
    fn note(&mut self, seq: String, reply: Option<String>) {
        let entry = match &reply {
            Some(r) => format!("{seq} -> {}", printable(r.as_bytes())),
            None => format!("{seq} (not answered)"),
        };
        if !self.queries.contains(&entry) {
            self.queries.push(entry);
        }
        if let Some(r) = reply {
            self.replies.extend_from_slice(r.as_bytes());
        }
    }
}

impl vt100::Callbacks for Responder {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let p0 = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        let (rows, cols) = screen.size();
        let (rows, cols) = (rows.get(), cols.get());
        let reply = match (i1, i2, c) {
            (None | Some(b'?'), None, 'n') if p0 == 6 => {
                let (r, col) = screen.cursor_position();
                let q = if i1.is_some() { "?" } else { "" };
                Some(format!("\x1b[{q}{};{}R", r + 1, col + 1))
            }
            (None, None, 'n') if p0 == 5 => Some("\x1b[0n".into()),
            // Primary device attributes: a VT220 with ANSI colour.
            (None, None, 'c') if p0 == 0 => Some("\x1b[?62;22c".into()),
            (Some(b'>'), None, 'c') if p0 == 0 => Some("\x1b[>1;10;0c".into()),
            (None, None, 't') if p0 == 18 => Some(format!("\x1b[8;{rows};{cols}t")),
            (None, None, 't') if p0 == 14 => Some(format!("\x1b[4;{};{}t", rows * 16, cols * 8)),
            (None, None, 't') if p0 == 16 => Some("\x1b[6;16;8t".into()),
            // DECRQM: report every mode as not recognised.
            (Some(b'?'), Some(b'$'), 'p') => Some(format!("\x1b[?{p0};0$y")),
            (Some(b'$'), None, 'p') => Some(format!("\x1b[{p0};0$y")),
            // Kitty keyboard flags (`CSI ? u`) and XTVERSION (`CSI > q`) stay unanswered: the
            // program then assumes a plain terminal (legacy key codes, no terminal-specific UI).
            (Some(b'?'), None, 'u') | (Some(b'>'), None, 'q') => None,
            _ => return,
        };
        let params: Vec<String> = params
            .iter()
            .map(|p| p.iter().map(u16::to_string).collect::<Vec<_>>().join(":"))
            .collect();
        let inter: String = [i1, i2].iter().flatten().map(|&b| b as char).collect();
        let (lead, trail): (String, String) = inter.chars().partition(|c| "?<=>".contains(*c));
        self.note(format!("CSI {lead}{}{trail}{c}", params.join(";")), reply);
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        if params.last() != Some(&&b"?"[..]) {
            return;
        }
        let which = String::from_utf8_lossy(params[0]).into_owned();
        let reply = match which.as_str() {
            "10" => Some("\x1b]10;rgb:ffff/ffff/ffff\x1b\\".to_string()),
            "11" => Some("\x1b]11;rgb:0000/0000/0000\x1b\\".to_string()),
            _ => None,
        };
        let all: Vec<String> = params
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        self.note(format!("OSC {}", all.join(";")), reply);
    }
}

/// Bytes as readable text: escapes shown as `\e`, other controls escaped, newlines kept.
pub(super) fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for ch in String::from_utf8_lossy(bytes).chars() {
        match ch {
            '\x1b' => out.push_str("\\e"),
            '\n' => out.push('\n'),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// `ICANON` and `ECHO` of `c_lflag` (from the platforms' termios.h; portable-pty hands out nix's
/// type, and nix is not a dependency of ours).
#[cfg(unix)]
pub(super) fn raw_mode(master: &dyn MasterPty) -> Option<bool> {
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    const ICANON: u64 = 0x100;
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    const ICANON: u64 = 0x2;
    const ECHO: u64 = 0x8;
    // tcflag_t is u32 on Linux and u64 on macOS: the conversion is needed on one, a no-op on the other.
    #[allow(clippy::useless_conversion)]
    let flags = u64::from(master.get_termios()?.local_flags.bits());
    Some(flags & (ICANON | ECHO) == 0)
}

#[cfg(not(unix))]
pub(super) fn raw_mode(_: &dyn MasterPty) -> Option<bool> {
    None
}
