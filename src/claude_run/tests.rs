//! Unit tests of the headless runner: stream-json parsing, and shell stand-ins for a claude
//! that ignores SIGINT, hangs, floods, or hides behind a wrapper.
use super::*;

#[test]
fn stream_json_lines() {
    assert_eq!(
        parse_event(r#"{"type":"system","subtype":"status","status":"compacting"}"#),
        Some(Event::Status("compacting".into()))
    );
    assert_eq!(
        parse_event(
            r#"{"type":"system","subtype":"status","status":null,"compact_result":"failed","compact_error":"Error during compaction: x"}"#
        ),
        Some(Event::Compacted {
            success: false,
            error: Some("Error during compaction: x".into())
        })
    );
    assert_eq!(
        parse_event(
            r#"{"type":"system","subtype":"status","status":null,"compact_result":"success"}"#
        ),
        Some(Event::Compacted {
            success: true,
            error: None
        })
    );
    assert_eq!(
        parse_event(
            r#"{"type":"system","subtype":"api_retry","attempt":3,"max_retries":10,"retry_delay_ms":2000,"error_status":429}"#
        ),
        Some(Event::Retry {
            attempt: 3,
            max_retries: Some(10),
            status: Some(429)
        })
    );
    assert_eq!(
        parse_event(r#"{"type":"result","is_error":false,"result":""}"#),
        Some(Event::Result {
            is_error: false,
            text: String::new()
        })
    );
    assert_eq!(parse_event("not json"), None);
    assert_eq!(
        parse_event(r#"{"type":"system","subtype":"init"}"#),
        Some(Event::Other)
    );
}

#[cfg(unix)]
#[test]
fn a_child_that_ignores_sigint_is_stopped_in_the_end() {
    // A stand-in for claude (the real one cannot be made to ignore SIGINT here): a shell that
    // prints one event, ignores SIGINT, and sleeps. ccrescue must escalate to SIGTERM.
    let inv = Invocation {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            r#"trap '' INT; echo '{"type":"system","subtype":"status","status":"compacting"}'; sleep 30"#
                .into(),
        ],
        env: BTreeMap::new(),
        cwd: std::env::temp_dir(),
    };
    let started = Instant::now();
    let out = run_headless(&inv, |_| Verdict::Stop("test".into())).unwrap();
    assert_eq!(out.stopped.as_deref(), Some("test"));
    assert_eq!(out.code, None, "ended by a signal");
    let took = started.elapsed();
    assert!(took >= GRACE && took < GRACE * 3, "{took:?}");
    assert_eq!(out.events, vec![Event::Status("compacting".into())]);
}

#[cfg(unix)]
fn sh(script: &str) -> Invocation {
    Invocation {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: BTreeMap::new(),
        cwd: std::env::temp_dir(),
    }
}

#[cfg(unix)]
#[test]
fn a_silent_claude_is_stopped_after_the_idle_limit_with_a_reason() {
    // A stand-in for a hung claude (the real one cannot be made to hang on cue here): one
    // event, then silence. Issue 17 point 7: ccrescue waited for ever.
    let inv = sh(r#"echo '{"type":"system","subtype":"init"}'; exec sleep 60"#);
    let out = run_headless_within(
        &inv,
        Stdio::null(),
        |_| Verdict::Continue,
        Duration::from_secs(1),
    )
    .unwrap();
    let why = out.stopped.expect("stopped");
    assert!(
        why.contains("claude printed nothing for 1s, so ccrescue stopped it")
            && why.contains(IDLE_ENV),
        "{why}"
    );
    assert_eq!(out.code, None, "ended by SIGINT");
}

#[cfg(unix)]
#[test]
fn a_stop_reaches_what_a_wrapper_started_too() {
    // A stand-in for a wrapper script that does not `exec` claude (issue 17 point 8): the
    // "claude" it starts ignores SIGINT; stopping must reach it, not only the wrapper.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("claude.pid");
    let inv = sh(&format!(
        r#"sh -c 'trap "" INT; echo $$ > {}; echo "{{\"type\":\"x\"}}"; exec sleep 60'"#,
        pid_file.display()
    ));
    // Stopped once the wrapped claude is up (its first line).
    let out = run_headless(&inv, |e| match e {
        Event::Other => Verdict::Stop("enough".into()),
        _ => Verdict::Continue,
    })
    .unwrap();
    assert_eq!(out.stopped.as_deref(), Some("enough"));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    assert!(!alive, "the wrapped claude (pid {pid}) outlived the stop");
}

#[cfg(unix)]
#[test]
fn a_flood_without_newlines_and_bad_bytes_do_not_stop_the_reading() {
    // A stand-in for a misbehaving claude (issue 17 point 9): 80 MiB without a newline
    // (ccrescue aborted on allocation), a line with a byte that is not UTF-8 (the reader
    // stopped there), then the events that matter.
    let inv = sh(
        r#"head -c 83886080 /dev/zero | tr '\0' x; echo; printf 'bad \377\n'; echo '{"type":"system","subtype":"status","status":"compacting"}'; echo '{"type":"result","is_error":false,"result":"done"}'"#,
    );
    let out = run_headless(&inv, |_| Verdict::Continue).unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.events,
        vec![
            Event::Status("compacting".into()),
            Event::Result {
                is_error: false,
                text: "done".into()
            }
        ]
    );
}
