//! The rescue wizard (bare `ccrescue`): looks first, asks which symptom the user sees (the
//! evidence's answer preselected), then walks the ladder for it — the overflow ladder (backup,
//! compact in a small model, trim, start afresh, return to Sonnet) or the fresh-session advice.
//! It talks only through a `Prompter` and acts only through a `World`, so the code that runs for
//! users is the code the unit tests drive with a script.
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::claude::{self, Version};
use crate::cli::WizardArgs;
use crate::context::Ctx;
use crate::diagnose::{self, Diagnosis, Facts, Symptom};
use crate::error::{EXIT_OK, refused};
use crate::format::{ago, cut, human_bytes};
use crate::ladder::{self, LadderInput, Step};
use crate::select::{self, Chosen};
use crate::settings::{self, SettingsFindings};
use crate::ui::{AssumeYes, Prompter, TerminalPrompter};

mod compact;
mod fresh;
mod look;
pub mod note;
mod overflow;
mod pieces;
pub mod world;

#[cfg(test)]
mod tests;

use world::World;

/// Exit code when the session was not recovered (a declined step, a failed rung).
pub const EXIT_NOT_RECOVERED: u8 = crate::error::EXIT_FAILED;

/// What the wizard was told and found before it starts.
pub struct Options {
    /// The claude binary to run.
    pub claude: PathBuf,
    /// Why no claude binary was found (only `--dry-run` goes on without one).
    pub claude_missing: Option<String>,
    /// How to name claude in the commands shown.
    pub claude_name: String,
    pub config_dir: Option<String>,
    /// The project folder (the fallback working directory).
    pub project: PathBuf,
    pub compact_model: String,
    pub return_model: String,
    /// Text tool outputs over this many bytes are shortened when images were not enough.
    pub tool_output_over: u64,
    pub dry_run: bool,
    /// `--quiet`: no prevention advice after a rescue.
    pub quiet: bool,
    pub version: Option<Version>,
    pub settings: SettingsFindings,
    /// The `[1m]` pins in settings files that the settings fix can change, and what it leaves.
    pub settings_fix: crate::settings::fix::Plan,
    /// Lines for the user's shell that replace `[1m]` model variables (only reported).
    pub shell_lines: Vec<String>,
}

/// Bare `ccrescue`: the wizard with the real terminal (or `--yes`) and the real world.
pub fn run(ctx: &Ctx, args: &WizardArgs) -> Result<u8> {
    if ctx.args.json {
        return Err(refused(
            "the wizard has no --json output",
            Some("`ccrescue diagnose --json` prints the diagnosis and plan as JSON".into()),
        ));
    }
    if !ctx.interactive && !ctx.args.yes && !ctx.args.dry_run {
        return Err(refused(
            "no terminal to ask questions on, so ccrescue changed nothing",
            Some(
                "run `ccrescue --yes` to take every default (a backup is made first), \
                 `ccrescue --dry-run` to see the plan, or `ccrescue diagnose` to only look"
                    .into(),
            ),
        ));
    }
    // `--dry-run` runs nothing, so it needs no claude: the plan names it `claude` (issue 11).
    let (claude, claude_missing) = match ctx.claude.clone() {
        Ok(path) => (path, None),
        Err(why) if ctx.args.dry_run => (PathBuf::from("claude"), Some(why)),
        Err(why) => {
            return Err(refused(
                why,
                Some("the wizard runs claude itself; pass --claude PATH".into()),
            ));
        }
    };
    let version = claude_missing
        .is_none()
        .then(|| claude::version(&ctx.claude_env, &claude).ok())
        .flatten();
    let files = settings::settings_files(&ctx.root, &ctx.project);
    let layers = settings::layers::Layers::discover(&ctx.root, &ctx.project, &ctx.model_env);
    let shell = settings::shell::Shell::detect(ctx.shell.as_deref());
    let opts = Options {
        settings_fix: settings::fix::plan(&layers),
        shell_lines: settings::shell::shell_lines(&layers, shell),
        claude,
        claude_missing,
        claude_name: ctx.claude_display(),
        config_dir: ctx
            .claude_env
            .config_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        project: ctx.project.clone(),
        compact_model: args.compact_model.clone(),
        return_model: args.model.clone(),
        tool_output_over: args.tool_output_over,
        dry_run: ctx.args.dry_run,
        quiet: ctx.args.quiet,
        version,
        settings: settings::find(&files, &ctx.model_env),
    };
    let Some(chosen) = select::choose(ctx)? else {
        eprintln!(
            "No session here: claude has none for {} (in {}), so there is nothing to rescue.",
            ctx.project.display(),
            ctx.sessions_dir.display()
        );
        eprintln!(
            "{} {}",
            console::style("hint:").for_stderr().cyan().bold(),
            select::no_session_hint(ctx)
        );
        return Ok(EXIT_OK);
    };
    let mut ui: Box<dyn Prompter> = if ctx.args.yes || !ctx.interactive {
        Box::new(AssumeYes {
            allow_clear: args.allow_clear,
            quiet: ctx.args.quiet,
        })
    } else {
        Box::new(TerminalPrompter::new())
    };
    let mut world = world::Real {
        root: ctx.root.clone(),
        sessions_dir: ctx.sessions_dir.clone(),
        shown_trim: None,
        changed: false,
    };
    let mut out = std::io::stdout().lock();
    let walked = Wizard {
        ui: ui.as_mut(),
        world: &mut world,
        out: &mut out,
        opts: &opts,
    }
    .walk(chosen);
    out.flush()?;
    if let Err(e) = &walked
        && crate::error::exit_code(e) == crate::error::EXIT_INTERRUPTED
        && !world.changed
    {
        ui.say("Nothing was changed.");
    }
    walked
}

/// One run of the wizard.
pub struct Wizard<'a> {
    pub ui: &'a mut dyn Prompter,
    pub world: &'a mut dyn World,
    /// Results: the plan of `--dry-run`, the command to run next.
    pub out: &'a mut dyn Write,
    pub opts: &'a Options,
}

/// The symptoms the user can name, in menu order.
const SYMPTOMS: [(Symptom, &str); 2] = [
    (
        Symptom::ContextOverflow,
        "the error came after a long session, or /compact failed",
    ),
    (
        Symptom::FreshSession,
        "the error comes on a brand-new session",
    ),
];
const NOT_SURE: &str = "not sure: go by what ccrescue found";
const OTHER_SESSION: &str = "this is not the session: pick another one";

impl Wizard<'_> {
    /// Looks, asks, and walks the ladder for the symptom; returns the exit code.
    pub fn walk(&mut self, mut chosen: Chosen) -> Result<u8> {
        loop {
            let diagnosis = self.diagnose(&chosen);
            self.look(&chosen, &diagnosis);
            if self.opts.dry_run {
                return self.dry_run(&chosen, &diagnosis);
            }
            let mut items: Vec<String> = SYMPTOMS.iter().map(|(_, t)| (*t).to_owned()).collect();
            items.push(NOT_SURE.to_owned());
            let others = self.world.sessions()?.len() > 1;
            if others {
                items.push(OTHER_SESSION.to_owned());
            }
            let default = SYMPTOMS
                .iter()
                .position(|(s, _)| *s == diagnosis.symptom)
                .unwrap_or(SYMPTOMS.len());
            let picked = self
                .ui
                .select("symptom", "What do you see?", &items, default)?;
            let symptom = match picked {
                i if i < SYMPTOMS.len() => SYMPTOMS[i].0,
                i if i == SYMPTOMS.len() => diagnosis.symptom,
                _ => {
                    chosen = self.pick_session(chosen)?;
                    continue;
                }
            };
            return match symptom {
                Symptom::ContextOverflow => self.overflow(&chosen),
                Symptom::FreshSession => self.fresh(&chosen, &diagnosis),
                Symptom::None => {
                    self.ui.say(
                        "Nothing to do: this session shows no 1M-context error and is not near the \
                         standard window. If another session is the stuck one, run ccrescue again \
                         and pick it (`ccrescue sessions` lists them), or pass --session ID.",
                    );
                    // A subagent refused for long context is not this session's error, but can
                    // still hold claude to 200K (diagnose's evidence, #92456).
                    if let Some(e) = diagnosis.evidence.iter().find(|e| e.contains("#92456")) {
                        self.ui.say(&format!("But: {e}."));
                    }
                    Ok(EXIT_OK)
                }
            };
        }
    }

    fn diagnose(&self, c: &Chosen) -> Diagnosis {
        let live = self.world.live(&c.file.id);
        diagnose::diagnose(&Facts {
            scan: Some(&c.scan),
            session_id: Some(&c.file.id),
            live: live.as_ref(),
            version: self.opts.version,
            settings: &self.opts.settings,
            claude: &self.opts.claude_name,
            config_dir: self.opts.config_dir.as_deref(),
            project: &self.opts.project,
        })
    }

    fn pick_session(&mut self, current: Chosen) -> Result<Chosen> {
        let list = self.world.sessions()?;
        // On a narrow terminal the id's first block is enough to tell sessions apart, and leaves
        // room for the first prompt, which is how people recognise them.
        let narrow = crate::format::width_of(&console::Term::stderr()).is_some_and(|w| w < 100);
        let items: Vec<String> = list
            .iter()
            .map(|f| {
                let id = match f.id.split_once('-') {
                    Some((head, _)) if narrow => format!("{head}…"),
                    _ => f.id.clone(),
                };
                let prompt = self
                    .world
                    .scan(&f.path)
                    .ok()
                    .and_then(|s| s.first_prompt)
                    .map(|p| cut(&p, 40))
                    .unwrap_or_default();
                format!(
                    "{id}  {:>9}  {:>8}  {prompt}",
                    ago(f.modified),
                    human_bytes(f.bytes)
                )
            })
            .collect();
        let default = list
            .iter()
            .position(|f| f.id == current.file.id)
            .unwrap_or(0);
        let i = self
            .ui
            .select("session", "Which session?", &items, default)?;
        let file = list[i].clone();
        let scan = self.world.scan(&file.path)?;
        Ok(Chosen {
            file,
            scan,
            why: None,
        })
    }

    /// The ladder's input for this session, with the models asked for.
    fn ladder_input<'b>(&'b self, c: &'b Chosen, cwd: Option<&'b str>) -> LadderInput<'b> {
        LadderInput {
            claude: &self.opts.claude_name,
            session_id: &c.file.id,
            cwd,
            config_dir: self.opts.config_dir.as_deref(),
            live_pid: self.world.live(&c.file.id).map(|l| l.pid),
            images: c.scan.media.images + c.scan.media.documents,
            media_tokens: c.scan.media.est_tokens,
            pins: self.opts.settings.pins.len(),
            compact_model: &self.opts.compact_model,
            return_model: &self.opts.return_model,
            tool_output_over: self.opts.tool_output_over,
        }
    }

    /// `--dry-run`: the plan for what the evidence shows, with the exact command lines.
    fn dry_run(&mut self, c: &Chosen, d: &Diagnosis) -> Result<u8> {
        // The folder the steps would really run in (the project's when the session's is gone).
        let cwd = self.workdir(c).to_string_lossy().into_owned();
        let input = self.ladder_input(c, Some(&cwd));
        let steps = match d.symptom {
            Symptom::ContextOverflow => ladder::overflow(&input),
            Symptom::FreshSession => ladder::fresh_session(&input),
            Symptom::None => {
                writeln!(self.out, "Nothing to do: the session is not stuck.")?;
                return Ok(EXIT_OK);
            }
        };
        writeln!(self.out, "Plan (--dry-run: nothing was run or changed):")?;
        if d.symptom == Symptom::ContextOverflow {
            writeln!(
                self.out,
                "  backup  a copy of {} next to it",
                c.file.path.display()
            )?;
        }
        for step in &steps {
            let step = if step.step == "compact" {
                self.as_run(step.clone())
            } else {
                step.clone()
            };
            writeln!(self.out, "  {:<7} {}", short_name(step.step), step.why)?;
            if let Some(line) = step.shell_line() {
                writeln!(self.out, "          $ {line}")?;
            }
        }
        if let Some(why) = &self.opts.claude_missing {
            writeln!(
                self.out,
                "claude was not found ({why}): the commands above name it `claude`; install \
                 Claude Code or pass --claude PATH before running them."
            )?;
        }
        Ok(EXIT_OK)
    }

    /// Prints `$ <command line>` before a step runs.
    fn announce(&mut self, step: &Step) {
        if let Some(line) = step.shell_line() {
            self.ui.say(&format!("$ {line}"));
        }
    }
}

fn short_name(step: &str) -> &str {
    match step {
        "quit_claude" => "quit",
        "fix_settings" => "fix",
        "standard_model" => "model",
        other => other,
    }
}
