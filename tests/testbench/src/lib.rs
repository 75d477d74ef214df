//! Dev-only test bench for ccrescue (see the crate description).

pub mod claude_bin;
pub mod fixtures;
pub mod r#gen;
pub mod mock;
pub mod pty;
pub mod sandbox;
