//! Round-trip tests of the in-place edit: only the one string changes, byte for byte.
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;

use super::*;
use crate::settings::layers::{Layers, Scope};

fn setup(text: &[u8]) -> (tempfile::TempDir, PathBuf, Layers) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("settings.json");
    fs::write(&p, text).unwrap();
    let l = Layers::read(&[(Scope::User, p.clone())], &[]);
    (tmp, p, l)
}

/// Fixes everything in `text` and returns the new file.
fn fixed(text: &str) -> (Vec<FileFix>, String, Replaced, tempfile::TempDir) {
    let (tmp, p, l) = setup(text.as_bytes());
    let fixes = plan_fixes(&l);
    assert!(!fixes.is_empty(), "nothing planned for {text}");
    let r = apply_file(&fixes).unwrap();
    (fixes, fs::read_to_string(&p).unwrap(), r, tmp)
}

#[test]
fn only_the_value_changes_in_a_pretty_file() {
    let text = "{\n  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n\t\"model\" :   \"claude-sonnet-4-6[1m]\" ,\n  \"permissions\": {\"allow\": [\"Bash(ls:*)\"], \"model\": \"x[1m]\"},\n  \"env\": {\n    \"ANTHROPIC_DEFAULT_SONNET_MODEL\": \"sonnet[1m]\",\n    \"ANTHROPIC_API_KEY\": \"sk-ant-abc[1m]\",\n    \"CLAUDE_CODE_DISABLE_1M_CONTEXT\": \"1\"\n  }\n}   \n\n";
    let (fixes, after, r, _tmp) = fixed(text);
    let keys: Vec<_> = fixes
        .iter()
        .map(|f| (f.key.as_str(), f.after.as_str(), f.line))
        .collect();
    assert_eq!(
        keys,
        [
            ("model", "claude-sonnet-4-6", 3),
            ("env.ANTHROPIC_DEFAULT_SONNET_MODEL", "claude-sonnet-4-6", 6)
        ]
    );
    assert_eq!(
        fixes[0].before_text,
        "\"model\" :   \"claude-sonnet-4-6[1m]\""
    );
    assert_eq!(fixes[0].after_text, "\"model\" :   \"claude-sonnet-4-6\"");
    assert_eq!(fixes[0].column, 14);
    let expected = text
        .replacen("\"claude-sonnet-4-6[1m]\"", "\"claude-sonnet-4-6\"", 1)
        .replacen("\"sonnet[1m]\"", "\"claude-sonnet-4-6\"", 1);
    assert_eq!(
        after, expected,
        "every other byte (nested model, API key, whitespace) as it was"
    );
    let backup = r.backup.expect("a backup");
    assert_eq!(fs::read_to_string(backup).unwrap(), text);
}

#[test]
fn minified_escaped_and_non_ascii_files_round_trip() {
    let text = "{\"a\":\"é\\u00e9\\\"\",\"mod\\u0065l\":\"claude-sonnet-4-6\\u005b1m]\",\"z\":[1,2.5e3,null,true]}";
    let (fixes, after, _, _tmp) = fixed(text);
    assert_eq!(
        fixes[0].key, "model",
        "an escaped key is still the model key"
    );
    assert_eq!(fixes[0].before, "claude-sonnet-4-6[1m]");
    assert_eq!(
        after,
        "{\"a\":\"é\\u00e9\\\"\",\"mod\\u0065l\":\"claude-sonnet-4-6\",\"z\":[1,2.5e3,null,true]}"
    );
    // CRLF line ends, a UTF-8 value before the pin, no trailing newline.
    let text = "{\r\n  \"name\": \"Zoë 🦀\",\r\n  \"model\": \"opus[1M]\"\r\n}";
    let (fixes, after, _, _tmp) = fixed(text);
    assert_eq!((fixes[0].line, fixes[0].column), (3, 12));
    assert_eq!(after, text.replace("\"opus[1M]\"", "\"claude-sonnet-4-6\""));
}

#[test]
fn a_repeated_key_has_every_pinned_occurrence_fixed() {
    let text = r#"{"model":"claude-sonnet-4-6[1m]","x":1,"model":"sonnet[1m]"}"#;
    let (fixes, after, _, _tmp) = fixed(text);
    assert_eq!(fixes.len(), 2);
    assert_eq!(
        after,
        r#"{"model":"claude-sonnet-4-6","x":1,"model":"claude-sonnet-4-6"}"#
    );
}

#[test]
fn a_replacement_is_escaped_as_json() {
    assert_eq!(encode("a\"b\\c\n"), r#""a\"b\\c\n""#);
    let text = "{\"model\":\"we\\\"ird\\\\[1m]\"}";
    let (_f, after, _, _tmp) = fixed(text);
    assert_eq!(after, "{\"model\":\"we\\\"ird\\\\\"}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&after).unwrap()["model"],
        "we\"ird\\"
    );
}

#[test]
fn nothing_is_planned_for_invalid_or_clean_files_or_managed_ones() {
    for text in [
        "{\"model\":\"x[1m]\",}",
        "// c\n{\"model\":\"x[1m]\"}",
        "{\"model\":\"claude-sonnet-4-6\"}",
        "[\"x[1m]\"]",
        "",
    ] {
        let (_t, _p, l) = setup(text.as_bytes());
        assert!(plan(&l).fixes.is_empty(), "{text}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("managed-settings.json");
    fs::write(&p, r#"{"model":"claude-sonnet-4-6[1m]"}"#).unwrap();
    let l = Layers::read(&[(Scope::Managed, p.clone())], &[]);
    let plan = plan(&l);
    assert!(plan.fixes.is_empty());
    assert_eq!(plan.untouched.len(), 1);
    assert!(
        plan.untouched[0].why.contains("administrator"),
        "{}",
        plan.untouched[0].why
    );
    assert!(plan.untouched[0].why.contains(&p.display().to_string()));
}

#[test]
fn a_secret_with_1m_in_it_is_left_alone_and_never_shown() {
    let (_t, _p, l) = setup(br#"{"env":{"ANTHROPIC_AUTH_TOKEN":"tok[1m]secret"}}"#);
    let plan = plan(&l);
    assert!(plan.fixes.is_empty());
    assert_eq!(plan.untouched[0].value, "<redacted>");
}

#[test]
fn a_file_changed_after_planning_is_not_written() {
    let (_tmp, p, l) = setup(br#"{"model":"claude-sonnet-4-6[1m]"}"#);
    let fixes = plan_fixes(&l);
    fs::write(&p, r#"{"model":"claude-opus-4-8[1m]"}"#).unwrap();
    let e = apply_fix(&fixes[0]).unwrap_err();
    assert!(format!("{e:#}").contains("changed since"), "{e:#}");
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        r#"{"model":"claude-opus-4-8[1m]"}"#
    );
    assert!(!p.with_extension("json.bak").exists());
}

#[test]
fn backups_never_overwrite_each_other() {
    let (tmp, p, _) = setup(br#"{"model":"a[1m]"}"#);
    for (i, v) in ["a", "b"].iter().enumerate() {
        fs::write(&p, format!(r#"{{"model":"{v}[1m]"}}"#)).unwrap();
        let l = Layers::read(&[(Scope::User, p.clone())], &[] as &[(String, OsString)]);
        let r = apply_file(&plan_fixes(&l)).unwrap();
        let want = if i == 0 {
            "settings.json.bak"
        } else {
            "settings.json.bak.1"
        };
        assert_eq!(r.backup.unwrap(), tmp.path().join(want));
    }
    assert_eq!(
        fs::read_to_string(tmp.path().join("settings.json.bak")).unwrap(),
        r#"{"model":"a[1m]"}"#
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("settings.json.bak.1")).unwrap(),
        r#"{"model":"b[1m]"}"#
    );
}

#[cfg(unix)]
#[test]
fn the_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, p, l) = setup(br#"{"model":"a[1m]"}"#);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    apply_file(&plan_fixes(&l)).unwrap();
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn a_file_with_a_byte_order_mark_is_fixed_and_keeps_it() {
    let text = "\u{feff}{\r\n  \"model\": \"claude-sonnet-4-6[1m]\"\r\n}\r\n";
    let (fixes, after, _, _tmp) = fixed(text);
    assert_eq!((fixes[0].line, fixes[0].column), (2, 12));
    assert_eq!(fixes[0].before_text, "\"model\": \"claude-sonnet-4-6[1m]\"");
    assert_eq!(
        after,
        text.replace("claude-sonnet-4-6[1m]", "claude-sonnet-4-6")
    );
}

#[test]
fn a_stale_temp_file_beside_the_settings_is_swept_by_the_fix() {
    let (tmp, p, l) = setup(b"{\"model\":\"claude-sonnet-4-6[1m]\"}");
    // Left by a ccrescue killed mid-write (a pid that cannot be alive).
    let stale = tmp.path().join(".settings.json.ccrescue-99999999.tmp");
    fs::write(&stale, b"partial").unwrap();
    apply_file(&plan_fixes(&l)).unwrap();
    assert!(!stale.exists(), "the stale temp file is removed");
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "{\"model\":\"claude-sonnet-4-6\"}"
    );
}

#[cfg(unix)]
#[test]
fn the_question_names_the_file_a_link_leads_to() {
    // Issue 17 point 10: "Change <link>?" did not say the change reaches a file elsewhere.
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("elsewhere.json");
    fs::write(&target, "{}").unwrap();
    let link = tmp.path().join("settings.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(
        super::target_words(&link),
        format!("{} (linked from {})", target.display(), link.display())
    );
    assert_eq!(super::target_words(&target), target.display().to_string());
}
