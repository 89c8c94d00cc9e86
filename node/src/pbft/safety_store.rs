//! The durable vote record (`SafetyRecord`) in the `consensus_wal` column family.
//!
//! Written with fsync before any vote it records leaves the node, so after a kill -9 the validator resumes with
//! every vote it may have sent and can never sign a conflicting one. The record names blocks by id; the bytes of a
//! block this validator proposed or validated are stored once beside it, before the synced record write that precedes
//! any vote on it (which makes the body durable too), so a restarted validator that must re-propose a prepared block
//! still has it.

use accord_consensus::SafetyRecord;

use crate::storage::{ChainStore, StorageError};

/// Reads and writes the vote record.
#[derive(Debug, Clone)]
pub struct SafetyStore {
    store: ChainStore,
}

impl SafetyStore {
    /// Over the node's store.
    pub fn new(store: ChainStore) -> Self {
        Self { store }
    }

    /// The last persisted record, if any.
    pub fn load(&self) -> Result<Option<SafetyRecord>, StorageError> {
        self.store
            .consensus_record()?
            .map(|b| {
                SafetyRecord::decode(&b)
                    .map_err(|e| StorageError::Corrupt { cf: "consensus_wal", detail: e.to_string() })
            })
            .transpose()
    }

    /// Persists `record` durably.
    pub fn save(&self, record: &SafetyRecord) -> Result<(), StorageError> {
        let bytes = record
            .encode()
            .map_err(|e| StorageError::Corrupt { cf: "consensus_wal", detail: format!("cannot encode: {e}") })?;
        self.store.write_consensus_record(&bytes)
    }

    /// Stores the bytes of a block proposed at `height`; durable with the next [`SafetyStore::save`].
    pub fn save_body(&self, height: u64, id: &[u8; 32], bytes: &[u8]) -> Result<(), StorageError> {
        self.store.write_consensus_body(height, id, bytes)
    }

    /// The stored bytes of a block proposed at `height`.
    pub fn body(&self, height: u64, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.consensus_body(height, id)
    }

    /// Forgets these bodies.
    pub fn forget_bodies(&self, bodies: &[(u64, [u8; 32])]) -> Result<(), StorageError> {
        self.store.delete_consensus_bodies(bodies)
    }

    /// Forgets every body of heights below `height` (one range delete: for start-up, not for every height, since
    /// each range delete leaves a tombstone that reads must step over until compaction).
    pub fn prune_bodies(&self, height: u64) -> Result<(), StorageError> {
        self.store.prune_consensus_bodies(height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_consensus::BlockId;

    #[test]
    fn record_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = SafetyRecord { height: 7, view: 3, prepared_vote: Some(BlockId([1; 32])), ..Default::default() };
        {
            let s = SafetyStore::new(ChainStore::open(dir.path()).expect("open"));
            assert_eq!(s.load().expect("load"), None);
            s.save(&record).expect("save");
        }
        let s = SafetyStore::new(ChainStore::open(dir.path()).expect("reopen"));
        assert_eq!(s.load().expect("load"), Some(record.clone()));
        s.save_body(6, &[1; 32], b"six").expect("saves");
        s.save_body(7, &[2; 32], b"seven").expect("saves");
        s.prune_bodies(7).expect("prunes");
        assert_eq!(s.body(6, &[1; 32]).expect("reads"), None);
        assert_eq!(s.body(7, &[2; 32]).expect("reads"), Some(b"seven".to_vec()));
        s.forget_bodies(&[(7, [2; 32])]).expect("forgets");
        assert_eq!(s.body(7, &[2; 32]).expect("reads"), None);
        assert_eq!(s.load().expect("the record is not a body"), Some(record));
    }
}
