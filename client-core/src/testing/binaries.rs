//! Finding `mqnamesrv` and `mqbroker`: `FERROMQ_BIN_DIR`, the cargo target dir, `PATH`.

use std::fs;
use std::path::{Path, PathBuf};

use super::{LocalClusterError, Result, BIN_DIR_ENV};

/// The server binaries a cluster runs, and where they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// Path of `mqnamesrv`.
    pub namesrv: PathBuf,
    /// Path of `mqbroker`.
    pub broker: PathBuf,
    /// Which rule found them (`FERROMQ_BIN_DIR`, `cargo target dir`, `PATH`).
    pub source: &'static str,
}

impl Binaries {
    /// Finds `mqnamesrv` and `mqbroker` (see the module docs for the order).
    pub fn find() -> Result<Binaries> {
        Self::find_with_bundled(None)
    }

    /// As [`Binaries::find`], but first in `bundled`: the directory a package ships its servers
    /// in (the Python wheel's or the npm package's `bin/`). The language bindings' `LocalCluster`
    /// passes its own; the cargo target directory is not looked at then unless `bundled` is
    /// `None`, since the running executable is the language's interpreter.
    pub fn find_with_bundled(bundled: Option<&Path>) -> Result<Binaries> {
        let env_dir = std::env::var_os(BIN_DIR_ENV).map(PathBuf::from);
        let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        let targets = if bundled.is_some() {
            Vec::new()
        } else {
            target_dirs()
        };
        Self::find_in(bundled.map(Path::to_path_buf), env_dir, targets, &path_dirs)
    }

    fn find_in(
        bundled: Option<PathBuf>,
        env_dir: Option<PathBuf>,
        target_dirs: Vec<PathBuf>,
        path_dirs: &[PathBuf],
    ) -> Result<Binaries> {
        let mut looked_at = Vec::new();
        let check =
            |looked_at: &mut Vec<String>, label: String, dirs: &[PathBuf], source: &'static str| {
                let namesrv = dirs.iter().map(|d| d.join("mqnamesrv")).find(|p| is_exe(p));
                let broker = dirs.iter().map(|d| d.join("mqbroker")).find(|p| is_exe(p));
                match (namesrv, broker) {
                    (Some(namesrv), Some(broker)) => Some(Binaries {
                        namesrv,
                        broker,
                        source,
                    }),
                    (n, b) => {
                        let missing = match (n, b) {
                            (None, None) => "neither",
                            (None, _) => "no mqnamesrv",
                            _ => "no mqbroker",
                        };
                        looked_at.push(format!("{label}: {missing}"));
                        None
                    }
                }
            };
        if let Some(dir) = bundled {
            let label = format!("the package's own servers, {}", dir.display());
            if let Some(found) = check(&mut looked_at, label, &[dir], "bundled") {
                return Ok(found);
            }
        }
        match env_dir {
            Some(dir) => {
                let label = format!("{BIN_DIR_ENV}={}", dir.display());
                if let Some(found) = check(&mut looked_at, label, &[dir], "FERROMQ_BIN_DIR") {
                    return Ok(found);
                }
            }
            None => looked_at.push(format!("{BIN_DIR_ENV}: not set")),
        }
        for dir in target_dirs {
            let label = format!("cargo target dir of this build, {}", dir.display());
            if let Some(found) = check(&mut looked_at, label, &[dir], "cargo target dir") {
                return Ok(found);
            }
        }
        let label = format!("PATH ({} directories)", path_dirs.len());
        if let Some(found) = check(&mut looked_at, label, path_dirs, "PATH") {
            return Ok(found);
        }
        Err(LocalClusterError::BinariesNotFound { looked_at })
    }
}

fn is_exe(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `target/<profile>/` of the running executable: a test is `target/<profile>/deps/<name>-<hash>`,
/// an example `target/<profile>/examples/<name>`, a binary `target/<profile>/<name>`.
fn target_dirs() -> Vec<PathBuf> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let Some(dir) = exe.parent() else {
        return Vec::new();
    };
    let nested = dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples");
    match (nested, dir.parent()) {
        (true, Some(parent)) => vec![parent.to_path_buf()],
        _ => vec![dir.to_path_buf()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(dir: &Path, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        fs::write(&p, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn binaries_are_looked_for_in_order_and_the_error_names_each_place() {
        let root = super::super::make_temp_dir().expect("temp dir");
        let (env, target, path) = (root.join("env"), root.join("target"), root.join("path"));
        for d in [&env, &target, &path] {
            fs::create_dir_all(d).expect("mkdir");
        }
        exe(&path, "mqnamesrv");
        exe(&path, "mqbroker");
        exe(&target, "mqnamesrv");
        let found = Binaries::find_in(
            None,
            Some(env.clone()),
            vec![target.clone()],
            std::slice::from_ref(&path),
        )
        .expect("found on PATH");
        assert_eq!(found.source, "PATH");
        assert_eq!(found.broker, path.join("mqbroker"));

        exe(&target, "mqbroker");
        let found = Binaries::find_in(
            None,
            Some(env.clone()),
            vec![target.clone()],
            std::slice::from_ref(&path),
        )
        .expect("found in the target dir");
        assert_eq!(found.source, "cargo target dir");

        exe(&env, "mqnamesrv");
        exe(&env, "mqbroker");
        let found = Binaries::find_in(
            None,
            Some(env.clone()),
            vec![target.clone()],
            std::slice::from_ref(&path),
        )
        .expect("found in FERROMQ_BIN_DIR");
        assert_eq!(found.source, "FERROMQ_BIN_DIR");
        assert_eq!(found.namesrv, env.join("mqnamesrv"));

        let bundled = root.join("bundled");
        fs::create_dir_all(&bundled).expect("mkdir");
        exe(&bundled, "mqnamesrv");
        exe(&bundled, "mqbroker");
        let found = Binaries::find_in(
            Some(bundled.clone()),
            Some(env.clone()),
            vec![target],
            &[path],
        )
        .expect("found in the package");
        assert_eq!(found.source, "bundled");
        assert_eq!(found.broker, bundled.join("mqbroker"));

        let empty = root.join("empty");
        fs::create_dir_all(&empty).expect("mkdir");
        let err = Binaries::find_in(Some(empty.clone()), None, vec![empty.clone()], &[empty])
            .expect_err("none");
        let text = err.to_string();
        assert!(text.contains("the package's own servers"), "{text}");
        assert!(text.contains("FERROMQ_BIN_DIR: not set"), "{text}");
        assert!(text.contains("cargo target dir of this build"), "{text}");
        assert!(text.contains("PATH (1 directories): neither"), "{text}");
        assert!(text.contains("cargo build -p ferromq-namesrv"), "{text}");
        let _ = fs::remove_dir_all(&root);
    }
}
