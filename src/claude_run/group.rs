//! A child in a process group of its own (unix), so that a stop reaches whatever it started too
//! (a wrapper script that does not `exec` claude, issue 17 point 8), and the polite stop:
//! SIGINT to the group, SIGTERM after [`GRACE`], SIGKILL after another, until no process of the
//! group is left.
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// After SIGINT, how long claude gets to exit before SIGTERM; after SIGTERM, before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Makes `cmd` start a process group of its own (unix; elsewhere nothing changes).
pub fn own_group(cmd: &mut Command) -> &mut Command {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    cmd
}

/// Stops a child's group: SIGINT now, SIGTERM after [`GRACE`], SIGKILL after another (duct's and
/// std's `kill` are SIGKILL straight away, which leaves claude no chance to finish its writes).
pub struct Stopper {
    since: Instant,
    stage: u8,
}

impl Stopper {
    pub fn start(child: &Child) -> Stopper {
        signal(child, Signal::Interrupt);
        Stopper {
            since: Instant::now(),
            stage: 0,
        }
    }

    /// True once SIGKILL was sent a grace period ago: what is left of the group then (a zombie
    /// nobody reaps, a process stuck in the kernel) is not waited for any longer.
    pub fn gave_up(&self) -> bool {
        self.stage >= 2 && self.since.elapsed() >= GRACE
    }

    /// Moves on to the next signal once the grace period is over.
    pub fn escalate(&mut self, child: &mut Child) {
        if self.since.elapsed() < GRACE {
            return;
        }
        match self.stage {
            0 => signal(child, Signal::Terminate),
            1 => {
                signal(child, Signal::Kill);
                let _ = child.kill();
            }
            _ => return,
        }
        self.stage += 1;
        self.since = Instant::now();
    }
}

enum Signal {
    Interrupt,
    Terminate,
    Kill,
}

#[cfg(unix)]
fn signal(child: &Child, which: Signal) {
    let sig = match which {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects. The child leads its own group (`own_group`),
        // and the group id stays taken while any member lives or the leader is unreaped (we own
        // its Child), so -pid names no one else's group.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}

#[cfg(not(unix))]
fn signal(child: &Child, which: Signal) {
    // No SIGINT/SIGTERM for another process on Windows: the escalation ends in `kill` after the
    // grace periods.
    let _ = (child, which);
}

/// True while a process of `child`'s group other than an exited leader is alive (unix; elsewhere
/// false: there is no group to ask about).
pub fn group_alive(child: &Child) -> bool {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: signal 0 only checks that the group exists and may be signalled.
        return unsafe { libc::kill(-pid, 0) } == 0;
    }
    let _ = child;
    false
}
