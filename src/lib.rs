//! ccrescue: get Claude Code unstuck from "Usage credits required for 1M context".
use std::ffi::OsString;
use std::process::ExitCode;

pub fn run<I: IntoIterator<Item = OsString>>(_args: I) -> ExitCode {
    ExitCode::SUCCESS
}
