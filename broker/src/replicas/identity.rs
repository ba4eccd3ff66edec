//! The id the controllers gave this broker, kept as Apache keeps it: `brokerIdentity`
//! (`cluster#brokerName#id`) once the id is applied, and `brokerIdentity-temp`
//! (`cluster#brokerName#id#registerCheckCode`) while the application is in flight, so a broker
//! that dies in between applies for the same id with the same check code after its restart.

use std::path::{Path, PathBuf};

/// The identity files of a broker.
#[derive(Debug, Clone)]
pub(crate) struct IdentityFiles {
    path: PathBuf,
}

/// An application in flight: the id asked for and its check code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) id: i64,
    pub(crate) check_code: String,
}

impl IdentityFiles {
    pub(crate) fn new(path: PathBuf) -> IdentityFiles {
        IdentityFiles { path }
    }

    fn temp(&self) -> PathBuf {
        let mut p = self.path.as_os_str().to_owned();
        p.push("-temp");
        PathBuf::from(p)
    }

    /// The applied id, if this broker has one for `cluster`/`name`.
    pub(crate) fn applied(&self, cluster: &str, name: &str) -> Result<Option<i64>, String> {
        let Some(text) = read(&self.path)? else {
            return Ok(None);
        };
        let parts: Vec<&str> = text.trim().split('#').collect();
        match parts[..] {
            [c, n, id] if c == cluster && n == name => id
                .parse()
                .map(Some)
                .map_err(|_| format!("{}: bad broker id `{id}`", self.path.display())),
            _ => Err(format!(
                "{} names another broker (`{}`), not {cluster}#{name}; move it aside to join \
                 this set as a new replica",
                self.path.display(),
                text.trim()
            )),
        }
    }

    /// An application left by an earlier run.
    pub(crate) fn pending(&self, cluster: &str, name: &str) -> Result<Option<Pending>, String> {
        let Some(text) = read(&self.temp())? else {
            return Ok(None);
        };
        let parts: Vec<&str> = text.trim().splitn(4, '#').collect();
        match parts[..] {
            [c, n, id, code] if c == cluster && n == name => {
                Ok(id.parse().ok().map(|id| Pending {
                    id,
                    check_code: code.to_owned(),
                }))
            }
            _ => Ok(None),
        }
    }

    /// Records an application before it is sent.
    pub(crate) fn begin(&self, cluster: &str, name: &str, p: &Pending) -> Result<(), String> {
        write(
            &self.temp(),
            &format!("{cluster}#{name}#{}#{}", p.id, p.check_code),
        )
    }

    /// The controllers accepted the id: the identity file replaces the temporary one.
    pub(crate) fn commit(&self, cluster: &str, name: &str, id: i64) -> Result<(), String> {
        write(&self.path, &format!("{cluster}#{name}#{id}"))?;
        match std::fs::remove_file(self.temp()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", self.temp().display())),
        }
    }
}

fn read(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim().is_empty() => Ok(None),
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_then_commit_in_apache_format() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = IdentityFiles::new(dir.path().join("brokerIdentity"));
        assert_eq!(f.applied("c", "b"), Ok(None));
        let p = Pending {
            id: 3,
            check_code: "127.0.0.1:10911;1700000000000".to_owned(),
        };
        f.begin("c", "b", &p).expect("temp");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("brokerIdentity-temp")).ok(),
            Some("c#b#3#127.0.0.1:10911;1700000000000".to_owned())
        );
        assert_eq!(f.pending("c", "b"), Ok(Some(p)));
        f.commit("c", "b", 3).expect("commit");
        assert_eq!(f.applied("c", "b"), Ok(Some(3)));
        assert_eq!(f.pending("c", "b"), Ok(None));
        assert!(f.applied("c", "other").is_err(), "another set's identity");
    }
}
