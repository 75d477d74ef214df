//! `ccrescue settings` against the real claude: the layer ccrescue says wins is the one whose
//! model claude sends, and after `settings --fix --yes` claude's request carries neither the
//! 1M beta header nor a 1M model, where before the fix it did.
mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use ccrescue_testbench::mock::MockApi;
use ccrescue_testbench::sandbox::{RUN_TIMEOUT, Sandbox, describe, run_with_timeout};
use common::{ccrescue_with, snapshot};

const ONE_M_BETA: &str = "context-1m-2025-08-07";
const HAIKU: &str = "claude-haiku-4-5-20251001";
const SONNET: &str = "claude-sonnet-4-6";

/// Runs `claude -p hi` in `project` with `env` added; returns the model and `anthropic-beta`
/// header of the request the mock received.
fn sent(mock: &MockApi, sb: &Sandbox, project: &Path, env: &[(&str, &str)]) -> (String, String) {
    let before = mock.messages_requests().len();
    let mut cmd = sb.claude_command(project, &["-p", "hi"]);
    cmd.envs(env.iter().copied());
    let out = run_with_timeout(cmd, RUN_TIMEOUT);
    assert!(out.status.success(), "{}", describe(&out));
    let log = mock.messages_requests();
    assert_eq!(log.len(), before + 1, "one request per print-mode turn");
    let r = log.last().unwrap();
    (
        r.model.clone().unwrap_or_default(),
        r.beta.clone().unwrap_or_default(),
    )
}

fn write(path: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    path.to_owned()
}

fn settings_json(sb: &Sandbox, project: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, OsStr::new(*v))).collect();
    ccrescue_with(sb, project, &["settings", "--json"], &env)
        .expect_code(0)
        .json()
}

struct Files {
    user: PathBuf,
    project: PathBuf,
    local: PathBuf,
}

fn files(sb: &Sandbox, project: &Path) -> Files {
    Files {
        user: sb.config_dir().join("settings.json"),
        project: project.join(".claude/settings.json"),
        local: project.join(".claude/settings.local.json"),
    }
}

/// Each case: what the files and the environment hold, and which (scope, key) claude follows.
#[test]
fn the_winning_layer_is_the_one_claude_follows() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let model = |m: &str| format!(r#"{{"model":"{m}"}}"#);
    let env_model = |m: &str| format!(r#"{{"env":{{"ANTHROPIC_MODEL":"{m}"}}}}"#);
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, String)>,
        Vec<(&'a str, &'a str)>,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "local over project over user",
            vec![
                ("user", model("claude-sonnet-4-5")),
                ("project", model(HAIKU)),
                ("local", model(SONNET)),
            ],
            vec![],
            "local",
            "model",
        ),
        (
            "project over user",
            vec![
                ("user", model("claude-sonnet-4-5")),
                ("project", model(HAIKU)),
            ],
            vec![],
            "project",
            "model",
        ),
        (
            "the environment over every model key",
            vec![("local", model(HAIKU))],
            vec![("ANTHROPIC_MODEL", SONNET)],
            "environment",
            "ANTHROPIC_MODEL",
        ),
        (
            "a settings env block over the environment",
            vec![("user", env_model(SONNET))],
            vec![("ANTHROPIC_MODEL", HAIKU)],
            "user",
            "env.ANTHROPIC_MODEL",
        ),
        (
            "a user env block over a project model key",
            vec![("user", env_model(SONNET)), ("project", model(HAIKU))],
            vec![],
            "user",
            "env.ANTHROPIC_MODEL",
        ),
        (
            "a project env block over a user env block",
            vec![("user", env_model(SONNET)), ("project", env_model(HAIKU))],
            vec![],
            "project",
            "env.ANTHROPIC_MODEL",
        ),
        (
            "in one file, the env block over the model key",
            vec![(
                "user",
                format!(r#"{{"model":"{HAIKU}","env":{{"ANTHROPIC_MODEL":"{SONNET}"}}}}"#),
            )],
            vec![],
            "user",
            "env.ANTHROPIC_MODEL",
        ),
        (
            "a repeated key counts its last value",
            vec![(
                "user",
                format!(r#"{{"model":"{HAIKU}","model":"{SONNET}"}}"#),
            )],
            vec![],
            "user",
            "model",
        ),
    ];
    for (i, (name, layers, env, scope, key)) in cases.into_iter().enumerate() {
        let project = sb.project(&format!("case {i}"));
        let f = files(&sb, &project);
        let _ = fs::remove_file(&f.user);
        for (layer, text) in &layers {
            let path = match *layer {
                "user" => &f.user,
                "project" => &f.project,
                _ => &f.local,
            };
            write(path, text);
        }
        let (claude_model, _) = sent(&mock, &sb, &project, &env);
        let j = settings_json(&sb, &project, &env);
        let source = &j["model"]["source"];
        assert_eq!(
            (source["scope"].as_str(), source["key"].as_str()),
            (Some(scope), Some(key)),
            "{name}: {j:#}"
        );
        assert_eq!(
            j["model"]["value"].as_str(),
            Some(claude_model.as_str()),
            "{name}: ccrescue's winner is the model claude sent"
        );
    }
}

#[test]
fn after_the_fix_claude_asks_for_a_standard_window() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("pinned");
    let f = files(&sb, &project);
    let user_text = "{\n  \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n  \"model\": \"claude-sonnet-4-6[1m]\",\n  \"env\": {\"DISABLE_TELEMETRY\": \"1\"}\n}\n";
    write(&f.user, user_text);
    // Before: the [1m] id in ~/.claude/settings.json wins and claude asks for the 1M window.
    let (model, beta) = sent(&mock, &sb, &project, &[]);
    assert_eq!(model, SONNET);
    assert!(beta.contains(ONE_M_BETA), "before the fix: {beta}");

    let fixed =
        ccrescue_with::<&str>(&sb, &project, &["settings", "--fix", "--yes"], &[]).expect_code(0);
    assert!(
        fixed
            .stdout
            .contains(&format!("Changed {}", f.user.display())),
        "{}",
        fixed.stdout
    );
    assert_eq!(
        fs::read_to_string(&f.user).unwrap(),
        user_text.replace("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
        "only the one string changed"
    );
    let backup = f.user.with_file_name("settings.json.bak");
    assert_eq!(fs::read_to_string(&backup).unwrap(), user_text);

    let (model, beta) = sent(&mock, &sb, &project, &[]);
    assert_eq!(model, SONNET);
    assert!(!beta.contains(ONE_M_BETA), "after the fix: {beta}");
}

#[test]
fn an_alias_mapped_to_a_1m_id_in_an_env_block_is_fixed_too() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("mapped");
    let f = files(&sb, &project);
    let local = "{\"model\":\"sonnet\",\"env\":{\"ANTHROPIC_DEFAULT_SONNET_MODEL\":\"claude-sonnet-4-6[1m]\"}}";
    write(&f.local, local);
    let (model, beta) = sent(&mock, &sb, &project, &[]);
    assert_eq!(model, SONNET);
    assert!(beta.contains(ONE_M_BETA), "before the fix: {beta}");
    let j = settings_json(&sb, &project, &[]);
    assert_eq!(j["model"]["window"], "one_m", "{j:#}");
    assert_eq!(j["model"]["mapped_by"]["scope"], "local", "{j:#}");
    assert_eq!(
        j["pins"],
        serde_json::json!([{"file": f.local.display().to_string(), "key": "env.ANTHROPIC_DEFAULT_SONNET_MODEL", "value": "claude-sonnet-4-6[1m]"}]),
        "the same pins shape as diagnose --json"
    );

    let before = snapshot(sb.root());
    let dry = ccrescue_with::<&str>(&sb, &project, &["settings", "--fix", "--dry-run"], &[])
        .expect_code(0);
    assert!(dry.stdout.contains("Would change"), "{}", dry.stdout);
    assert_eq!(snapshot(sb.root()), before, "--dry-run writes nothing");

    let j = ccrescue_with::<&str>(
        &sb,
        &project,
        &["settings", "--fix", "--yes", "--json"],
        &[],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["fixes"][0]["applied"], true, "{j:#}");
    assert_eq!(j["fixes"][0]["after"], SONNET);
    assert_eq!(
        fs::read_to_string(&f.local).unwrap(),
        local.replace("claude-sonnet-4-6[1m]", SONNET)
    );
    let (model, beta) = sent(&mock, &sb, &project, &[]);
    assert_eq!(model, SONNET);
    assert!(!beta.contains(ONE_M_BETA), "after the fix: {beta}");
}

/// Windows editors save settings.json with a UTF-8 byte-order mark. claude reads such a file and
/// follows its `[1m]` pin, so ccrescue must report it (not call the file invalid) and fix it,
/// keeping the mark.
#[test]
fn a_settings_file_with_a_byte_order_mark_is_read_and_fixed() {
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("bom");
    let f = files(&sb, &project);
    let text = "\u{feff}{\"model\": \"claude-sonnet-4-6[1m]\"}\n";
    write(&f.user, text);
    let (model, beta) = sent(&mock, &sb, &project, &[]);
    assert_eq!(model, SONNET);
    assert!(beta.contains(ONE_M_BETA), "claude follows the pin: {beta}");

    let j = settings_json(&sb, &project, &[]);
    assert_eq!(j["settings_problems"], serde_json::json!([]), "{j:#}");
    assert_eq!(
        j["pins"],
        serde_json::json!([{"file": f.user.display().to_string(), "key": "model", "value": "claude-sonnet-4-6[1m]"}]),
        "{j:#}"
    );
    ccrescue_with::<&str>(&sb, &project, &["settings", "--fix", "--yes"], &[]).expect_code(0);
    assert_eq!(
        fs::read_to_string(&f.user).unwrap(),
        text.replace("claude-sonnet-4-6[1m]", SONNET),
        "the mark and every other byte kept"
    );
    let (_, beta) = sent(&mock, &sb, &project, &[]);
    assert!(!beta.contains(ONE_M_BETA), "after the fix: {beta}");
}

#[test]
fn an_empty_settings_file_is_no_settings_for_claude_and_ccrescue() {
    // Found by a review: ccrescue called an empty settings file invalid JSON ("claude does not
    // read it either") and guard refused it; claude reads it as no settings, without a word.
    let mock = MockApi::start(vec![]);
    let sb = Sandbox::new(&mock);
    let project = sb.project("empty");
    let f = files(&sb, &project);
    write(&f.user, "");
    write(&f.project, " \n");
    let out = run_with_timeout(sb.claude_command(&project, &["-p", "hi"]), RUN_TIMEOUT);
    assert!(out.status.success(), "{}", describe(&out));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!said.to_lowercase().contains("settings"), "{said}");

    let j = settings_json(&sb, &project, &[]);
    assert_eq!(j["settings_problems"], serde_json::json!([]), "{j:#}");
    ccrescue_with::<&str>(&sb, &project, &["guard", "install", "--yes"], &[]).expect_code(0);
    sent(&mock, &sb, &project, &[]);
}
