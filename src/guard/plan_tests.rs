use std::path::Path;

use super::*;

const EVENTS: &[&str] = &["UserPromptSubmit", "SessionStart", "PostToolBatch"];

/// The settings-file shapes the settings tests use, and the ones a guard meets: user hooks of
/// the same events, a user's own empty containers, an env block, tabs, CRLF, a BOM.
const SHAPES: &[&str] = &[
    "{}",
    "{}\n",
    "{\n}\n",
    "{\n  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n\t\"model\" :   \"claude-sonnet-4-6[1m]\" ,\n  \"permissions\": {\"allow\": [\"Bash(ls:*)\"], \"model\": \"x[1m]\"},\n  \"env\": {\n    \"ANTHROPIC_DEFAULT_SONNET_MODEL\": \"sonnet[1m]\",\n    \"CLAUDE_CODE_DISABLE_1M_CONTEXT\": \"1\"\n  }\n}   \n\n",
    "{\"a\":\"é\\u00e9\\\"\",\"mod\\u0065l\":\"claude-sonnet-4-6\\u005b1m]\",\"z\":[1,2.5e3,null,true]}",
    "{\r\n  \"name\": \"Zoë 🦀\",\r\n  \"model\": \"opus[1M]\"\r\n}",
    r#"{"model":"claude-sonnet-4-6[1m]","x":1,"model":"sonnet[1m]"}"#,
    "\u{feff}{\"model\":\"claude-sonnet-4-6\"}",
    "{\n  \"permissions\": {\"allow\": [\"Bash(ls:*)\"]},\n  \"model\": \"claude-sonnet-4-6[1m]\",\n  \"env\": {\"DISABLE_TELEMETRY\": \"1\"}\n}\n",
    "{\n    \"hooks\": {\n        \"UserPromptSubmit\": [\n            {\"hooks\": [{\"type\": \"command\", \"command\": \"echo mine\"}]}\n        ],\n        \"Stop\": []\n    },\n    \"env\": {}\n}\n",
    "{\n  \"hooks\": {},\n  \"env\": {}\n}",
    "{\"hooks\":{\"Stop\":[]},\"env\":{}}",
    "{\n\t\"statusLine\": {\"type\": \"command\", \"command\": \"my-line\"}\n}\n",
];

fn plan(exe: &Path, key: WindowKey, statusline: bool) -> Install<'_> {
    Install {
        exe,
        events: EVENTS,
        thresholds: Thresholds {
            warn_at: 150_000,
            block_at: 185_000,
        },
        window: 160_000,
        window_key: key,
        statusline,
        made_file: false,
    }
}

#[test]
fn uninstall_gives_back_every_byte_and_install_twice_changes_nothing() {
    let exe = Path::new("/opt/my tools/ccrescue");
    for shape in SHAPES {
        for key in [WindowKey::Setting, WindowKey::Env] {
            for statusline in [false, true] {
                let p = plan(exe, key, statusline);
                let once = install(shape.as_bytes(), &p).unwrap();
                let text = String::from_utf8_lossy(&once);
                let v: Value = serde_json::from_slice(crate::settings::without_bom(&once))
                    .unwrap_or_else(|e| panic!("{e}: {text}"));
                for e in EVENTS {
                    assert!(v["hooks"][e].is_array(), "{e} in {text}");
                }
                assert_eq!(install(&once, &p).unwrap(), once, "idempotent: {text}");
                let found = find(&once).unwrap();
                assert_eq!(found.events.len(), EVENTS.len(), "{text}");
                assert_eq!(found.thresholds, Some(p.thresholds));
                assert_eq!(
                    String::from_utf8_lossy(&uninstall(&once).unwrap()),
                    *shape,
                    "after uninstall of {text}"
                );
            }
        }
    }
}

#[test]
fn an_empty_settings_file_is_no_settings() {
    // Found by a review: refused as "not valid JSON … claude does not read it either", while
    // claude 2.1.332 reads an empty or blank settings file as none, silently.
    for blank in [&b""[..], b"\n", b"  \r\n\t", b"\xef\xbb\xbf\n"] {
        let found = find(blank).unwrap();
        assert!(found.events.is_empty() && !found.statusline && !found.other_statusline);
        assert_eq!(uninstall(blank).unwrap(), blank);
    }
}

#[test]
fn a_users_own_ccrescue_status_line_is_theirs() {
    // Found by a review: install replaced it with guard's, and uninstall then removed it.
    let exe = Path::new("/opt/ccrescue");
    for own in [
        "ccrescue statusline",
        "ccrescue statusline --warn-at 100000",
    ] {
        let shape = format!(
            "{{\n  \"statusLine\": {{\"type\": \"command\", \"command\": \"{own}\"}}\n}}\n"
        );
        let found = find(shape.as_bytes()).unwrap();
        assert!(!found.statusline && found.other_statusline, "{own}");
        let once = install(shape.as_bytes(), &plan(exe, WindowKey::Setting, false)).unwrap();
        let v: Value = serde_json::from_slice(&once).unwrap();
        assert_eq!(v["statusLine"]["command"], own);
        assert_eq!(String::from_utf8_lossy(&uninstall(&once).unwrap()), shape);
    }
    // Guard's own is marked; an unmarked one run by guard's own path is the user's too (a review
    // found it deleted with the file guard had created).
    let marked = "{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"/opt/ccrescue statusline --guard\"}\n}\n";
    assert!(find(marked.as_bytes()).unwrap().statusline);
    assert_eq!(uninstall(marked.as_bytes()).unwrap(), b"{\n}\n");
    let own = "{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"/opt/ccrescue statusline\"}\n}\n";
    let once = install(own.as_bytes(), &plan(exe, WindowKey::Setting, false)).unwrap();
    assert!(find(&once).unwrap().other_statusline);
    assert_eq!(String::from_utf8_lossy(&uninstall(&once).unwrap()), own);
    let p = plan(exe, WindowKey::Setting, true);
    let v: Value = serde_json::from_slice(&install(b"{}\n", &p).unwrap()).unwrap();
    assert_eq!(
        v["statusLine"]["command"],
        "/opt/ccrescue statusline --guard"
    );
}

#[test]
fn a_users_own_window_and_status_line_are_kept() {
    let shape = "{\n  \"autoCompactWindow\": 120000,\n  \"statusLine\": {\"type\": \"command\", \"command\": \"mine\"}\n}\n";
    let exe = Path::new("/usr/bin/ccrescue");
    let once = install(shape.as_bytes(), &plan(exe, WindowKey::Setting, true)).unwrap();
    let v: Value = serde_json::from_slice(&once).unwrap();
    assert_eq!(v["autoCompactWindow"], 120000);
    assert_eq!(v["statusLine"]["command"], "mine");
    let found = find(&once).unwrap();
    assert_eq!(found.window, None, "the window is the user's");
    assert!(found.other_statusline);
    assert_eq!(String::from_utf8_lossy(&uninstall(&once).unwrap()), shape);
}

#[test]
fn reinstalling_with_other_thresholds_replaces_them() {
    let exe = Path::new("/usr/bin/ccrescue");
    let mut p = plan(exe, WindowKey::Env, false);
    let once = install(b"{}", &p).unwrap();
    p.thresholds.warn_at = 100_000;
    let twice = install(&once, &p).unwrap();
    assert_eq!(find(&twice).unwrap().thresholds.unwrap().warn_at, 100_000);
    assert_eq!(uninstall(&twice).unwrap(), b"{}");
}

#[test]
fn only_ccrescue_hook_commands_are_taken_for_guards() {
    assert_eq!(
        ccrescue_args("/usr/bin/ccrescue hook Stop --warn-at 1"),
        Some("hook Stop --warn-at 1")
    );
    assert_eq!(
        ccrescue_args("'/a b/ccrescue' hook Stop"),
        Some("hook Stop")
    );
    assert_eq!(
        ccrescue_args("C:\\x\\ccrescue.exe statusline"),
        Some("statusline")
    );
    assert_eq!(
        ccrescue_args("/usr/bin/ccrescue statusline --guard"),
        Some("statusline --guard")
    );
    assert_eq!(ccrescue_args("ccrescue-fork hook Stop"), None);
    assert_eq!(ccrescue_args("echo ccrescue hook"), None);
    assert_eq!(ccrescue_args("ccrescue diagnose"), None);
    assert_eq!(
        command_line(Path::new("/a b/it's/ccrescue"), "statusline"),
        r"'/a b/it'\''s/ccrescue' statusline"
    );
}
