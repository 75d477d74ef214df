//! Ctrl-C, SIGTERM and SIGHUP: one handler for the whole process. While a guard is held (a claude
//! child runs, or a file is being replaced) the handler only raises a flag: a headless claude
//! (in a process group of its own) is then stopped by ccrescue, which waits for it; an
//! interactive claude (the handoff) handles Ctrl-C itself while ccrescue waits; and a write in
//! progress stops at its next check and cleans up. With no guard held there is nothing to clean
//! up: the cursor is restored and the process ends at once. While a question is on the terminal
//! ([`prompting`]), Ctrl-C ends the question instead (console reads it as a key and raises
//! SIGINT), so the caller can say what was changed before the process ends; a signal the
//! question does not notice (SIGTERM) still ends the process after [`PROMPT_GRACE`]. It ends by
//! SIGINT itself (on unix), not by `exit(130)`, so that a shell loop or script running ccrescue
//! sees an interrupted child and stops too; `$?` shows 130. While claude has the terminal (the
//! handoff), SIGTERM and SIGHUP sent to ccrescue alone are passed on to it ([`pass_on`]).
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::EXIT_INTERRUPTED;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static GUARDS: AtomicUsize = AtomicUsize::new(0);
static PROMPTS: AtomicUsize = AtomicUsize::new(0);

/// How long a question on the terminal gets to end after Ctrl-C before the process ends anyway.
pub const PROMPT_GRACE: Duration = Duration::from_millis(500);

/// The error a step returns when it stopped because of Ctrl-C (exit code 130).
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted; nothing was left half-written")
    }
}

impl std::error::Error for Interrupted {}

/// Installs the handler (once, at start-up), whatever the inherited dispositions: started with
/// SIGINT or SIGHUP ignored (`cmd &` in a script, `nohup`), ccrescue used to fail to install it
/// and die of SIGTERM on the spot, leaving claude orphaned (issue 17 point 7). Signals that were
/// ignored stay ignored (nohup's promise is kept); the others, SIGTERM always, reach the handler.
/// A failure to install is not fatal: the signal's default action then applies, which still
/// never leaves a half-written session file in place of the original (writes go to a temp file
/// that is renamed only when complete).
pub fn install() {
    #[cfg(unix)]
    let ignored: Vec<libc::c_int> = [libc::SIGINT, libc::SIGHUP]
        .into_iter()
        .filter(|&sig| is_ignored(sig))
        .collect();
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        // The handler runs on ctrlc's own thread, so waiting here holds up nothing else.
        if PROMPTS.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(PROMPT_GRACE);
            if PROMPTS.load(Ordering::SeqCst) == 0 {
                return; // the question ended with `Interrupted`; its caller reports and ends
            }
        }
        if GUARDS.load(Ordering::SeqCst) == 0 {
            die();
        }
    });
    #[cfg(unix)]
    for sig in ignored {
        // SAFETY: setting a signal back to "ignored" involves no handler code and no pointers.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// True when `sig` is ignored (inherited that way: ccrescue ignores nothing itself).
#[cfg(unix)]
fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into `old`, a zeroed
    // plain-data struct we own.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Ends the process as interrupted: restores the cursor, then dies by SIGINT (unix) or exits
/// with 130 (elsewhere).
pub fn die() -> ! {
    let _ = console::Term::stderr().show_cursor();
    #[cfg(unix)]
    // SAFETY: resetting a disposition and raising a signal are async-signal-safe libc calls with
    // no pointers involved; with the default action restored, raise ends the process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::raise(libc::SIGINT);
    }
    std::process::exit(EXIT_INTERRUPTED.into())
}

/// True once Ctrl-C (or SIGTERM/SIGHUP) has been received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once Ctrl-C has been received: long loops call it between units of work.
pub fn check() -> anyhow::Result<()> {
    if interrupted() {
        Err(Interrupted.into())
    } else {
        Ok(())
    }
}

/// While the returned guard lives, Ctrl-C only raises the flag (see the module doc).
#[must_use = "the guard defers Ctrl-C only while it is alive"]
pub fn defer() -> Deferred {
    GUARDS.fetch_add(1, Ordering::SeqCst);
    Deferred(())
}

pub struct Deferred(());

impl Drop for Deferred {
    fn drop(&mut self) {
        GUARDS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// From now on Ctrl-C only raises the flag: the caller is on its way out with an `Interrupted`
/// error, and `run` ends the process once it has said so (the handler, on its own thread, may
/// run only after a question already ended; it must not end the process before the message).
pub fn defer_to_exit() {
    GUARDS.fetch_add(1, Ordering::SeqCst);
}

/// While the returned guard lives a question is on the terminal: Ctrl-C gives it
/// [`PROMPT_GRACE`] to end with an `Interrupted` error (see the module doc).
#[must_use = "the guard marks a question only while it is alive"]
pub fn prompting() -> Prompting {
    PROMPTS.fetch_add(1, Ordering::SeqCst);
    Prompting(())
}

pub struct Prompting(());

impl Drop for Prompting {
    fn drop(&mut self) {
        PROMPTS.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(unix)]
static PASS_ON_TO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// The signal [`pass_on`]'s handler took (0: none), sent on late when the pid was not known yet.
#[cfg(unix)]
static TAKEN: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// True once SIGTERM or SIGHUP came while they were passed on ([`pass_on`]).
pub fn terminated() -> bool {
    #[cfg(unix)]
    return TAKEN.load(Ordering::SeqCst) != 0;
    #[cfg(not(unix))]
    false
}

/// While the returned guard lives, SIGTERM and SIGHUP are sent on to the process named with
/// [`PassingOn::to`] (claude with the terminal): a supervisor that stops ccrescue (`kill`,
/// `timeout`, a closing IDE) stops the claude it started, rather than ccrescue waiting for a
/// claude nobody sees any more. Taken before claude starts, so that a signal that comes while
/// it starts is passed on too, once its pid is known. Ctrl-C is not passed on: the terminal
/// sends it to claude itself, and claude uses it to cancel a reply. Signals that were ignored
/// when ccrescue started (nohup) stay ignored. Not on Windows, which has no such signals.
pub fn pass_on() -> PassingOn {
    #[cfg(unix)]
    {
        PASS_ON_TO.store(0, Ordering::SeqCst);
        let mut saved = Vec::new();
        for sig in [libc::SIGTERM, libc::SIGHUP] {
            if is_ignored(sig) {
                continue;
            }
            // SAFETY: `pass_on_handler` only does async-signal-safe things (atomics, kill(2),
            // errno); both structs are zeroed plain data we own, and the old action is kept to
            // be restored.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = pass_on_handler as extern "C" fn(libc::c_int) as usize;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &new, &mut old) == 0 {
                    saved.push((sig, old));
                }
            }
        }
        PassingOn { saved }
    }
    #[cfg(not(unix))]
    {
        PassingOn {}
    }
}

#[cfg(unix)]
extern "C" fn pass_on_handler(sig: libc::c_int) {
    let errno = errno::get(); // kill(2) may set it; the interrupted code may be reading it
    TAKEN.store(sig, Ordering::SeqCst);
    let pid = PASS_ON_TO.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and takes no pointers.
        unsafe {
            libc::kill(pid, sig);
        }
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
    errno::set(errno);
}

/// errno, read and put back by the signal handler (where the C library names its slot).
#[cfg(unix)]
mod errno {
    /// The calling thread's errno.
    fn slot() -> Option<*mut libc::c_int> {
        // SAFETY: these return the calling thread's errno slot and take no arguments.
        #[cfg(target_os = "linux")]
        return Some(unsafe { libc::__errno_location() });
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        return Some(unsafe { libc::__error() });
        #[allow(unreachable_code)]
        None
    }

    pub fn get() -> libc::c_int {
        // SAFETY: the slot is this thread's and lives as long as it.
        slot().map_or(0, |p| unsafe { *p })
    }

    pub fn set(value: libc::c_int) {
        if let Some(p) = slot() {
            // SAFETY: as in `get`.
            unsafe { *p = value }
        }
    }
}

/// See [`pass_on`]; dropping it puts the previous handlers back. Drop it once the process has
/// ended but before it is reaped (its pid could then be another process's).
pub struct PassingOn {
    #[cfg(unix)]
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl PassingOn {
    /// From now on the signals go to `pid`; one that came before is sent to it now.
    pub fn to(&self, pid: u32) {
        #[cfg(unix)]
        {
            let pid = i32::try_from(pid).unwrap_or(0);
            PASS_ON_TO.store(pid, Ordering::SeqCst);
            let early = TAKEN.load(Ordering::SeqCst);
            if pid > 0 && early != 0 {
                // SAFETY: kill(2) with a pid we started and a plain signal number.
                unsafe {
                    libc::kill(pid, early);
                }
            }
        }
        #[cfg(not(unix))]
        let _ = pid;
    }
}

impl Drop for PassingOn {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            PASS_ON_TO.store(0, Ordering::SeqCst);
            for (sig, old) in &self.saved {
                // SAFETY: puts back the action saved by `pass_on`, unchanged.
                unsafe {
                    libc::sigaction(*sig, old, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    use super::*;

    const IN_CHILD: &str = "CCRESCUE_TEST_PASS_ON_CHILD";

    /// A SIGTERM that comes while claude starts (the handler is in place, the pid not known
    /// yet) reaches claude as soon as its pid is. Run in a child test process: the signal sets
    /// this process's interrupt flags, which the other tests must not see.
    #[test]
    fn a_sigterm_before_the_pid_is_known_reaches_the_process_once_it_is() {
        if std::env::var_os(IN_CHILD).is_some() {
            let passing_on = pass_on();
            // SAFETY: raise(3) with a plain signal number; the handler only sets flags here.
            assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
            assert!(
                terminated() && interrupted(),
                "the signal was taken, not fatal"
            );
            let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
            passing_on.to(sleeper.id());
            let status = sleeper.wait().unwrap();
            drop(passing_on);
            assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
            return;
        }
        let name =
            "interrupt::tests::a_sigterm_before_the_pid_is_known_reaches_the_process_once_it_is";
        let out = crate::test_child::run_alone(name, IN_CHILD, "1");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("1 passed"),
            "{said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
