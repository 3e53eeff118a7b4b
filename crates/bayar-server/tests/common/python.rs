//! The official provider SDKs for Python, in a virtualenv under `target/` that the tests set
//! up themselves (reinstalled when `conformance/requirements.txt` changes).

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python, or `None` (said loudly; a failure under `CI=true`) when it cannot be set up.
pub fn sdk_python() -> Option<PathBuf> {
    match ensure_venv() {
        Ok(python) => Some(python),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the Python SDK environment could not be set up: {why}"
            );
            eprintln!("NOTE: Python SDK conformance tests did NOT run: {why}");
            None
        }
    }
}

fn ensure_venv() -> Result<PathBuf, String> {
    // Tests of one binary run in parallel; one of them installs while the others wait.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = workspace();
    let requirements = root.join("conformance/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| format!("{e}"))?;
    let venv = root.join("target/conformance-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("bayar-requirements.txt");
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(python);
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&marker, wanted).map_err(|e| format!("{e}"))?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs a conformance script with `env`, returning its stdout parsed as JSON.
pub fn run_script(python: &Path, script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let output = Command::new(python)
        .arg(workspace().join("conformance").join(script))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run the conformance script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}
