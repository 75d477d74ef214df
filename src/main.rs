//! The `ccrescue` binary: a thin shell over [`ccrescue::run`].
use std::process::ExitCode;

fn main() -> ExitCode {
    ccrescue::run(std::env::args_os())
}
