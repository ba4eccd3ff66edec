//! The one table type behind the four config files: contents that know their JSON, a crash-safe
//! file, and change tracking.

use std::path::{Path, PathBuf};

use super::file::{self, ConfigFile};
use crate::error::Result;

/// What one config file holds: the table's contents (with their own locking, so each table
/// picks the granularity its hot path needs) and how they read and write the file's JSON.
pub trait TableContents: Sized {
    /// The file name under the store's `config` directory.
    const FILE_NAME: &'static str;

    /// The contents of a table whose file does not exist yet.
    fn empty() -> Self;

    /// Decodes the file's text.
    fn decode(bytes: &[u8]) -> Result<Self>;

    /// The file's text: a snapshot taken under the contents' lock.
    fn encode(&self) -> String;

    /// Takes `other`'s data in place of its own (a slave adopting its master's table).
    fn replace_with(&self, other: Self);
}

/// A config table: its contents and the file they are stored in.
///
/// Shared by reference (`Arc`) between tasks and threads. Changes happen in memory and only mark
/// the table dirty; [`ConfigTable::persist`] (called from a blocking context) writes the file
/// when anything changed, crash-safely (see the module docs of [`crate::configs`]).
#[derive(Debug)]
pub struct ConfigTable<C> {
    contents: C,
    file: ConfigFile,
}

impl<C: TableContents> Default for ConfigTable<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: TableContents> ConfigTable<C> {
    /// The file name under the store's `config` directory.
    pub const FILE_NAME: &'static str = C::FILE_NAME;

    /// An empty table held in memory only ([`Self::persist`] writes nothing).
    pub fn new() -> Self {
        Self::with(C::empty(), None)
    }

    fn with(contents: C, path: Option<PathBuf>) -> Self {
        ConfigTable {
            contents,
            file: ConfigFile::new(path),
        }
    }

    /// Loads the table stored at `path`: empty when there is no file, from `<path>.bak` when
    /// the file is torn or empty. An error when neither parses.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let contents = file::load(&path, C::decode)?.unwrap_or_else(C::empty);
        Ok(Self::with(contents, Some(path)))
    }

    /// Decodes the file's text (fastjson's, pretty or compact, or ours) into an in-memory table.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(Self::with(C::decode(bytes)?, None))
    }

    /// The file's JSON text, compact.
    pub fn encode(&self) -> String {
        self.contents.encode()
    }

    /// Writes the file crash-safely if the table changed since it was loaded or last written;
    /// returns whether it wrote. Does nothing for an in-memory table.
    pub fn persist(&self) -> Result<bool> {
        self.file.persist(|| self.contents.encode())
    }

    /// Takes the table a master answered (its file's text) in place of this one's, as a
    /// slave's sync does; an error (and no change) when the text does not decode.
    pub fn replace_from(&self, bytes: &[u8]) -> Result<()> {
        self.contents.replace_with(C::decode(bytes)?);
        self.changed();
        Ok(())
    }

    /// Whether the table changed since it was loaded or last written.
    pub fn is_dirty(&self) -> bool {
        self.file.is_dirty()
    }

    /// The file this table is stored in.
    pub fn path(&self) -> Option<&Path> {
        self.file.path()
    }

    /// The contents, for the table's own methods.
    pub(crate) fn contents(&self) -> &C {
        &self.contents
    }

    /// The contents, mutably, while the table is still owned (builders).
    pub(crate) fn contents_mut(&mut self) -> &mut C {
        &mut self.contents
    }

    /// Records a change; call after changing the contents.
    pub(crate) fn changed(&self) {
        self.file.mark_dirty();
    }
}
