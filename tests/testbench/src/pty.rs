//! Terminal driver: runs a program (ccrescue, the real interactive `claude`) in a pseudo-terminal
//! and lets a test type into it and read its screen.
//!
//! Why these crates: `portable-pty` (maintained with wezterm, works on Linux, macOS and Windows)
//! gives the raw pty and nothing more, so every byte the program writes is ours to keep and
//! every query it sends is ours to answer. `vt100` then renders those bytes into a screen grid.
//! claude's UI is full-screen and cursor-addressed (2.1.328 even switches to the alternate
//! screen and redraws spinners and the prompt box in place), so the same visible text reaches the
//! byte stream many times, split by cursor moves, or never as one run of bytes: an expect-style
//! matcher on the stream (expectrl, rexpect) breaks on such redraws, while a rendered screen is
//! what a person sees and stays stable enough to assert on.
//!
//! The reader thread feeds a `vt100::Parser` behind a mutex and keeps the raw bytes too. Queries
//! the program sends to its terminal (cursor position, device attributes, window size, colours)
//! are answered the way xterm would; the ones not answered are recorded ([`Terminal::queries`]).
//! Every `wait_*` polls the screen and, on timeout, panics with the screen and the last raw
//! output, so a failing test shows what the program was showing.
//!
//! What claude's UI needs (2.1.150–2.1.328): nothing beyond a pty with a size and a `TERM`. It
//! asks XTVERSION (`CSI >0q`) and primary device attributes (`CSI c`), 2.1.328 also the kitty
//! keyboard flags (`CSI ?u`) and `OSC 7501;?`; it draws without any answer, we answer DA1 only.
//! It sets raw mode within ~30 ms, but a key sent within ~100 ms after a screen first appears
//! may be dropped: use [`Terminal::wait_quiet`] before pressing keys on a new dialog, and
//! [`Terminal::submit`], which waits for the typed text to show before pressing Enter.

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

mod wait;
mod wire;
pub use wire::Key;
use wire::{Responder, printable, raw_mode};

const POLL: Duration = Duration::from_millis(25);
/// Raw output kept per terminal (the oldest half is dropped past this).
const RAW_KEEP: usize = 8 << 20;
/// Raw output shown in a failure message.
const RAW_TAIL: usize = 3000;
/// After the child exits, how long to wait for its last output to be read.
const DRAIN: Duration = Duration::from_secs(2);

struct State {
    parser: vt100::Parser<Responder>,
    raw: Vec<u8>,
    /// Bytes read in all (the raw buffer drops old ones).
    total: u64,
    eof: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

fn pump(mut reader: Box<dyn Read + Send>, state: Arc<Mutex<State>>, writer: Writer) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // EIO on Linux once every slave side is closed.
            Err(_) => break,
        };
        let replies = {
            let mut st = lock(&state);
            st.parser.process(&buf[..n]);
            st.raw.extend_from_slice(&buf[..n]);
            st.total += n as u64;
            if st.raw.len() > RAW_KEEP {
                st.raw.drain(..RAW_KEEP / 2);
            }
            std::mem::take(&mut st.parser.callbacks_mut().replies)
        };
        if !replies.is_empty() {
            let mut w = lock(&writer);
            let _ = w.write_all(&replies).and_then(|()| w.flush());
        }
    }
    lock(&state).eof = true;
}

/// Why a wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Timeout,
    /// The program's output ended (it exited): the screen cannot change any more.
    Output,
}

/// A program running in a pseudo-terminal. Dropping it kills the program if it still runs.
pub struct Terminal {
    program: String,
    state: Arc<Mutex<State>>,
    writer: Writer,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    exit: Option<ExitStatus>,
}

impl Terminal {
    /// Starts `program` with `args` in a `cols`×`rows` pseudo-terminal, in `cwd`, with an
    /// environment made only of `env` (nothing is inherited; portable-pty adds `SHELL` when `env`
    /// has none). Pass `TERM` (e.g. `xterm-256color`) and, for a bare program name, `PATH`.
    /// Panics if the program cannot be started.
    pub fn spawn<K, V>(
        program: impl AsRef<OsStr>,
        args: &[impl AsRef<OsStr>],
        env: &[(K, V)],
        cwd: &Path,
        cols: u16,
        rows: u16,
    ) -> Terminal
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let name = program.as_ref().to_string_lossy().into_owned();
        // portable-pty silently falls back to $HOME for a missing cwd: refuse instead.
        assert!(
            cwd.is_dir(),
            "Terminal::spawn({name}): cwd {} is not a directory",
            cwd.display()
        );
        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        let pair = native_pty_system()
            .openpty(size)
            .unwrap_or_else(|e| panic!("Terminal::spawn({name}): openpty failed: {e:#}"));
        let mut cmd = CommandBuilder::new(program.as_ref());
        cmd.args(args);
        cmd.env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(cwd);
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("Terminal::spawn({name}): {e:#}"));
        drop(pair.slave);
        let master = pair.master;
        let reader = master.try_clone_reader().expect("pty reader");
        let writer: Writer = Arc::new(Mutex::new(master.take_writer().expect("pty writer")));
        let parser = vt100::Parser::new_with_callbacks(
            rows.try_into().expect("rows > 0"),
            cols.try_into().expect("cols > 0"),
            0,
            Responder::default(),
        );
        let state = Arc::new(Mutex::new(State {
            parser,
            raw: Vec::new(),
            total: 0,
            eof: false,
        }));
        let (st, wr) = (state.clone(), writer.clone());
        thread::Builder::new()
            .name(format!("pty-reader {name}"))
            .spawn(move || pump(reader, st, wr))
            .expect("spawn the pty reader thread");
        Terminal {
            program: name,
            state,
            writer,
            master,
            child,
            exit: None,
        }
    }

    /// The process id of the program, while known.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Writes bytes to the program's terminal input as they are.
    pub fn send_bytes(&self, bytes: &[u8]) {
        let mut w = lock(&self.writer);
        w.write_all(bytes)
            .and_then(|()| w.flush())
            .unwrap_or_else(|e| panic!("writing to {}'s terminal: {e}", self.program));
    }

    /// Types text (one write, no Enter).
    pub fn send(&self, text: &str) {
        self.send_bytes(text.as_bytes());
    }

    /// Presses one key.
    pub fn send_key(&self, key: Key) {
        let app = lock(&self.state).parser.screen().application_cursor();
        self.send_bytes(&key.bytes(app));
    }

    /// Presses keys one after the other, with a short pause between them so a UI that reads
    /// its input in chunks sees separate key presses.
    pub fn send_keys(&self, keys: &[Key]) {
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                thread::sleep(Duration::from_millis(60));
            }
            self.send_key(*key);
        }
    }

    /// Pastes text, wrapped in bracketed-paste markers when the program enabled that mode.
    pub fn paste(&self, text: &str) {
        if lock(&self.state).parser.screen().bracketed_paste() {
            self.send_bytes(format!("\x1b[200~{text}\x1b[201~").as_bytes());
        } else {
            self.send(text);
        }
    }

    /// Types a line and presses Enter once the end of the text shows on the screen (a UI that
    /// gets text and Enter in one read may take the Enter as part of a paste).
    pub fn submit(&mut self, text: &str, timeout: Duration) {
        self.send(text);
        let last_line = text.lines().last().unwrap_or("").trim();
        let tail: String = {
            let chars: Vec<char> = last_line.chars().collect();
            chars[chars.len().saturating_sub(12)..].iter().collect()
        };
        if !tail.is_empty() {
            self.wait_for(&tail, timeout);
        }
        thread::sleep(Duration::from_millis(100));
        self.send_key(Key::Enter);
    }

    /// The visible screen as text, rows separated by newlines (no-break spaces read as spaces).
    pub fn screen(&self) -> String {
        Self::text_of(&lock(&self.state))
    }

    fn text_of(st: &State) -> String {
        st.parser.screen().contents().replace('\u{a0}', " ")
    }

    /// Everything the program wrote that is still kept (up to 8 MiB, the newest).
    pub fn raw_output(&self) -> Vec<u8> {
        lock(&self.state).raw.clone()
    }

    /// The terminal queries the program sent and what was answered, in first-seen order.
    pub fn queries(&self) -> Vec<String> {
        lock(&self.state).parser.callbacks().queries.clone()
    }

    /// Resizes the terminal (the program gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) {
        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        self.master.resize(size).expect("resize the pty");
        lock(&self.state).parser.set_size(
            rows.try_into().expect("rows > 0"),
            cols.try_into().expect("cols > 0"),
        );
    }

    /// Whether the program has put its terminal into raw (non-canonical, no echo) mode, as a
    /// full-screen UI does once it reads key presses. `None` where this cannot be read (Windows).
    pub fn raw_mode(&self) -> Option<bool> {
        raw_mode(self.master.as_ref())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            // SIGHUP, then SIGKILL after a short grace period (portable-pty's kill).
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(all(test, unix))]
mod tests;
