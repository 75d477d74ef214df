//! `ccrescue diagnose` and `ccrescue sessions` on sessions the real claude wrote against the mock.
mod common;

use ccrescue_testbench::claude_bin::{claude_version, version_at_least};
use ccrescue_testbench::fixtures::{self, CompactionFailure};
use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{Auth, Sandbox};
use common::{ccrescue, snapshot};

#[test]
fn overflow_session_gets_the_compaction_ladder() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::with_auth(&mock, Auth::GatewayToken);
    let project = sb.awkward_project();
    let f = fixtures::credits_error(&mock, &sb, &project);
    let before = snapshot(sb.root());

    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(s["id"], f.session.id);
    assert_eq!(s["path"], f.session.file.display().to_string());
    assert_eq!(j["symptom"], "context_overflow");
    let tokens = s["context_tokens"].as_u64().unwrap();
    assert!(
        (f.reported_tokens..f.reported_tokens + 1_000).contains(&tokens),
        "context {tokens}"
    );
    assert_eq!(s["last_error"]["kind"], "long_context");
    assert_eq!(s["last_error"]["status"], 429);
    assert_eq!(s["last_error"]["resolved"], false);
    let wording = if version_at_least("2.1.328") {
        "Usage credits required for 1M context"
    } else {
        "Extra usage is required for long context requests"
    };
    assert!(
        s["last_error"]["text"].as_str().unwrap().contains(wording),
        "{}",
        s["last_error"]
    );
    assert_eq!(s["live"], false);
    assert_eq!(s["live_pid"], serde_json::Value::Null);
    assert_eq!(s["cwd"], project.display().to_string());
    assert_eq!(s["entrypoint"], "sdk-cli");
    assert_eq!(j["claude"]["version"], claude_version());
    assert_eq!(j["project"], project.display().to_string());
    assert_eq!(j["config_dir"], sb.config_dir().display().to_string());
    let compact = &j["plan"][0];
    assert_eq!(compact["step"], "compact");
    assert_eq!(
        compact["command"],
        serde_json::json!([
            "claude",
            "-p",
            "/compact",
            format!("--resume={}", f.session.id),
            "--model",
            "claude-haiku-4-5-20251001"
        ])
    );
    let steps: Vec<_> = j["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["compact", "trim", "pieces", "return", "clear"]);

    // The human report names the session, the size against 200K, the error and the next command.
    let human = ccrescue(&sb, &project, &["diagnose"]).expect_code(0);
    for want in [
        f.session.id.as_str(),
        "tokens of 200,000",
        wording,
        "context overflow",
        "Next: run `ccrescue` (the wizard: a backup, then step 1 with its checks), or by hand:\n     cd '",
        "claude -p /compact --resume=",
    ] {
        assert!(
            human.stdout.contains(want),
            "{want:?} missing from\n{}",
            human.stdout
        );
    }
    assert_eq!(snapshot(sb.root()), before, "diagnose wrote something");
}

#[test]
fn compacted_and_failed_compactions_are_counted() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let good = sb.project("good");
    let c = fixtures::compacted(&mock, &sb, &good);
    let j = ccrescue(&sb, &good, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(s["compactions"], 1);
    assert!(s["last_boundary_line"].as_u64().unwrap() > c.lines_before as u64);
    assert_eq!(
        s["context_source"], "compact_boundary",
        "no reply since the boundary: postTokens counts"
    );
    assert!(s["context_tokens"].as_u64().unwrap() < 160_000);
    assert_eq!(j["symptom"], "none");
    assert_eq!(s["failed_compactions"], 0);

    let bad = sb.project("bad");
    let f = fixtures::failed_compaction(&mock, &sb, &bad, CompactionFailure::Credits);
    let j = ccrescue(&sb, &bad, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(s["compactions"], 0);
    assert_eq!(s["failed_compactions"], 1);
    assert_eq!(s["last_error"]["during_compaction"], true);
    assert_eq!(
        s["last_error"]["kind"], "long_context",
        "{}",
        s["last_error"]
    );
    // ccrescue reports the record's text as claude wrote it, which differs by version (on
    // 2.1.150–2.1.172 it starts `Error: Error during compaction: …`).
    let record = fixtures::failure_record_content(&f.error);
    let inner = &record[record.find('>').unwrap() + 1..record.rfind("</").unwrap()];
    assert_eq!(s["last_error"]["text"], inner);
    assert!(inner.contains("Error during compaction: API Error: Request rejected (429)"));
    assert_eq!(j["symptom"], "context_overflow");
}

#[test]
fn screenshots_are_measured_from_their_headers() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("shots");
    fixtures::screenshots(&mock, &sb, &project, 3);
    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(
        s["images"], 3,
        "one image block per Read (the toolUseResult copy is not counted)"
    );
    let largest = s["largest_media"].as_array().unwrap();
    let mut dims: Vec<(u64, u64)> = largest
        .iter()
        .map(|b| (b["width"].as_u64().unwrap(), b["height"].as_u64().unwrap()))
        .collect();
    dims.sort();
    assert_eq!(
        dims,
        [(40, 30), (48, 36), (56, 42)],
        "the PNGs the fixture wrote"
    );
    assert!(s["image_bytes"].as_u64().unwrap() > 0);
    assert!(largest.iter().all(|b| b["media_type"] == "image/png"));
}

#[test]
fn the_long_path_project_is_found_through_the_hashed_slug() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.long_project();
    let h = fixtures::healthy(&mock, &sb, &project);
    let slug_dir = h
        .session
        .file
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        slug_dir.len() > 200,
        "claude cut and hashed the slug: {slug_dir}"
    );
    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["id"], h.session.id);
    assert_eq!(j["symptom"], "none");
    let out = ccrescue(&sb, &project, &["diagnose"]);
    assert!(
        out.stdout
            .contains("Nothing to rescue: this session is not blocked."),
        "{}",
        out.stdout
    );
}

#[test]
fn newest_session_is_what_continue_picks_unless_it_hides_a_stuck_one() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::with_auth(&mock, Auth::GatewayToken);
    let project = sb.project("two");
    let pair = fixtures::continue_pair(&mock, &sb, &project);
    let j = ccrescue(&sb, &project, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["id"], pair.newer.id);
    // claude -p --continue appends to the same file ccrescue picked.
    let lines = pair.newer.line_count();
    fixtures::print_run(&sb, &project, "continue here", &["--continue"]).assert_success();
    assert!(
        pair.newer.line_count() > lines,
        "claude --continue picked another session than ccrescue"
    );

    // A stuck session, then a stray print-mode run: the stuck one is chosen, and ccrescue says why.
    let other = sb.project("stuck");
    let stuck = fixtures::credits_error(&mock, &sb, &other);
    let (stray, _) = fixtures::new_session(&sb, &other, "unrelated question", &[]);
    let ran = ccrescue(&sb, &other, &["diagnose", "--json"]).expect_code(0);
    let j = ran.json();
    assert_eq!(j["session"]["id"], stuck.session.id);
    let why = j["session"]["why_chosen"].as_str().unwrap();
    assert!(
        why.contains(&stray.id) && why.contains("--session"),
        "{why}"
    );
    let human = ccrescue(&sb, &other, &["diagnose"]);
    assert!(
        human.stdout.contains("has no 1M-context error"),
        "{}",
        human.stdout
    );
    // --session overrides the choice.
    let j = ccrescue(&sb, &other, &["diagnose", "--json", "--session", &stray.id])
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["id"], stray.id);
    assert_eq!(j["symptom"], "none");
}

#[test]
fn after_clear_the_new_session_is_newest_and_the_old_one_is_listed() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("cleared");
    let c = fixtures::cleared(&mock, &sb, &project);
    let list = ccrescue(&sb, &project, &["sessions", "--json"])
        .expect_code(0)
        .json();
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [c.new.id.clone(), c.old.id.clone()], "newest first");
    let first = &list[0];
    for key in [
        "id",
        "path",
        "project",
        "modified",
        "bytes",
        "context_tokens",
        "last_error",
        "live",
    ] {
        assert!(
            first.get(key).is_some(),
            "sessions --json lacks {key}: {first}"
        );
    }
    assert!(
        first["modified"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC"
    );
    assert_eq!(list[1]["project"], project.display().to_string());
}

#[test]
fn sessions_of_every_project() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let a = sb.project("alpha");
    let b = sb.awkward_project();
    let ha = fixtures::healthy(&mock, &sb, &a);
    let hb = fixtures::healthy(&mock, &sb, &b);
    let here = ccrescue(&sb, &a, &["sessions", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(here.as_array().unwrap().len(), 1);
    assert_eq!(here[0]["id"], ha.session.id);
    let all = ccrescue(&sb, &a, &["sessions", "--all-projects", "--json"])
        .expect_code(0)
        .json();
    let ids: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [hb.session.id.as_str(), ha.session.id.as_str()]);
    let human = ccrescue(&sb, &a, &["sessions", "--all-projects"])
        .expect_code(0)
        .stdout;
    assert!(
        human.contains(&ha.session.id) && human.contains(&hb.session.id) && human.contains("hello"),
        "{human}"
    );
    // A session id from another project is found too.
    let j = ccrescue(
        &sb,
        &a,
        &["diagnose", "--json", "--session", &hb.session.id],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["session"]["path"], hb.session.file.display().to_string());
}

#[test]
fn claude_code_project_dir_name_is_followed_where_claude_follows_it() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("renamed");
    let config = sb.tmp().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let mut cmd = sb.claude_command(&project, &["-p", "hello", "--output-format", "json"]);
    cmd.env("CLAUDE_CONFIG_DIR", &config)
        .env("CLAUDE_CODE_PROJECT_DIR_NAME", "my-own-name");
    let out =
        ccrescue_testbench::sandbox::run_with_timeout(cmd, std::time::Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}",
        ccrescue_testbench::sandbox::describe(&out)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 2.1.234 added the variable; older versions use the slug of the path.
    let folder = if version_at_least("2.1.234") {
        "my-own-name".to_owned()
    } else {
        ccrescue_testbench::sandbox::slug(&project)
    };
    let file = config
        .join("projects")
        .join(folder)
        .join(format!("{id}.jsonl"));
    assert!(
        file.is_file(),
        "claude wrote its session elsewhere than {}",
        file.display()
    );

    let name = std::ffi::OsStr::new("my-own-name");
    let env = [
        ("CLAUDE_CONFIG_DIR", config.as_os_str()),
        ("CLAUDE_CODE_PROJECT_DIR_NAME", name),
    ];
    let j = common::ccrescue_with(&sb, &project, &["diagnose", "--json"], &env)
        .expect_code(0)
        .json();
    assert_eq!(j["session"]["path"], file.display().to_string());
    // Without CLAUDE_CONFIG_DIR, claude ignores the variable, and so does ccrescue.
    let j = common::ccrescue_with(&sb, &project, &["diagnose", "--json"], &env[1..])
        .expect_code(0)
        .json();
    assert_eq!(j["session"], serde_json::Value::Null, "{j}");
}

#[test]
fn capabilities_of_the_installed_claude_are_read_from_its_help() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("caps");
    let j = ccrescue(&sb, &p, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let caps = &j["claude"]["capabilities"];
    for always in [
        "--resume",
        "--continue",
        "--model",
        "--output-format",
        "--fork-session",
        "--session-id",
    ] {
        assert_eq!(caps[always], true, "{always}: {caps}");
    }
    // --autocompact arrived in 2.1.328 (reference §4b).
    assert_eq!(caps["--autocompact"], version_at_least("2.1.328"), "{caps}");
}

#[test]
fn a_failed_reduction_after_the_429_is_still_the_stuck_session() {
    // Gateway (subscriber-style) auth: 2.1.328 answers the refused compaction by dropping rounds
    // and ends with "Compaction failed · conversation could not be reduced below the context limit";
    // 2.1.150–2.1.212 fail at once with "Error during compaction: API Error: Request rejected (429)…".
    // Either way it is one failed compaction of a session that is still stuck.
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::with_auth(&mock, Auth::GatewayToken);
    let p = sb.project("reduce");
    let f = fixtures::failed_compaction(&mock, &sb, &p, CompactionFailure::Credits);
    let j = ccrescue(&sb, &p, &["diagnose", "--json"])
        .expect_code(0)
        .json();
    let s = &j["session"];
    assert_eq!(s["failed_compactions"], 1, "{s}");
    assert_eq!(s["blocked"], true, "{}: {s}", f.error);
    assert_eq!(s["last_error"]["during_compaction"], true);
    assert_eq!(j["symptom"], "context_overflow");
    let list = ccrescue(&sb, &p, &["sessions"]).expect_code(0);
    assert!(list.stdout.contains("1M error"), "{}", list.stdout);
}

#[test]
fn commands_carry_the_config_dir_they_were_diagnosed_with() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let p = sb.project("cfg");
    let f = fixtures::credits_error(&mock, &sb, &p);
    let cfg = sb.config_dir();
    let out = ccrescue(
        &sb,
        &p,
        &["diagnose", "-q", "--config-dir", cfg.to_str().unwrap()],
    )
    .expect_code(0);
    let want = format!(
        "CLAUDE_CODE_DISABLE_1M_CONTEXT=1 CLAUDE_CONFIG_DIR={} claude -p /compact --resume={}",
        cfg.display(),
        f.session.id
    );
    assert!(
        out.stdout.contains(&want),
        "{want:?} missing from\n{}",
        out.stdout
    );
    // The printed command works as printed: claude finds the session through that config dir.
    let j = ccrescue(
        &sb,
        &p,
        &["diagnose", "--json", "--config-dir", cfg.to_str().unwrap()],
    )
    .expect_code(0)
    .json();
    let ret = j["plan"]
        .as_array()
        .and_then(|p| p.iter().find(|s| s["step"] == "return"))
        .expect("a return step");
    assert_eq!(ret["env"]["CLAUDE_CONFIG_DIR"], cfg.display().to_string());
    mock.set_rules(vec![]);
    let mut cmd = sb.claude_command(
        &p,
        &[
            "-p",
            "still there?",
            "--resume",
            &f.session.id,
            "--model",
            "claude-sonnet-4-6",
        ],
    );
    cmd.env("CLAUDE_CONFIG_DIR", &cfg).env("HOME", sb.tmp());
    let run =
        ccrescue_testbench::sandbox::run_with_timeout(cmd, std::time::Duration::from_secs(120));
    assert!(
        run.status.success(),
        "{}",
        ccrescue_testbench::sandbox::describe(&run)
    );
}
