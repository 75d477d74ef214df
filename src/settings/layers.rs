//! Every layer claude reads a model from, in claude's precedence order, what each sets for the
//! model and the 1M knobs, and which one wins.
//!
//! Observed with the real claude 2.1.328 against the mock (tests/settings_real.rs):
//! `--model` > `ANTHROPIC_MODEL` > `.claude/settings.local.json` > `.claude/settings.json` >
//! `~/.claude/settings.json` for the `model` key; an `env` block of a settings file is applied
//! over the process environment (its `ANTHROPIC_MODEL` beats the shell's, and beats every
//! `model` key), env blocks merge with the same file order (local over project over user), and a
//! key given twice in one file counts its last value (JSON.parse). Managed settings override all
//! (reference §4; not run here: it would mean writing /etc).
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::aliases::{self, Alias, Meaning};
use super::{KNOB_VARS, MODEL_VARS, Parsed, is_one_m, managed_settings_path, redact};
use crate::claude::Version;

/// Where a setting comes from, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The administrator's managed settings: override everything, never written by ccrescue.
    Managed,
    /// The process environment ccrescue (and so claude, started from the same shell) sees.
    Environment,
    /// `<project>/.claude/settings.local.json`.
    Local,
    /// `<project>/.claude/settings.json`.
    Project,
    /// `<config root>/settings.json`.
    User,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Managed => "managed",
            Scope::Environment => "env",
            Scope::Local => "local",
            Scope::Project => "project",
            Scope::User => "user",
        }
    }
}

/// What ccrescue found in one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "problem")]
pub enum LayerState {
    /// The file does not exist (or, for the environment, nothing relevant is set).
    Absent,
    Read,
    /// Unreadable or invalid JSON: left untouched, the other layers still count.
    Problem(String),
}

/// One layer: a settings file or the process environment.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    pub scope: Scope,
    /// The file (`None` for the environment).
    pub path: Option<PathBuf>,
    #[serde(flatten)]
    pub state: LayerState,
    /// The `model` key (files only).
    pub model: Option<String>,
    /// Model variables, knobs, and any other `[1m]` value: name → value (secrets redacted).
    pub env: BTreeMap<String, String>,
}

/// The layers, highest precedence first.
#[derive(Debug, Clone, Serialize)]
pub struct Layers {
    pub layers: Vec<Layer>,
}

/// The setting that chooses claude's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Winner {
    pub scope: Scope,
    pub path: Option<PathBuf>,
    /// `model`, `env.ANTHROPIC_MODEL` or `ANTHROPIC_MODEL`.
    pub key: String,
    pub value: String,
}

/// The model claude will use (unless `--model` is passed), and what it means.
#[derive(Debug, Clone, Serialize)]
pub struct Effective {
    /// `None`: nothing is set, claude uses its default.
    pub winner: Option<Winner>,
    /// An `ANTHROPIC_DEFAULT_*_MODEL` that maps the winning alias: (its layer, value).
    pub mapped_by: Option<(Scope, String)>,
    pub meaning: Meaning,
}

/// The settings files claude reads with their scopes, highest precedence first.
pub fn layer_files(root: &Path, project: &Path) -> Vec<(Scope, PathBuf)> {
    vec![
        (Scope::Managed, managed_settings_path()),
        (
            Scope::Local,
            project.join(".claude").join("settings.local.json"),
        ),
        (
            Scope::Project,
            project.join(".claude").join("settings.json"),
        ),
        (Scope::User, root.join("settings.json")),
    ]
}

fn wanted(name: &str, value: &str) -> bool {
    MODEL_VARS.contains(&name) || KNOB_VARS.contains(&name) || is_one_m(value)
}

impl Layers {
    /// The layers of `root` and `project` with the process variables `env`.
    pub fn discover(root: &Path, project: &Path, env: &[(String, OsString)]) -> Layers {
        Layers::read(&layer_files(root, project), env)
    }

    /// Reads `files` (each with its scope, any order) and the process variables `env`.
    pub fn read(files: &[(Scope, PathBuf)], env: &[(String, OsString)]) -> Layers {
        let mut layers: Vec<Layer> = files.iter().map(|(s, p)| read_file(*s, p)).collect();
        let vars: BTreeMap<String, String> = env
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string_lossy().into_owned()))
            .filter(|(n, v)| wanted(n, v))
            .map(|(n, v)| {
                let shown = redact(&n, &v);
                (n, shown)
            })
            .collect();
        layers.push(Layer {
            scope: Scope::Environment,
            path: None,
            state: if vars.is_empty() {
                LayerState::Absent
            } else {
                LayerState::Read
            },
            model: None,
            env: vars,
        });
        layers.sort_by_key(|l| l.scope);
        Layers { layers }
    }

    fn files(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().filter(|l| l.scope != Scope::Environment)
    }

    /// The value of variable `name` claude sees: settings `env` blocks (highest file first) are
    /// applied over the process environment.
    pub fn env_var(&self, name: &str) -> Option<(Scope, &str)> {
        self.files()
            .chain(self.layers.iter().filter(|l| l.scope == Scope::Environment))
            .find_map(|l| l.env.get(name).map(|v| (l.scope, v.as_str())))
    }

    /// The setting that chooses the model, by claude's precedence (see the module comment).
    pub fn winner(&self) -> Option<Winner> {
        let model_of = |l: &Layer| {
            l.model.as_ref().map(|m| Winner {
                scope: l.scope,
                path: l.path.clone(),
                key: "model".into(),
                value: m.clone(),
            })
        };
        let managed = self.files().find(|l| l.scope == Scope::Managed);
        if let Some(w) = managed.and_then(model_of) {
            return Some(w);
        }
        if let Some((scope, value)) = self.env_var("ANTHROPIC_MODEL") {
            let layer = self.layers.iter().find(|l| l.scope == scope)?;
            return Some(Winner {
                scope,
                path: layer.path.clone(),
                key: if scope == Scope::Environment {
                    "ANTHROPIC_MODEL".into()
                } else {
                    "env.ANTHROPIC_MODEL".into()
                },
                value: value.to_owned(),
            });
        }
        self.files().find_map(model_of)
    }

    /// The model claude will use and what it means in `version`.
    pub fn effective(&self, version: Option<Version>) -> Effective {
        let winner = self.winner();
        let name = winner.as_ref().map_or("", |w| w.value.as_str());
        let mapped_by = Alias::parse(name)
            .and_then(Alias::mapping_var)
            .and_then(|var| self.env_var(var))
            .map(|(scope, v)| (scope, v.to_owned()));
        let meaning = match &mapped_by {
            Some((_, target)) => {
                let mut m = aliases::meaning(target, version);
                if is_one_m(name) && m.window.is_none() {
                    m.window = Some(aliases::Window::OneM);
                }
                m
            }
            None => aliases::meaning(name, version),
        };
        Effective {
            winner,
            mapped_by,
            meaning,
        }
    }
}

fn read_file(scope: Scope, path: &Path) -> Layer {
    let mut layer = Layer {
        scope,
        path: Some(path.to_owned()),
        state: LayerState::Absent,
        model: None,
        env: BTreeMap::new(),
    };
    let doc = match super::parse(path) {
        Parsed::Absent => return layer,
        Parsed::Problem(p) => {
            layer.state = LayerState::Problem(p);
            return layer;
        }
        Parsed::Doc(doc) => doc,
    };
    layer.state = LayerState::Read;
    layer.model = doc
        .get("model")
        .and_then(Value::as_str)
        .map(|m| redact("model", m));
    if let Some(env) = doc.get("env").and_then(Value::as_object) {
        for (name, value) in env {
            if let Some(value) = value.as_str().filter(|v| wanted(name, v)) {
                layer.env.insert(name.clone(), redact(name, value));
            }
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::aliases::Window;

    fn layers(files: &[(Scope, &str)], env: &[(&str, &str)]) -> (tempfile::TempDir, Layers) {
        let tmp = tempfile::tempdir().unwrap();
        let files: Vec<_> = files
            .iter()
            .map(|(s, text)| {
                let p = tmp.path().join(format!("{}.json", s.label()));
                std::fs::write(&p, text).unwrap();
                (*s, p)
            })
            .collect();
        let env: Vec<_> = env
            .iter()
            .map(|(n, v)| ((*n).to_owned(), OsString::from(v)))
            .collect();
        let l = Layers::read(&files, &env);
        (tmp, l)
    }

    fn winner(files: &[(Scope, &str)], env: &[(&str, &str)]) -> Option<(Scope, String, String)> {
        let (_tmp, l) = layers(files, env);
        l.winner().map(|w| (w.scope, w.key, w.value))
    }

    const H: &str = r#"{"model":"claude-haiku-4-5-20251001"}"#;
    const S: &str = r#"{"model":"claude-sonnet-4-6"}"#;
    const S45: &str = r#"{"model":"claude-sonnet-4-5"}"#;

    #[test]
    fn model_keys_local_over_project_over_user() {
        use Scope::*;
        let w = winner(&[(User, S45), (Project, H), (Local, S)], &[]);
        assert_eq!(w, Some((Local, "model".into(), "claude-sonnet-4-6".into())));
        let w = winner(&[(User, S45), (Project, H)], &[]);
        assert_eq!(
            w,
            Some((Project, "model".into(), "claude-haiku-4-5-20251001".into()))
        );
        let w = winner(&[(User, S45)], &[]);
        assert_eq!(w.unwrap().0, User);
        assert_eq!(winner(&[], &[]), None);
    }

    #[test]
    fn the_environment_beats_model_keys_and_env_blocks_beat_the_environment() {
        use Scope::*;
        let w = winner(&[(User, H)], &[("ANTHROPIC_MODEL", "claude-sonnet-4-6")]);
        assert_eq!(
            w,
            Some((
                Environment,
                "ANTHROPIC_MODEL".into(),
                "claude-sonnet-4-6".into()
            ))
        );
        let user_env = r#"{"env":{"ANTHROPIC_MODEL":"claude-sonnet-4-6"}}"#;
        let w = winner(&[(User, user_env), (Local, H)], &[("ANTHROPIC_MODEL", "x")]);
        assert_eq!(
            w,
            Some((
                User,
                "env.ANTHROPIC_MODEL".into(),
                "claude-sonnet-4-6".into()
            ))
        );
        let project_env = r#"{"env":{"ANTHROPIC_MODEL":"claude-haiku-4-5-20251001"}}"#;
        let w = winner(&[(User, user_env), (Project, project_env)], &[]);
        assert_eq!(w.unwrap().0, Project);
    }

    #[test]
    fn managed_overrides_everything_and_a_broken_file_does_not_count() {
        use Scope::*;
        let w = winner(
            &[
                (Managed, r#"{"model":"claude-sonnet-4-5"}"#),
                (Local, r#"{"env":{"ANTHROPIC_MODEL":"x"}}"#),
            ],
            &[("ANTHROPIC_MODEL", "y")],
        );
        assert_eq!(w.unwrap().0, Managed);
        let (_t, l) = layers(&[(Local, "{\"model\": \"x[1m]\",}"), (User, S)], &[]);
        assert_eq!(l.winner().unwrap().scope, User);
        let local = l.layers.iter().find(|l| l.scope == Local).unwrap();
        assert!(matches!(&local.state, LayerState::Problem(p) if p.contains("line 1, column")));
    }

    #[test]
    fn layers_come_out_in_precedence_order_with_secrets_redacted() {
        use Scope::*;
        let (_t, l) = layers(
            &[
                (
                    User,
                    r#"{"env":{"ANTHROPIC_AUTH_TOKEN":"abc[1m]","CLAUDE_CODE_DISABLE_1M_CONTEXT":"1","OTHER":"x"}}"#,
                ),
                (Managed, "{}"),
            ],
            &[("ANTHROPIC_DEFAULT_SONNET_MODEL", "claude-sonnet-4-6[1m]")],
        );
        let scopes: Vec<_> = l.layers.iter().map(|l| l.scope).collect();
        assert_eq!(scopes, [Managed, Environment, User]);
        let user = &l.layers[2].env;
        assert_eq!(
            user.get("ANTHROPIC_AUTH_TOKEN").map(String::as_str),
            Some("<redacted>")
        );
        assert_eq!(
            user.get("CLAUDE_CODE_DISABLE_1M_CONTEXT")
                .map(String::as_str),
            Some("1")
        );
        assert!(!user.contains_key("OTHER"));
    }

    #[test]
    fn an_alias_is_resolved_through_its_mapping_variable_first() {
        use Scope::*;
        let (_t, l) = layers(
            &[(
                User,
                r#"{"model":"sonnet","env":{"ANTHROPIC_DEFAULT_SONNET_MODEL":"claude-sonnet-4-6[1m]"}}"#,
            )],
            &[],
        );
        let e = l.effective(Some(Version(2, 1, 328)));
        assert_eq!(e.mapped_by, Some((User, "claude-sonnet-4-6[1m]".into())));
        assert_eq!(e.meaning.window, Some(Window::OneM));
        let (_t, l) = layers(&[(User, r#"{"model":"sonnet"}"#)], &[]);
        assert_eq!(
            l.effective(Some(Version(2, 1, 185))).meaning.window,
            Some(Window::Standard)
        );
        assert_eq!(
            l.effective(Some(Version(2, 1, 328))).meaning.window,
            Some(Window::OneM)
        );
        assert_eq!(l.effective(None).meaning.window, None);
    }
}
