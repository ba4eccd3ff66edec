//! Store errors.

use std::path::PathBuf;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The files on disk are not a valid store.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Another process holds the store's lock file.
    #[error("store {0} is in use by another process (lock file held)")]
    Locked(PathBuf),
    /// A message cannot be stored as given.
    #[error("message illegal: {0}")]
    MessageIllegal(String),
    /// The store refuses writes (disk full, shut down, write error).
    #[error("store not writable: {0}")]
    NotWritable(String),
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
