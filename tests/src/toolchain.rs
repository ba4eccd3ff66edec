//! Finding the external tools the compatibility tests need.

use std::env;
use std::path::{Path, PathBuf};

/// Environment variable that turns a missing tool into a test failure instead of a skip (set it
/// on machines that must run the compatibility tests, e.g. CI).
pub const REQUIRE_ENV: &str = "FERROMQ_COMPAT_REQUIRED";

/// The first executable file named `tool` on `PATH`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Returns `true` when every tool in `tools` is on `PATH`. Otherwise prints
/// `SKIPPED: <test>: <tool> not found on PATH` to stderr and returns `false` so the test can
/// return early, or panics when [`REQUIRE_ENV`] is set to `1`.
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_on_path(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: {} not found on PATH", missing.join(", "));
    if env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{msg} (and {REQUIRE_ENV}=1)");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-tool-ferromq-xyz").is_none());
    }
}
