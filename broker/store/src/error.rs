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
    /// Whether retrying the same operation later may succeed: I/O errors (too many open files,
    /// disk full, EIO, ...) and refusals for lack of space are transient; an illegal message, a
    /// name that cannot be a file name, or corrupt data fail the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => !matches!(
                source.raw_os_error(),
                // ENAMETOOLONG, EINVAL: about the name or the arguments, not the machine's state.
                Some(36 | 22)
            ),
            StoreError::NotWritable(_) => true,
            StoreError::Corrupt(_) | StoreError::Locked(_) | StoreError::MessageIllegal(_) => false,
        }
    }

    /// Whether this is a failed sync (of a file or a directory): after one, the store can no
    /// longer tell what reached the disk.
    pub fn is_sync_failure(&self) -> bool {
        matches!(self, StoreError::Io { op, .. } if op.starts_with("sync"))
    }

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
