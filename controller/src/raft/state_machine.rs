//! The Raft state machine: the applied [`ReplicasState`] and its snapshots.
//!
//! Snapshots are one file, `<controllerStorePath>/snapshot/snapshot.json` (the snapshot's meta
//! and the state), replaced atomically. On open the last snapshot is loaded, so a restarted
//! controller starts from it and openraft re-applies only the committed entries after it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership};
use serde::{Deserialize, Serialize};

use super::fsutil::{read_optional, write_atomic};
use super::{Entry, LogId, Node, NodeId, StorageError, TypeConfig};
use crate::state::ReplicasState;

/// What the state machine holds: the state and how far the log has been applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The last applied log id.
    pub last_applied: Option<LogId>,
    /// The last membership applied.
    pub membership: StoredMembership<NodeId, Node>,
    /// The broker sets.
    pub state: ReplicasState,
}

/// The snapshot file's content.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<NodeId, Node>,
    data: Applied,
}

/// The state machine; [`StateMachine::shared`] gives readers the applied state.
#[derive(Debug)]
pub struct StateMachine {
    applied: Arc<RwLock<Applied>>,
    builder: Builder,
}

/// The last snapshot: its meta and its bytes (the JSON of an [`Applied`]).
type Current = (SnapshotMeta<NodeId, Node>, Vec<u8>);

/// Builds snapshots of the state machine (shares it).
#[derive(Clone, Debug)]
pub struct Builder {
    applied: Arc<RwLock<Applied>>,
    path: PathBuf,
    current: Arc<Mutex<Option<Current>>>,
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl StateMachine {
    /// Opens the state machine in `dir`, from its last snapshot if there is one.
    pub fn open(dir: &Path) -> std::io::Result<StateMachine> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("snapshot.json");
        let (applied, current) = match read_optional(&path)? {
            None => (Applied::default(), None),
            Some(bytes) => {
                let file: SnapshotFile = serde_json::from_slice(&bytes)
                    .map_err(|e| io(format!("{}: {e}", path.display())))?;
                let data = serde_json::to_vec(&file.data).map_err(io)?;
                tracing::info!(snapshot = %file.meta.snapshot_id, "controller state loaded from its snapshot");
                (file.data, Some((file.meta, data)))
            }
        };
        let applied = Arc::new(RwLock::new(applied));
        Ok(StateMachine {
            builder: Builder {
                applied: applied.clone(),
                path,
                current: Arc::new(Mutex::new(current)),
            },
            applied,
        })
    }

    /// The applied state, for readers.
    pub fn shared(&self) -> Arc<RwLock<Applied>> {
        self.applied.clone()
    }
}

fn read(applied: &RwLock<Applied>) -> std::sync::RwLockReadGuard<'_, Applied> {
    applied.read().unwrap_or_else(|e| e.into_inner())
}

fn write(applied: &RwLock<Applied>) -> std::sync::RwLockWriteGuard<'_, Applied> {
    applied.write().unwrap_or_else(|e| e.into_inner())
}

impl Builder {
    fn persist(
        &self,
        meta: &SnapshotMeta<NodeId, Node>,
        data: &Applied,
    ) -> std::io::Result<Vec<u8>> {
        let file = SnapshotFile {
            meta: meta.clone(),
            data: data.clone(),
        };
        write_atomic(&self.path, &serde_json::to_vec(&file).map_err(io)?)?;
        let bytes = serde_json::to_vec(data).map_err(io)?;
        *ferromq_common::lock(&self.current) = Some((meta.clone(), bytes.clone()));
        Ok(bytes)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = read(&self.applied).clone();
        let snapshot_id = match data.last_applied {
            Some(id) => format!(
                "{}-{}-{}",
                id.leader_id.term,
                id.index,
                ferromq_common::now_ms()
            ),
            None => format!("0-0-{}", ferromq_common::now_ms()),
        };
        let meta = SnapshotMeta {
            last_log_id: data.last_applied,
            last_membership: data.membership.clone(),
            snapshot_id,
        };
        let bytes = self
            .persist(&meta, &data)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, Node>), StorageError> {
        let a = read(&self.applied);
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut a = write(&self.applied);
        let mut out = Vec::new();
        for entry in entries {
            a.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(request) => {
                    for event in &request.events {
                        a.state.apply(event);
                    }
                }
                EntryPayload::Membership(m) => {
                    a.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            out.push(());
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        self.builder.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let fail = |e: std::io::Error| StorageIOError::read_snapshot(Some(meta.signature()), &e);
        let mut data: Applied = serde_json::from_slice(snapshot.get_ref())
            .map_err(|e| fail(io(format!("snapshot {}: {e}", meta.snapshot_id))))?;
        data.last_applied = meta.last_log_id;
        data.membership = meta.last_membership.clone();
        self.builder.persist(meta, &data).map_err(fail)?;
        *write(&self.applied) = data;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(ferromq_common::lock(&self.builder.current)
            .as_ref()
            .map(|(meta, bytes)| Snapshot {
                meta: meta.clone(),
                snapshot: Box::new(Cursor::new(bytes.clone())),
            }))
    }
}
