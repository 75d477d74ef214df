//! Crash safety of `ccrescue trim`: a generated session with images (testbench `gen`) is trimmed
//! again and again from a fresh copy, and each run is killed at a random moment spread across a
//! whole run — mostly SIGKILL (nothing can clean up), some SIGINT and SIGTERM (ccrescue stops at
//! its next check and removes its temp file). After every kill the session is exactly the
//! original or exactly the trimmed result of a reference run, every backup is identical to the
//! original, the file keeps its mode, a leftover temp file is never more open than the session
//! (0600 while written), and the next run sweeps any stale temp file and finishes the job. The
//! tally is printed (`cargo test --test trim_crash -- --nocapture`).
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Instant;

use ccrescue_testbench::r#gen::{GenOptions, write_session};
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{Sandbox, describe};
use common::{ccrescue, exe, ran};

/// Signals that must land while a trim runs (not after it finished).
const MID_RUN: usize = 50;
/// Give up after this many rounds (a machine too slow or too fast to hit the run).
const MAX_ROUNDS: usize = 120;
const SIZE: u64 = 4 << 20;
const MODE: u32 = 0o640;

struct Bench {
    _mock: MockApi,
    sb: Sandbox,
    project: PathBuf,
    dir: PathBuf,
    session: PathBuf,
    original: Vec<u8>,
}

impl Bench {
    fn new() -> Bench {
        let mock = MockApi::start(vec![]);
        let sb = Sandbox::new(&mock);
        let project = sb.project("crash");
        let id = "5e551071-0000-4000-8000-00000000c4a5";
        let session = sb.session_file(&project, id);
        let dir = session.parent().unwrap().to_path_buf();
        fs::create_dir_all(&dir).unwrap();
        let mut original = vec![];
        let summary = write_session(
            &mut original,
            &GenOptions {
                size: SIZE,
                seed: 42,
                session_id: Some(id.into()),
                cwd: project.display().to_string(),
                ..GenOptions::default()
            },
        )
        .unwrap();
        assert!(
            summary.image_blocks >= 2,
            "the session needs images to trim"
        );
        Bench {
            _mock: mock,
            sb,
            project,
            dir,
            session,
            original,
        }
    }

    /// The session folder holding only a fresh copy of the original.
    fn fresh(&self) {
        for e in fs::read_dir(&self.dir).unwrap().flatten() {
            fs::remove_file(e.path()).unwrap();
        }
        fs::write(&self.session, &self.original).unwrap();
        fs::set_permissions(&self.session, fs::Permissions::from_mode(MODE)).unwrap();
    }

    fn spawn_trim(&self) -> Child {
        self.sb
            .command(exe(), &self.project)
            .args(["trim", "--all", "--yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Every file in the session folder but the session, by name.
    fn others(&self) -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path() != self.session)
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }
}

fn bak_name(session: &Path, suffix: &str) -> String {
    format!("{}{suffix}", session.file_name().unwrap().to_string_lossy())
}

/// `text` with every mention of backup `from` changed to `to` (placeholders name the backup).
fn renamed(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from) && !text[i + from.len()..].starts_with(b".") {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Default)]
struct Tally {
    /// Outcome → count.
    outcomes: BTreeMap<String, usize>,
    /// Kill delays as a fraction of the reference run, in tenths.
    delays: BTreeMap<u64, usize>,
    stale_swept: usize,
}

#[test]
fn killed_at_random_points_the_session_is_the_original_or_the_trimmed_result() {
    let b = Bench::new();
    let started = Instant::now();
    let bak0 = bak_name(&b.session, ".bak");

    // The reference: runs to completion; the median sets the time scale for the kills.
    let mut times = vec![];
    let mut trimmed = vec![];
    for _ in 0..3 {
        b.fresh();
        let t0 = Instant::now();
        let reference_run = ran(b.spawn_trim().wait_with_output().unwrap());
        times.push(t0.elapsed());
        assert_eq!(
            reference_run.code(),
            0,
            "{}",
            describe(&reference_run.output)
        );
        trimmed = fs::read(&b.session).unwrap();
    }
    times.sort();
    let full = times[1];
    assert!(
        trimmed.len() < b.original.len() / 2,
        "the reference trim removed the images"
    );
    assert_eq!(
        b.others(),
        BTreeMap::from([(bak0.clone(), b.original.clone())])
    );

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    println!("crash test: seed {seed} (CRASH_SEED={seed} repeats it), a full trim takes {full:?}");
    let mut tally = Tally::default();
    let mut mid_run = 0;
    let mut round = 0;
    while mid_run < MID_RUN {
        round += 1;
        assert!(
            round <= MAX_ROUNDS,
            "only {mid_run} of {MAX_ROUNDS} signals landed during a run: {tally:?}"
        );
        // Mostly SIGKILL (no cleanup possible), one in five SIGINT or SIGTERM.
        let (signal, signame) = match rng.u8(..10) {
            0 => (libc::SIGINT, "INT"),
            1 => (libc::SIGTERM, "TERM"),
            _ => (libc::SIGKILL, "KILL"),
        };
        b.fresh();
        // Spread over the whole run and past the median one (runs vary with the disk, and the
        // last steps — rename, folder sync, report — are short).
        let fraction = rng.f64() * 1.5;
        let delay = full.mul_f64(fraction);
        let mut child = b.spawn_trim();
        std::thread::sleep(delay);
        let finished_first = child.try_wait().unwrap().is_some();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = ran(child.wait_with_output().unwrap());
        let ctx = format!("round {round} (SIG{signame} after {delay:?}, seed {seed})");

        let now = fs::read(&b.session).unwrap();
        let state = if now == b.original {
            "original"
        } else if now == trimmed {
            "trimmed"
        } else {
            panic!(
                "{ctx}: the session is neither the original nor the trimmed result ({} bytes)\n{}",
                now.len(),
                describe(&out.output)
            );
        };
        let mode = fs::metadata(&b.session).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, MODE, "{ctx}: the session keeps its mode");
        let others = b.others();
        let temps: Vec<&String> = others.keys().filter(|n| n.contains(".ccrescue-")).collect();
        for temp in &temps {
            // Issue 17 point 2: a leftover is private (0600 while written; the session's own
            // mode once complete), never more open than the session.
            let mode = fs::metadata(b.dir.join(temp)).unwrap().permissions().mode() & 0o777;
            assert!(
                mode == 0o600 || mode == MODE,
                "{ctx}: leftover {temp} is {mode:o}, the session {MODE:o}"
            );
        }
        for (name, bytes) in &others {
            if !name.contains(".ccrescue-") {
                assert_eq!(name, &bak0, "{ctx}: only one backup is ever written");
                assert!(bytes == &b.original, "{ctx}: the backup is the original");
            }
        }
        if state == "trimmed" {
            assert!(
                others.contains_key(&bak0),
                "{ctx}: trimmed without a backup"
            );
        }
        let code = out.output.status.code();
        if signal != libc::SIGKILL {
            // A handled signal cleans up: no temp file, exit 130 (or 0 if it was done).
            assert!(
                temps.is_empty(),
                "{ctx}: temp left after SIG{signame}: {temps:?}"
            );
            use std::os::unix::process::ExitStatusExt;
            let died_of = out.output.status.signal();
            match (code, state) {
                (Some(0), "trimmed") => {}
                // ccrescue ends an interrupted run by SIGINT itself (so a calling shell loop
                // stops too); before its handler is installed (the first milliseconds) the
                // signal's own default action ends it. Either way nothing was written.
                (None, "original") => assert!(
                    died_of == Some(libc::SIGINT) || died_of == Some(signal),
                    "{ctx}: {}",
                    describe(&out.output)
                ),
                _ => panic!("{ctx}: unexpected end\n{}", describe(&out.output)),
            }
        } else if code == Some(0) {
            assert_eq!(state, "trimmed", "{ctx}");
        } else {
            assert_eq!(code, None, "{ctx}: killed\n{}", describe(&out.output));
        }
        let ending = match code {
            Some(0) if finished_first => "finished before the signal",
            Some(0) => "finished",
            Some(_) => "other exit",
            None if signal == libc::SIGKILL => "killed",
            None => {
                use std::os::unix::process::ExitStatusExt;
                if out.output.status.signal() == Some(libc::SIGINT) {
                    "stopped, ended by SIGINT"
                } else {
                    "died of it (before the handler)"
                }
            }
        };
        let backup = if others.contains_key(&bak0) {
            "backup"
        } else {
            "no backup"
        };
        let temp = if temps.is_empty() {
            "no temp"
        } else {
            "temp left"
        };
        *tally
            .outcomes
            .entry(format!(
                "SIG{signame:<4} {ending:<31} {state:<8} {backup:<9} {temp}"
            ))
            .or_default() += 1;
        *tally.delays.entry((fraction * 10.0) as u64).or_default() += 1;
        if !finished_first {
            mid_run += 1;
        }
        if temps.is_empty() {
            // What a next run does is checked after the kills that leave something to sweep.
            continue;
        }

        // The next run sweeps the stale temp file and finishes the job.
        let next = ccrescue(&b.sb, &b.project, &["trim", "--all", "--yes"]).expect_code(0);
        if !temps.is_empty() {
            assert!(
                next.stderr
                    .contains("left behind by an interrupted ccrescue"),
                "{ctx}: {}",
                next.stderr
            );
            tally.stale_swept += 1;
        }
        let after = b.others();
        assert!(
            after.keys().all(|n| !n.contains(".ccrescue-")),
            "{ctx}: the next run left temp files: {:?}",
            after.keys()
        );
        let result = fs::read(&b.session).unwrap();
        if state == "trimmed" {
            assert!(result == trimmed, "{ctx}: a second trim changes nothing");
        } else {
            // The next run may have had to take the next backup name (a link left by the killed
            // run holds `.bak`); its placeholders name that backup.
            let newest = after
                .keys()
                .filter(|n| n.starts_with(&bak0))
                .max_by_key(|n| n.len())
                .unwrap()
                .clone();
            assert!(
                renamed(&result, &newest, &bak0) == trimmed,
                "{ctx}: the next run's result differs from the reference (backup {newest})"
            );
        }
        for (name, bytes) in &after {
            assert!(bytes == &b.original, "{ctx}: backup {name} is the original");
        }
    }

    println!("outcomes ({round} signals, {mid_run} during a run):");
    for (what, n) in &tally.outcomes {
        println!("  {n:>3}  {what}");
    }
    println!("kill delay / median full run (tenths): {:?}", tally.delays);
    println!(
        "stale temp files swept by the next run: {}; whole test {:?}",
        tally.stale_swept,
        started.elapsed()
    );
}
