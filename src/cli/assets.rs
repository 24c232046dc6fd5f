//! Files generated from the command-line definition for packaging: man pages and shell completions, so
//! they never drift from the options the binary really has. The RPM's `%build` runs
//! `fedflow generate-assets DIR` and installs the result.

use super::Cli;
use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;
use std::fs;
use std::path::Path;

/// Writes `man/fedflow.1`, `man/fedflow-<subcommand>.1` and `completions/fedflow.{bash,zsh,fish}` under `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<Vec<String>> {
    let man_dir = dir.join("man");
    let completion_dir = dir.join("completions");
    for d in [&man_dir, &completion_dir] {
        fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut written = Vec::new();
    let command = Cli::command();
    let mut pages = vec![("fedflow".to_owned(), command.clone())];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("fedflow-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let path = man_dir.join(format!("{name}.1"));
        let mut roff = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut roff)
            .with_context(|| format!("rendering the man page {name}"))?;
        fs::write(&path, roff).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = Cli::command();
        let path = clap_complete::generate_to(shell, &mut command, "fedflow", &completion_dir)
            .with_context(|| format!("writing the {shell} completion"))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
