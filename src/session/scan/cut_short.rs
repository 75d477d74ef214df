//! A mapped session cut short (truncated) by another program while ccrescue reads it: the next
//! read of a page past the new end raises SIGBUS, which would end ccrescue with a bare "Bus
//! error". While a mapping is watched, a SIGBUS on its pages instead prints which file it was
//! and what to do, and ends ccrescue with exit code 1 (the guard's hook then lets claude's prompt
//! through). A scan only reads, so nothing is left half-written. A SIGBUS anywhere else goes to
//! the handler that was there before (Rust's own, which reports stack overflows).
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use crate::error::EXIT_FAILED;
use crate::format;

/// Mappings watched at once: one per part of a scan (at most 4), for two scans side by side.
/// A mapping that finds no free slot is not made: its part is read instead.
const SLOTS: usize = 8;

/// One watched mapping: its address range and the message for it.
struct Slot {
    taken: AtomicBool,
    /// First byte of the range; 0 while the slot is not armed.
    start: AtomicUsize,
    end: AtomicUsize,
    message: AtomicPtr<u8>,
    message_len: AtomicUsize,
    /// Under `--json`, the same as a JSON error for stdout (empty otherwise).
    json: AtomicPtr<u8>,
    json_len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array below, never used alone
const FREE: Slot = Slot {
    taken: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    message: AtomicPtr::new(ptr::null_mut()),
    message_len: AtomicUsize::new(0),
    json: AtomicPtr::new(ptr::null_mut()),
    json_len: AtomicUsize::new(0),
};
static WATCHED: [Slot; SLOTS] = [FREE; SLOTS];

/// Whether our handler is in place (tried once, on the first watch).
static INSTALLED: OnceLock<bool> = OnceLock::new();
/// The SIGBUS action in place before ours (leaked, never freed), for the handler to hand other
/// faults back to; stored before ours is installed. A plain atomic: the handler reads it.
static BEFORE: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());
/// Set by the first thread that reports: parts faulting at once report once.
static REPORTED: AtomicBool = AtomicBool::new(false);
/// Set under `--json`: the report is also a JSON error on stdout, as other errors are there.
static AS_JSON: AtomicBool = AtomicBool::new(false);

/// From now on a report is also written as a JSON error on stdout (`--json`).
pub(crate) fn report_as_json() {
    AS_JSON.store(true, Ordering::Relaxed);
}

/// While this lives, a SIGBUS on the watched bytes ends ccrescue with a message about `path`.
pub(super) struct Watch {
    slot: usize,
    _message: Box<[u8]>,
    _json: Box<[u8]>,
}

/// Watches `bytes` (a mapping of the session at `path`); `None` when no slot is free or the
/// handler cannot be installed: the caller then reads the file instead of mapping it.
pub(super) fn watch(bytes: &[u8], path: &Path) -> Option<Watch> {
    if !*INSTALLED.get_or_init(install) {
        return None;
    }
    let slot = WATCHED.iter().position(|s| {
        s.taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })?;
    let (message, json) = messages(path);
    let (message, json) = (message.into_boxed_slice(), json.into_boxed_slice());
    let s = &WATCHED[slot];
    s.message
        .store(message.as_ptr().cast_mut(), Ordering::Release);
    s.message_len.store(message.len(), Ordering::Release);
    s.json.store(json.as_ptr().cast_mut(), Ordering::Release);
    s.json_len.store(json.len(), Ordering::Release);
    let start = bytes.as_ptr() as usize;
    s.end.store(start + bytes.len(), Ordering::Release);
    s.start.store(start, Ordering::Release); // armed last: the handler reads it first
    Some(Watch {
        slot,
        _message: message,
        _json: json,
    })
}

impl Drop for Watch {
    fn drop(&mut self) {
        let s = &WATCHED[self.slot];
        s.start.store(0, Ordering::Release);
        s.taken.store(false, Ordering::Release);
    }
}

/// What the user reads, as ccrescue's other errors read: the file, what happened to it, and
/// what to do; under `--json` also the JSON error for stdout. A scan only reads, so nothing is
/// left half-written (what an earlier step of the same command changed, it said when it did).
/// On a terminal it first clears a spinner's line and shows the cursor again.
fn messages(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let message = format!(
        "cannot read session {}: it became shorter while ccrescue was reading it (another \
         program cut it short, or the disk failed to read it); ccrescue stopped there, and \
         nothing was left half-written",
        path.display()
    );
    let hint = "run the command again";
    let tidy = if console::Term::stderr().is_term() {
        "\r\x1b[2K\x1b[?25h"
    } else {
        ""
    };
    let text = format!("{tidy}error: {}\nhint: {hint}\n", format::safe(&message));
    let json = match AS_JSON.load(Ordering::Relaxed) {
        true => {
            let doc = crate::error::json_error(&message, Some(hint), EXIT_FAILED);
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
        false => String::new(),
    };
    (text.into_bytes(), json.into_bytes())
}

/// Installs the handler, keeping the action it replaces; false when it cannot.
fn install() -> bool {
    // SAFETY: sigaction reads and writes only plain-data structs we own; the handler it installs
    // makes only async-signal-safe calls (see `on_sigbus`).
    unsafe {
        let mut before: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, ptr::null(), &mut before) != 0 {
            return false;
        }
        // Kept before ours is in place, so that the handler never finds it unset.
        BEFORE.store(Box::into_raw(Box::new(before)), Ordering::Release);
        let mut ours: libc::sigaction = std::mem::zeroed();
        ours.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut ours.sa_mask);
        libc::sigaction(libc::SIGBUS, &ours, ptr::null_mut()) == 0
    }
}

/// Runs on the faulting thread. Only async-signal-safe calls: atomics, write, _exit, pause and
/// sigaction.
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    for s in &WATCHED {
        let start = s.start.load(Ordering::Acquire);
        if start != 0 && start <= address && address < s.end.load(Ordering::Acquire) {
            if REPORTED.swap(true, Ordering::AcqRel) {
                // Another part faulted first and is ending the process: wait for it.
                loop {
                    // SAFETY: pause(2) is async-signal-safe and takes nothing.
                    unsafe { libc::pause() };
                }
            }
            let json = s.json.load(Ordering::Acquire);
            let json_len = s.json_len.load(Ordering::Acquire);
            let message = s.message.load(Ordering::Acquire);
            let len = s.message_len.load(Ordering::Acquire);
            // SAFETY: the messages live as long as the slot is armed; write and _exit are
            // async-signal-safe.
            unsafe {
                if json_len > 0 {
                    libc::write(libc::STDOUT_FILENO, json.cast(), json_len);
                }
                libc::write(libc::STDERR_FILENO, message.cast(), len);
                libc::_exit(EXIT_FAILED.into());
            }
        }
    }
    // Not a watched page: put the earlier action back and return; the faulting instruction runs
    // again and faults into it (or, with none, into the default action, which ends the process).
    let restore = BEFORE.load(Ordering::Acquire);
    // SAFETY: sigaction is async-signal-safe; `restore` points to a struct that is never freed.
    unsafe {
        if restore.is_null() {
            libc::signal(sig, libc::SIG_DFL);
        } else {
            libc::sigaction(sig, restore, ptr::null_mut());
        }
    }
}
