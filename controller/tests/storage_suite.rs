//! openraft's own storage test suite run against the controller's durable log and state
//! machine (each case on fresh directories).

use ferromq_controller::raft::log_store::LogStore;
use ferromq_controller::raft::state_machine::StateMachine;
use ferromq_controller::raft::{StorageError, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};

struct OnDisk;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for OnDisk {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("tmp");
        let log = LogStore::open(&dir.path().join("raft")).expect("log");
        let sm = StateMachine::open(&dir.path().join("snapshot")).expect("sm");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    if let Err(e) = Suite::test_all(OnDisk) {
        panic!("openraft storage suite: {e}");
    }
}
