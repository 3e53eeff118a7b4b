//! The official provider SDKs for Node, installed under `target/` by the tests themselves
//! (reinstalled when a `conformance/**/node/package.json` changes).

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `node_modules` folder holding the SDKs of `conformance/<project>/package.json`, or
/// `None` (said loudly; a failure under `CI=true`) when Node or npm is missing or npm fails.
pub fn sdk_modules(project: &str) -> Option<PathBuf> {
    match install(project) {
        Ok(modules) => Some(modules),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the Node SDK environment could not be set up: {why}"
            );
            eprintln!("NOTE: Node SDK conformance tests did NOT run: {why}");
            None
        }
    }
}

fn install(project: &str) -> Result<PathBuf, String> {
    // Tests of one binary run in parallel; one of them installs while the others wait.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = workspace();
    let manifest = root.join("conformance").join(project).join("package.json");
    let wanted = std::fs::read_to_string(&manifest).map_err(|e| format!("{e}"))?;
    let prefix = root
        .join("target/conformance-node")
        .join(project.replace('/', "-"));
    let modules = prefix.join("node_modules");
    let marker = prefix.join("bayar-package.json");
    if modules.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(modules);
    }
    std::fs::create_dir_all(&prefix).map_err(|e| format!("{e}"))?;
    std::fs::write(prefix.join("package.json"), &wanted).map_err(|e| format!("{e}"))?;
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&prefix)
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "npm install failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&marker, wanted).map_err(|e| format!("{e}"))?;
    Ok(modules)
}

/// Runs `conformance/<script>` with Node and `env`, returning its last stdout line as JSON.
pub fn run_script(modules: &Path, script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let output = Command::new("node")
        .arg(workspace().join("conformance").join(script))
        .env("NODE_PATH", modules)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run node");
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
