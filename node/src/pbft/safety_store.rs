//! The durable vote record (`SafetyRecord`) in the `consensus_wal` column family.
//!
//! Written with fsync before any vote it records leaves the node, so after a kill -9 the validator resumes with
//! every vote it may have sent and can never sign a conflicting one.

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
        assert_eq!(s.load().expect("load"), Some(record));
    }
}
