//! Dev-only test bench for ccrescue (see the crate description).
