//! Process environment variables ccrescue cannot change for the user (a child cannot edit its
//! parent's environment): the exact line to type in their shell, and the start-up file where
//! the variable is probably set.
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::aliases::standard_replacement;
use super::layers::{Layers, Scope};
use super::{MODEL_VARS, is_one_m};

/// The user's shell, from `$SHELL` (PowerShell on Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    /// Any other POSIX shell (sh, dash, ksh, …).
    Posix,
    PowerShell,
}

impl Shell {
    /// The shell named by `$SHELL`'s last component.
    pub fn detect(shell_var: Option<&OsStr>) -> Shell {
        if cfg!(windows) {
            return Shell::PowerShell;
        }
        let name = shell_var
            .map(Path::new)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.as_str() {
            "bash" => Shell::Bash,
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            "pwsh" | "powershell" => Shell::PowerShell,
            _ => Shell::Posix,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Posix => "sh",
            Shell::PowerShell => "PowerShell",
        }
    }

    /// The line that sets `name` to `value` for this shell and the programs it starts.
    pub fn set_line(self, name: &str, value: &str) -> String {
        match self {
            Shell::Fish => format!("set -gx {name} {}", self.quote(value)),
            // A bare word after `=` is a command to PowerShell: the value is always a string.
            Shell::PowerShell => format!("$env:{name} = '{}'", value.replace('\'', "''")),
            _ => format!("export {name}={}", self.quote(value)),
        }
    }

    /// The line that removes `name`.
    pub fn unset_line(self, name: &str) -> String {
        match self {
            Shell::Fish => format!("set -e {name}"),
            Shell::PowerShell => format!("Remove-Item Env:{name}"),
            _ => format!("unset {name}"),
        }
    }

    fn quote(self, s: &str) -> String {
        let plain = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+,".contains(&b));
        match self {
            _ if plain => s.to_owned(),
            Shell::PowerShell => format!("'{}'", s.replace('\'', "''")),
            Shell::Fish => format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'")),
            _ => format!("'{}'", s.replace('\'', r"'\''")),
        }
    }

    /// Where this shell reads variables from at start-up, most likely first.
    pub fn startup_files(self, home: &Path) -> Vec<PathBuf> {
        let names: &[&str] = match self {
            Shell::Bash if cfg!(target_os = "macos") => {
                &[".bash_profile", ".bashrc", ".bash_login", ".profile"]
            }
            Shell::Bash => &[".bashrc", ".bash_profile", ".bash_login", ".profile"],
            Shell::Zsh => &[".zshrc", ".zshenv", ".zprofile", ".zlogin"],
            Shell::Fish => &[".config/fish/config.fish"],
            Shell::Posix => &[".profile"],
            Shell::PowerShell => &[
                "Documents/PowerShell/Microsoft.PowerShell_profile.ps1",
                "Documents/WindowsPowerShell/Microsoft.PowerShell_profile.ps1",
            ],
        };
        // Joined by component, so that Windows paths get `\` throughout.
        let under_home = |n: &str| n.split('/').fold(home.to_path_buf(), |p, c| p.join(c));
        let mut files: Vec<PathBuf> = names.iter().map(|n| under_home(n)).collect();
        if self == Shell::Fish {
            let conf_d = under_home(".config/fish/conf.d");
            let mut more: Vec<PathBuf> = fs::read_dir(conf_d)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "fish"))
                .collect();
            more.sort();
            files.extend(more);
        }
        files
    }
}

/// Where a variable is (probably) set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Startup {
    pub file: PathBuf,
    /// The line that mentions the variable, when one of the start-up files has it; `None`: the
    /// shell's usual file, where it was not found (it may come from elsewhere, e.g. /etc).
    pub line: Option<usize>,
}

/// A `[1m]` process variable and the lines that fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFix {
    pub name: String,
    pub value: String,
    pub after: String,
    pub shell: Shell,
    /// The exact line to run (and to put in the start-up file instead of the old one).
    pub set_line: String,
    /// The alternative: remove it.
    pub unset_line: String,
    pub startup: Option<Startup>,
}

/// The fixes for the `[1m]` model variables of the process environment.
pub fn env_fixes(layers: &Layers, shell: Shell, home: Option<&Path>) -> Vec<EnvFix> {
    let Some(env) = layers.layers.iter().find(|l| l.scope == Scope::Environment) else {
        return vec![];
    };
    env.env
        .iter()
        .filter(|(name, value)| MODEL_VARS.contains(&name.as_str()) && is_one_m(value))
        .filter_map(|(name, value)| {
            let after = standard_replacement(value)?;
            Some(EnvFix {
                name: name.clone(),
                value: value.clone(),
                set_line: shell.set_line(name, &after),
                unset_line: shell.unset_line(name),
                after,
                shell,
                startup: home.map(|h| find_startup(shell, h, name)),
            })
        })
        .collect()
}

/// The exact lines for the user's shell that replace every `[1m]` model variable.
pub fn shell_lines(layers: &Layers, shell: Shell) -> Vec<String> {
    env_fixes(layers, shell, None)
        .into_iter()
        .map(|f| f.set_line)
        .collect()
}

fn find_startup(shell: Shell, home: &Path, name: &str) -> Startup {
    let files = shell.startup_files(home);
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let hit = text.lines().position(|l| {
            let l = l.trim_start();
            !l.starts_with('#') && l.contains(name)
        });
        if let Some(i) = hit {
            return Startup {
                file: file.clone(),
                line: Some(i + 1),
            };
        }
    }
    Startup {
        file: files[0].clone(),
        line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn detects_the_shell_from_its_path() {
        if cfg!(windows) {
            return assert_eq!(Shell::detect(None), Shell::PowerShell);
        }
        let d = |s: &str| Shell::detect(Some(OsStr::new(s)));
        assert_eq!(d("/bin/bash"), Shell::Bash);
        assert_eq!(d("/usr/local/bin/zsh"), Shell::Zsh);
        assert_eq!(d("/opt/homebrew/bin/fish"), Shell::Fish);
        assert_eq!(d("/bin/dash"), Shell::Posix);
        assert_eq!(Shell::detect(None), Shell::Posix);
    }

    #[test]
    fn lines_per_shell() {
        let v = "claude-sonnet-4-6";
        assert_eq!(
            Shell::Bash.set_line("ANTHROPIC_MODEL", v),
            "export ANTHROPIC_MODEL=claude-sonnet-4-6"
        );
        assert_eq!(
            Shell::Fish.set_line("ANTHROPIC_MODEL", v),
            "set -gx ANTHROPIC_MODEL claude-sonnet-4-6"
        );
        assert_eq!(
            Shell::PowerShell.set_line("ANTHROPIC_MODEL", v),
            "$env:ANTHROPIC_MODEL = 'claude-sonnet-4-6'"
        );
        assert_eq!(Shell::PowerShell.set_line("X", "it's"), "$env:X = 'it''s'");
        assert_eq!(Shell::PowerShell.set_line("X", "a b"), "$env:X = 'a b'");
        assert_eq!(Shell::Zsh.set_line("X", "it's"), r"export X='it'\''s'");
        assert_eq!(Shell::Fish.set_line("X", "it's"), r"set -gx X 'it\'s'");
        assert_eq!(Shell::Zsh.unset_line("X"), "unset X");
        assert_eq!(Shell::Fish.unset_line("X"), "set -e X");
        assert_eq!(Shell::PowerShell.unset_line("X"), "Remove-Item Env:X");
    }

    #[test]
    fn names_the_start_up_file_that_sets_the_variable() {
        let home = tempfile::tempdir().unwrap();
        let env = vec![
            ("ANTHROPIC_MODEL".to_owned(), OsString::from("sonnet[1m]")),
            (
                "ANTHROPIC_DEFAULT_HAIKU_MODEL".to_owned(),
                OsString::from("claude-haiku-4-5-20251001"),
            ),
        ];
        let layers = Layers::read(&[], &env);
        fs::write(
            home.path().join(".zshenv"),
            "# export ANTHROPIC_MODEL=old\nexport PATH=x\nexport ANTHROPIC_MODEL='sonnet[1m]'\n",
        )
        .unwrap();
        let fixes = env_fixes(&layers, Shell::Zsh, Some(home.path()));
        assert_eq!(fixes.len(), 1, "only the [1m] one");
        assert_eq!(
            fixes[0].set_line,
            "export ANTHROPIC_MODEL=claude-sonnet-4-6"
        );
        assert_eq!(
            fixes[0].startup,
            Some(Startup {
                file: home.path().join(".zshenv"),
                line: Some(3)
            })
        );
        let fixes = env_fixes(&layers, Shell::Bash, Some(home.path()));
        assert_eq!(fixes[0].startup.as_ref().unwrap().line, None);
        assert_eq!(
            shell_lines(&layers, Shell::Fish),
            ["set -gx ANTHROPIC_MODEL claude-sonnet-4-6"]
        );
    }
}
