//! `ccrescue settings [--fix]`: prints every layer and who wins (read-only), and with `--fix`
//! asks per file (dialoguer on stderr; `--yes` for all; no terminal and no `--yes`: refused),
//! writes the fixes, and prints the lines for what it cannot change itself.
use std::io::{self, Write};

use anyhow::Result;
use console::style;

use super::aliases::{self, Window};
use super::fix::{self, FileFix, Plan};
use super::layers::{Effective, Layer, LayerState, Layers, Scope};
use super::shell::{self, EnvFix, Shell};
use crate::claude::{self, Version};
use crate::context::Ctx;
use crate::error::{EXIT_FAILED, EXIT_OK, refused};
use crate::format::safe;
use crate::json;

/// What happened to one file's fixes.
pub struct Outcome<'a> {
    pub fixes: Vec<&'a FileFix>,
    /// `Some(Ok(backup))` written, `Some(Err(why))` failed, `None` not written (declined, dry run).
    pub result: Option<Result<Option<std::path::PathBuf>, String>>,
}

pub fn run(ctx: &Ctx, fix: bool) -> Result<u8> {
    let layers = Layers::discover(&ctx.root, &ctx.project, &ctx.model_env);
    let plan = if fix {
        fix::plan(&layers)
    } else {
        Plan::default()
    };
    let files = by_file(&plan.fixes);
    let a = &ctx.args;
    if !files.is_empty() && !a.yes && !a.dry_run && !ctx.interactive {
        let names: Vec<String> = files
            .iter()
            .map(|f| f[0].file.display().to_string())
            .collect();
        return Err(refused(
            format!(
                "{} settings file(s) to change ({}) and no terminal to ask first",
                names.len(),
                names.join(", ")
            ),
            Some(
                "pass --yes to change them without asking, or --dry-run to see the changes".into(),
            ),
        ));
    }
    let version = claude::inspect(&ctx.claude_env, ctx.claude.clone(), false)
        .version
        .ok();
    let effective = layers.effective(version);
    let shell = Shell::detect(ctx.shell.as_deref());
    let env_fixes = if fix {
        shell::env_fixes(&layers, shell, dirs::home_dir().as_deref())
    } else {
        vec![]
    };
    let mut out = io::stdout().lock();
    if !a.json && !a.quiet {
        print_layers(&mut out, &layers, &effective, version)?;
    }
    let mut outcomes = vec![];
    for group in files {
        if !a.json && !a.quiet {
            for f in &group {
                print_change(&mut out, f, a.dry_run)?;
            }
        }
        out.flush()?;
        let go = !a.dry_run && (a.yes || confirm(&group[0].file)?);
        let result = go.then(|| {
            fix::apply_file(&group.iter().map(|f| (*f).clone()).collect::<Vec<_>>())
                .map(|r| r.backup)
                .map_err(|e| format!("{e:#}"))
        });
        outcomes.push(Outcome {
            fixes: group,
            result,
        });
    }
    let failed = outcomes.iter().any(|o| matches!(o.result, Some(Err(_))));
    if a.json {
        let findings = super::find(
            &super::settings_files(&ctx.root, &ctx.project),
            &ctx.model_env,
        );
        let doc = json::settings(
            &findings,
            &layers,
            &effective,
            version,
            fix.then_some(&plan),
            &outcomes,
            &env_fixes,
        );
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        print_outcomes(&mut out, &outcomes, a.quiet)?;
        if !a.quiet {
            print_untouched(&mut out, &plan, &env_fixes)?;
        }
        print_final(&mut out, &layers, &effective, fix, &outcomes, a.dry_run)?;
    }
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

fn by_file(fixes: &[FileFix]) -> Vec<Vec<&FileFix>> {
    let mut groups: Vec<Vec<&FileFix>> = vec![];
    for f in fixes {
        match groups.iter_mut().find(|g| g[0].file == f.file) {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
}

fn confirm(file: &std::path::Path) -> Result<bool> {
    use crate::ui::Prompter as _;
    crate::ui::TerminalPrompter::new().confirm(
        "fix_settings",
        &format!("Change {}?", super::fix::target_words(file)),
        true,
    )
}

/// `[1m]`/1M marks for a model name, in words.
fn meaning_of(value: &str, version: Option<Version>) -> String {
    let m = aliases::meaning(value, version);
    match m.window {
        Some(Window::OneM) => style(format!("← 1M: {}", m.why)).yellow().to_string(),
        _ => style(m.why).dim().to_string(),
    }
}

fn print_layers(
    out: &mut dyn Write,
    layers: &Layers,
    e: &Effective,
    v: Option<Version>,
) -> io::Result<()> {
    let version = v.map_or("claude's version unknown".to_owned(), |v| {
        format!("claude {v}")
    });
    writeln!(
        out,
        "Settings claude reads, highest precedence first ({version}):"
    )?;
    for layer in &layers.layers {
        if layer.scope == Scope::Environment {
            writeln!(
                out,
                "  {:<8} claude's command line: a --model you pass beats everything below",
                "--model"
            )?;
        }
        print_layer(out, layer, e, v)?;
    }
    let model = match &e.winner {
        Some(w) => format!(
            "{} ({} in {})",
            safe(&w.value),
            safe(&w.key),
            where_(w.scope, w.path.as_deref())
        ),
        None => "claude's default (nothing sets a model)".to_owned(),
    };
    write!(out, "Model: {model}")?;
    if let Some((scope, target)) = &e.mapped_by {
        write!(out, ", mapped to {target} by {}", scope.label())?;
    }
    let m = &e.meaning;
    let what = match m.window {
        Some(Window::OneM) => style(format!("1M window: {}", m.why))
            .yellow()
            .bold()
            .to_string(),
        Some(Window::Standard) => format!("standard 200K window: {}", m.why),
        None => m.why.clone(),
    };
    writeln!(out, " → {what}")
}

fn where_(scope: Scope, path: Option<&std::path::Path>) -> String {
    path.map_or("the environment".to_owned(), |p| {
        format!("{} ({})", p.display(), scope.label())
    })
}

fn print_layer(
    out: &mut dyn Write,
    l: &Layer,
    e: &Effective,
    v: Option<Version>,
) -> io::Result<()> {
    let place = l
        .path
        .as_ref()
        .map_or("the process environment".to_owned(), |p| {
            p.display().to_string()
        });
    let state = match &l.state {
        LayerState::Absent if l.path.is_some() => " (not present)".to_owned(),
        LayerState::Absent => " (sets nothing about the model)".to_owned(),
        LayerState::Read => String::new(),
        LayerState::Problem(p) => format!(" {}", style(format!("warning: {p}")).yellow()),
    };
    writeln!(out, "  {:<8} {place}{state}", l.scope.label())?;
    let wins = |key: &str| {
        e.winner
            .as_ref()
            .is_some_and(|w| w.scope == l.scope && w.key == key)
            || e.mapped_by.as_ref().is_some_and(|(s, _)| {
                *s == l.scope && key.ends_with("_MODEL") && key.contains("DEFAULT")
            })
    };
    let prefix = if l.scope == Scope::Environment {
        ""
    } else {
        "env."
    };
    let rows = l
        .model
        .iter()
        .map(|m| ("model".to_owned(), m))
        .chain(l.env.iter().map(|(k, v)| (format!("{prefix}{k}"), v)));
    for (key, value) in rows {
        let name = key.trim_start_matches("env.");
        let (key, value) = (safe(&key).into_owned(), safe(value).into_owned());
        let note = if key == "model" || name.ends_with("_MODEL") {
            meaning_of(&value, v)
        } else {
            String::new()
        };
        let mark = if wins(&key) {
            style(" (wins)").bold().to_string()
        } else {
            String::new()
        };
        writeln!(out, "             {key} = {value}{mark}  {note}")?;
    }
    Ok(())
}

fn print_change(out: &mut dyn Write, f: &FileFix, dry_run: bool) -> io::Result<()> {
    let verb = if dry_run { "Would change" } else { "To change" };
    writeln!(out, "{verb} {} line {}:", f.file.display(), f.line)?;
    writeln!(out, "  - {}", style(safe(&f.before_text)).red())?;
    writeln!(out, "  + {}", style(safe(&f.after_text)).green())
}

fn print_outcomes(out: &mut dyn Write, outcomes: &[Outcome], quiet: bool) -> io::Result<()> {
    for o in outcomes {
        let file = o.fixes[0].file.display();
        match &o.result {
            Some(Ok(backup)) if !quiet => {
                let b = backup
                    .as_ref()
                    .map_or(String::new(), |b| format!(" (backup: {})", b.display()));
                writeln!(out, "Changed {file}{b}")?;
            }
            Some(Err(why)) => {
                let mut err = io::stderr().lock();
                writeln!(err, "{} {why}", style("error:").for_stderr().red().bold())?;
                writeln!(
                    err,
                    "{} {file} was left as it was; fix the cause and run `ccrescue settings --fix` again",
                    style("hint:").for_stderr().cyan().bold()
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn print_untouched(out: &mut dyn Write, plan: &Plan, env: &[EnvFix]) -> io::Result<()> {
    for u in &plan.untouched {
        let file = u
            .file
            .as_ref()
            .map_or(String::new(), |f| format!(" in {}", f.display()));
        writeln!(
            out,
            "{} {} = {}{file}: {}",
            style("warning:").yellow().bold(),
            u.key,
            u.value,
            u.why
        )?;
    }
    for f in env {
        writeln!(
            out,
            "{} = {} comes from your shell's environment, which ccrescue cannot change. In {}, run:",
            f.name,
            f.value,
            f.shell.name()
        )?;
        writeln!(out, "  {}", style(&f.set_line).bold())?;
        writeln!(out, "  (or remove it: {})", f.unset_line)?;
        match &f.startup {
            Some(s) if s.line.is_some() => writeln!(
                out,
                "and change it where it is set: {} line {}",
                s.file.display(),
                s.line.unwrap_or(0)
            )?,
            Some(s) => writeln!(
                out,
                "and change it where it is set: probably {} (ccrescue did not find it there or in the shell's other start-up files)",
                s.file.display()
            )?,
            None => {}
        }
    }
    Ok(())
}

fn print_final(
    out: &mut dyn Write,
    layers: &Layers,
    e: &Effective,
    fix: bool,
    outcomes: &[Outcome],
    dry_run: bool,
) -> io::Result<()> {
    let pins = layers_pins(layers);
    let changed: usize = outcomes
        .iter()
        .filter(|o| matches!(o.result, Some(Ok(_))))
        .map(|o| o.fixes.len())
        .sum();
    let planned: usize = outcomes.iter().map(|o| o.fixes.len()).sum();
    if !fix {
        if pins > 0 {
            writeln!(
                out,
                "{} {pins} setting(s) ask for the 1M window ([1m])",
                style("Found:").bold()
            )?;
            writeln!(
                out,
                "{} `ccrescue settings --fix` changes them to standard-context ids (it asks before each file; --dry-run shows the changes)",
                style("hint:").cyan().bold()
            )?;
        } else if e.meaning.window == Some(Window::OneM) {
            writeln!(
                out,
                "No [1m] setting; the model claude will use is still a 1M-context one."
            )?;
            writeln!(
                out,
                "{} ask for a standard-context model explicitly: claude --model {}",
                style("hint:").cyan().bold(),
                crate::ladder::RETURN_MODEL
            )?;
        } else {
            writeln!(out, "No [1m] setting in the files or the environment.")?;
        }
    } else if planned == 0 {
        writeln!(
            out,
            "Nothing ccrescue can change: no [1m] model setting in a settings file it may write."
        )?;
    } else if dry_run {
        writeln!(
            out,
            "Dry run: {planned} setting(s) would change; nothing was written."
        )?;
    } else {
        writeln!(
            out,
            "Changed {changed} of {planned} setting(s). Start a new claude session for them to take effect."
        )?;
    }
    Ok(())
}

fn layers_pins(layers: &Layers) -> usize {
    layers
        .layers
        .iter()
        .map(|l| {
            l.model
                .iter()
                .chain(l.env.values())
                .filter(|v| super::is_one_m(v))
                .count()
        })
        .sum()
}
