//! PROVISIONAL stand-in for the lead's `interrupt` (Ctrl-C/SIGTERM handling), with the API names
//! from BRIEF.md so `trim` builds before main's lands; main's replaces this file on merge.

/// True once Ctrl-C or SIGTERM was seen (never, in this stand-in).
pub fn interrupted() -> bool {
    false
}

/// An error when interrupted, so long loops stop.
pub fn check() -> anyhow::Result<()> {
    Ok(())
}
