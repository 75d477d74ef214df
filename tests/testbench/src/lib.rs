//! Dev-only test bench for ccrescue (see the crate description).

pub mod claude_bin;
// The sandbox and the fixtures built on it run claude and ccrescue through unix signals, process
// groups and modes; the rest (mock API, terminal driver, generator) also builds for Windows, so
// ccrescue's unit tests, which depend on none of it, cross-build (scripts/test-windows.sh).
#[cfg(unix)]
pub mod fixtures;
pub mod r#gen;
pub mod mock;
pub mod pty;
#[cfg(unix)]
pub mod sandbox;
