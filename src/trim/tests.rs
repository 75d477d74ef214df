//! File-level tests of `plan` and `apply` on small hand-made sessions (the rewriter's own tests
//! sit in rewrite.rs; real claude sessions are in tests/trim*.rs).
use std::fs;

use super::*;

type Hook = Box<dyn FnOnce(&Path)>;

thread_local! {
    /// Runs in `apply_plan` between its checks and `fsx::replace`: a test's "claude appends
    /// right now".
    pub(super) static BEFORE_REPLACE: std::cell::Cell<Option<Hook>> =
        const { std::cell::Cell::new(None) };
}

fn image(data: &str) -> String {
    format!(
        r#"{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"{data}"}}}}"#
    )
}

fn user(uuid: &str, content: &str) -> String {
    format!(
        r#"{{"type":"user","uuid":"{uuid}","parentUuid":null,"sessionId":"s","timestamp":"t","message":{{"role":"user","content":{content}}}}}"#
    )
}

fn session(lines: &[String], tail: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    fs::write(&path, format!("{}\n{tail}", lines.join("\n"))).unwrap();
    (dir, path)
}

const BOUNDARY: &str = r#"{"type":"system","subtype":"compact_boundary","uuid":"b","compactMetadata":{"postTokens":5000}}"#;

#[test]
fn replaces_media_after_the_last_boundary_and_keeps_the_rest() {
    let old = user("u1", &format!("[{}]", image(&"A".repeat(4000))));
    let new = user(
        "u2",
        &format!(
            r#"[{{"type":"text","text":"hi"}},{}]"#,
            image(&"B".repeat(8000))
        ),
    );
    let lines = vec![
        old.clone(),
        BOUNDARY.to_owned(),
        "not json".to_owned(),
        new.clone(),
    ];
    let (_dir, path) = session(&lines, r#"{"type":"user","torn"#);
    let original = fs::read(&path).unwrap();

    let p = plan(&path, &TrimOptions::default()).unwrap();
    assert_eq!(p.changes.len(), 1);
    assert_eq!(
        (p.changes[0].line, p.changes[0].kind),
        (4, ChangeKind::Image)
    );
    assert_eq!(p.after_line, Some(2));
    assert_eq!(p.tokens_before, Some(5000));
    assert!(p.tokens_after.unwrap() < 5000);
    assert_eq!(p.backup, path.with_file_name("s.jsonl.bak"));
    assert_eq!(
        p.kept_verbatim.iter().map(|k| k.line).collect::<Vec<_>>(),
        [3, 5]
    );
    assert_eq!(fs::read(&path).unwrap(), original, "plan writes nothing");

    let t = apply(&path, &TrimOptions::default()).unwrap();
    assert_eq!(t.backup, path.with_file_name("s.jsonl.bak"));
    assert_eq!(fs::read(&t.backup).unwrap(), original);
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(after.len() as u64, t.plan.bytes_after);
    let got: Vec<&str> = after.split('\n').collect();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], old, "before the boundary: untouched");
    assert_eq!(got[2], "not json");
    assert_eq!(
        got[4], r#"{"type":"user","torn"#,
        "torn last line kept, still without newline"
    );
    assert!(!got[3].contains("BBBB"));
    assert!(
        got[3].contains("[image removed by ccrescue: image/png, 6.0 KB — original in s.jsonl.bak]")
    );

    // A second trim with --all takes the old one too, and backs up to .bak.1.
    let t = apply(
        &path,
        &TrimOptions {
            all: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.backup, path.with_file_name("s.jsonl.bak.1"));
    assert_eq!(t.plan.changes.len(), 1);
    assert_eq!(
        t.plan.changes[0].est_tokens, 0,
        "before the boundary: saves no context"
    );
    assert!(!fs::read_to_string(&path).unwrap().contains("AAAA"));
    assert_eq!(
        fs::read(path.with_file_name("s.jsonl.bak")).unwrap(),
        original
    );
}

#[test]
fn nothing_to_do_writes_nothing() {
    let (dir, path) = session(&[user("u", "\"hello\"")], "");
    let t = apply(
        &path,
        &TrimOptions {
            all: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(t.plan.is_empty());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup, no temp"
    );
}

#[test]
fn a_plan_for_an_older_state_is_refused() {
    let line = user("u", &format!("[{}]", image("QUJD")));
    let (dir, path) = session(std::slice::from_ref(&line), "");
    let p = plan(&path, &TrimOptions::default()).unwrap();
    fs::write(&path, format!("{line}\n{line}\n")).unwrap();
    let err = apply_plan(&path, p, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("changed since it was read"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_line_appended_after_the_checks_is_neither_lost_nor_trimmed_over() {
    // Found by a review with strace delaying the step between apply_plan's checks and replace's
    // own look at the file: the appended line was in neither the trimmed file nor carried over.
    let line = user("u", &format!("[{}]", image(&"QUJD".repeat(100))));
    let (dir, path) = session(std::slice::from_ref(&line), "");
    let p = plan(&path, &TrimOptions::default()).unwrap();
    assert!(!p.is_empty());
    let late = "{\"type\":\"user\",\"uuid\":\"late\"}\n";
    BEFORE_REPLACE.set(Some(Box::new(move |p: &Path| {
        let mut f = fs::OpenOptions::new().append(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, late.as_bytes()).unwrap();
    })));
    let err = format!("{:#}", apply_plan(&path, p, &mut |_| {}).unwrap_err());
    assert!(
        err.starts_with(&format!("{} changed since it was read", path.display())),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{line}\n{late}")
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup, no temp"
    );
}

#[test]
fn target_tokens_stops_when_under() {
    let reply = |tokens: u64| {
        format!(
            r#"{{"type":"assistant","uuid":"a","message":{{"model":"m","content":[],"usage":{{"input_tokens":{tokens}}}}}}}"#
        )
    };
    let big = "A".repeat(600 * 4 * 100); // ~100 tokens of undecodable image each … scaled
    let lines = vec![
        user("u1", &format!("[{}]", image(&big))),
        user("u2", &format!("[{}]", image(&big[..big.len() / 2]))),
        reply(10_000),
    ];
    let (_dir, path) = session(&lines, "");
    let all = plan(&path, &TrimOptions::default()).unwrap();
    let each: Vec<u64> = all.changes.iter().map(|c| c.est_tokens).collect();
    assert_eq!(all.changes.len(), 2);
    let opts = TrimOptions {
        target_tokens: Some(10_000 - each[0] + 1),
        ..Default::default()
    };
    let p = plan(&path, &opts).unwrap();
    assert_eq!(
        p.changes.iter().map(|c| c.line).collect::<Vec<_>>(),
        [1],
        "the largest first"
    );
    assert_eq!(p.target_reached, Some(true));
    let opts = TrimOptions {
        target_tokens: Some(10),
        ..Default::default()
    };
    let p = plan(&path, &opts).unwrap();
    assert_eq!(p.changes.len(), 2);
    assert_eq!(p.target_reached, Some(false));
}

#[test]
fn validation_catches_a_changed_byte_a_changed_field_and_joined_lines() {
    let media_line = user("u1", &format!("[{}]", image(&"A".repeat(400))));
    let (dir, path) = session(&[user("u0", "\"hello\""), media_line], "");
    let p = plan(&path, &TrimOptions::default()).unwrap();
    let temp = dir.path().join("temp");
    let mut good = vec![];
    let crc = write::trimmed(File::open(&path).unwrap(), &p, &mut good, &mut |_| {}).unwrap();
    fs::write(&temp, &good).unwrap();
    // The temp file alone is read: the session is not.
    validate::trimmed(File::open(&temp).unwrap(), &p, crc).unwrap();
    let text = String::from_utf8(good).unwrap();
    let in_line_2 = |from: &str, to: &str| {
        let i = text.rfind(from).unwrap();
        format!("{}{to}{}", &text[..i], &text[i + from.len()..])
    };
    for (bad, why) in [
        (
            text.replacen("hello", "hellO", 1),
            "does not hold the bytes that were written",
        ),
        (
            text.replacen("\"u1\"", "\"u2\"", 1),
            "at line 2: a record field outside message.content",
        ),
        (
            in_line_2("\"role\":\"user\",", "\"role\":\"usr\", "),
            "at line 2: a message field other than content",
        ),
        (
            text.replacen("\n", " ", 1),
            "the trimmed file has 1 lines, 2 were expected",
        ),
    ] {
        fs::write(&temp, &bad).unwrap();
        assert_eq!(
            bad.len(),
            text.len(),
            "same size, so only the line checks can tell"
        );
        let err = validate::trimmed(File::open(&temp).unwrap(), &p, crc)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn a_span_that_moved_since_the_plan_is_refused_while_writing() {
    let line = user("u", &format!("[{}]", image(&"A".repeat(400))));
    let (_dir, path) = session(&[user("u0", "\"hi\""), line.clone()], "");
    let p = plan(&path, &TrimOptions::default()).unwrap();
    // Same size, one byte earlier: the image's ends are no longer where the plan found them.
    let shifted = format!("{}\n{line} \n", user("u0", "\"h\""));
    let mut out = vec![];
    let err = write::trimmed(std::io::Cursor::new(shifted), &p, &mut out, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2 changed since the session was read"),
        "{err}"
    );
}

#[test]
fn tool_outputs_made_again_while_writing_come_out_the_same() {
    // Past `KEEP_REPLACEMENTS` the plan stops holding shortened tool outputs and the writing
    // pass makes them again from the file: the result must be the same bytes.
    let long = "line of output é\\n".repeat(400);
    let tool = |id: &str| {
        user(
            id,
            &format!(r#"[{{"type":"tool_result","tool_use_id":"{id}","content":"{long}"}}]"#),
        )
    };
    let (_dir, path) = session(&[tool("t1"), user("u", "\"hi\""), tool("t2")], "");
    let opts = TrimOptions {
        all: true,
        tool_output_over: Some(500),
        ..Default::default()
    };
    let p = plan(&path, &opts).unwrap();
    assert_eq!(p.changes.len(), 2);
    let write = |p: &TrimPlan| {
        let mut out = vec![];
        let crc = write::trimmed(File::open(&path).unwrap(), p, &mut out, &mut |_| {}).unwrap();
        (out, crc)
    };
    let (kept, crc) = write(&p);
    let mut remade = p.clone();
    for c in &mut remade.changes {
        for at in &mut c.at {
            let locate::With::Bytes(b) = &at.with else {
                panic!("a small plan keeps its replacements")
            };
            at.with = locate::With::Shortened {
                keep: 500,
                len: b.len(),
            };
        }
    }
    assert_eq!(write(&remade), (kept.clone(), crc));
    assert!(kept.len() < 3000, "{}", kept.len());
    // A planned size that no longer comes out is a change since the plan.
    if let locate::With::Shortened { len, .. } = &mut remade.changes[1].at[0].with {
        *len += 1;
    }
    let mut out = vec![];
    let err = write::trimmed(File::open(&path).unwrap(), &remade, &mut out, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 3 changed since the session was read"),
        "{err}"
    );
}
