//! The waits of the terminal driver ([`super::Terminal`]): on the screen, on quiet, on raw mode
//! and on the program's exit. Each fails the test with the screen and the last raw output.

use std::thread;
use std::time::{Duration, Instant};

use portable_pty::ExitStatus;

use super::{DRAIN, Ended, POLL, RAW_TAIL, Terminal, lock, printable};

impl Terminal {
    /// Waits until the program reads key presses (its terminal is in raw mode). Bytes sent
    /// before may be lost: claude 2.1.328 draws its first screen before it switches the terminal
    /// to raw mode and drops what was typed in between.
    pub fn wait_for_raw_mode(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.raw_mode() == Some(false) {
            if lock(&self.state).eof {
                self.fail("the output ended before the terminal was put into raw mode");
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for raw mode"));
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until the program has written nothing for `quiet` (or its output ended); returns
    /// the screen. A UI may draw a screen a little before it reads keys for it (claude 2.1.328
    /// drops a key sent within ~100 ms of its first screen): wait for quiet before pressing keys
    /// on a freshly drawn dialog. Never returns while a spinner animates: use it on still screens.
    pub fn wait_quiet(&mut self, quiet: Duration, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (mut seen, mut since) = (u64::MAX, Instant::now());
        loop {
            let (total, eof) = {
                let st = lock(&self.state);
                (st.total, st.eof)
            };
            if total != seen {
                (seen, since) = (total, Instant::now());
            }
            if eof || since.elapsed() >= quiet {
                return self.screen();
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "timed out after {timeout:?} waiting for {quiet:?} of quiet"
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until the screen contains `text`; returns the screen.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> String {
        self.wait_until(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    /// Waits until the screen contains one of `texts`; returns the index of the first found.
    pub fn wait_for_any(&mut self, texts: &[&str], timeout: Duration) -> usize {
        let screen = self.wait_until(&format!("any of {texts:?}"), timeout, |s| {
            texts.iter().any(|t| s.contains(t))
        });
        texts
            .iter()
            .position(|t| screen.contains(t))
            .expect("matched")
    }

    /// Waits until the screen no longer contains `text`; returns the screen.
    pub fn wait_gone(&mut self, text: &str, timeout: Duration) -> String {
        self.wait_until(&format!("{text:?} to go away"), timeout, |s| {
            !s.contains(text)
        })
    }

    /// Waits until `pred` holds for the screen text; `what` names the wait in the failure
    /// message. Fails at once when the program's output has ended and the screen cannot change.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl FnMut(&str) -> bool,
    ) -> String {
        match self.try_wait_until(timeout, pred) {
            Ok(screen) => screen,
            Err(Ended::Output) => {
                self.fail(&format!("the output ended before the screen showed {what}"))
            }
            Err(Ended::Timeout) => {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"))
            }
        }
    }

    /// Like [`Terminal::wait_until`], without the panic: for a test that retries (e.g. presses a
    /// key again that the program dropped).
    pub fn try_wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Result<String, Ended> {
        let deadline = Instant::now() + timeout;
        loop {
            let (screen, eof) = {
                let st = lock(&self.state);
                (Self::text_of(&st), st.eof)
            };
            if pred(&screen) {
                return Ok(screen);
            }
            if eof {
                return Err(Ended::Output);
            }
            if Instant::now() >= deadline {
                return Err(Ended::Timeout);
            }
            thread::sleep(POLL);
        }
    }

    /// The exit code if the program has ended, without waiting.
    pub fn try_exit(&mut self) -> Option<u32> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit.as_ref().map(ExitStatus::exit_code)
    }

    /// How the program ended, once it has: `signal()` names the signal that killed it
    /// (`strsignal`'s name, e.g. "Interrupt" for SIGINT), the exit code is then 1.
    pub fn exit_status(&mut self) -> Option<&ExitStatus> {
        self.try_exit();
        self.exit.as_ref()
    }

    /// Waits for the program to end and returns its exit code (1 when killed by a signal);
    /// then gives the reader a moment to take in the last output.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        let code = loop {
            if let Some(code) = self.try_exit() {
                break code;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "timed out after {timeout:?} waiting for the program to exit"
                ));
            }
            thread::sleep(POLL);
        };
        let drain = Instant::now() + DRAIN;
        while !lock(&self.state).eof && Instant::now() < drain {
            thread::sleep(POLL);
        }
        code
    }

    /// Panics with `why`, the screen, the last raw output and the terminal queries.
    pub fn fail(&mut self, why: &str) -> ! {
        let status = match (self.try_exit(), &self.exit) {
            (Some(_), Some(st)) => format!("exited: {st}"),
            _ => "still running".to_string(),
        };
        let pid = self
            .child
            .process_id()
            .map_or("?".into(), |p| p.to_string());
        let st = lock(&self.state);
        let (rows, cols) = st.parser.screen().size();
        let screen: Vec<String> = Self::text_of(&st)
            .lines()
            .map(|l| format!("|{l}"))
            .collect();
        let tail = &st.raw[st.raw.len().saturating_sub(RAW_TAIL)..];
        let msg = format!(
            "{why} (in a terminal)\n--- program {} (pid {pid}, {status}) ---\n\
             --- screen {cols}x{rows} ---\n{}\n--- last {} bytes of raw output ---\n{}\n\
             --- terminal queries ---\n{}\n",
            self.program,
            screen.join("\n"),
            tail.len(),
            printable(tail),
            st.parser.callbacks().queries.join("\n"),
        );
        drop(st);
        panic!("{msg}");
    }
}
