//! Offline re-execution of a node's whole chain (`accord verify`): proves that what is stored is what the
//! transactions produce.
//!
//! Every block is re-executed from genesis into a scratch database and must reproduce the stored header bit for
//! bit (state, receipts and transactions roots included); every commit certificate must verify against the
//! validator set; and the stored latest-state table must equal the re-executed one entry for entry.

use std::path::Path;

use accord_sdk::B256;
use accord_sdk::genesis::Genesis;

use crate::chain::{Chain, ChainError};
use crate::storage::ChainStore;

/// What a successful replay checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Height of the stored head.
    pub height: u64,
    /// Its state root, equal to the re-executed one.
    pub state_root: B256,
    /// Transactions re-executed.
    pub transactions: u64,
    /// Entries in the latest-state table.
    pub state_entries: u64,
}

/// Replays the chain in `data_dir` into `scratch` (an empty directory).
pub fn replay(
    data_dir: &Path,
    genesis: Genesis,
    emergency: Option<crate::governance::emergency::EmergencyTransition>,
    scratch: &Path,
) -> Result<ReplayReport, ChainError> {
    let source = ChainStore::open(data_dir)?;
    let base = source.history_base();
    if base > 0 {
        // Re-execution starts at the genesis, and this node holds no block before its snapshot.
        return Err(ChainError::BeforeHistory { number: 1, base });
    }
    let fresh = Chain::open_with(scratch, genesis, emergency)?;
    let stored_genesis = source.genesis_hash()?.ok_or(ChainError::MissingBlock(0))?;
    if stored_genesis != fresh.genesis_hash() {
        return Err(ChainError::GenesisMismatch { stored: stored_genesis, configured: fresh.genesis_hash() });
    }
    let head = source.head_number()?.ok_or(ChainError::MissingBlock(0))?;
    let mut transactions = 0u64;
    for n in 1..=head {
        let header = source.header(n)?.ok_or(ChainError::MissingBlock(n))?;
        let txs = source.transactions(n)?.ok_or(ChainError::MissingBlock(n))?;
        let cert = source
            .certificate(n)?
            .ok_or_else(|| ChainError::Mismatch { number: n, detail: "no commit certificate stored".into() })?;
        cert.verify(header.chain_id, &header, &fresh.validators_at(n)?, fresh.genesis().crypto)
            .map_err(|e| ChainError::Mismatch { number: n, detail: format!("certificate: {e}") })?;
        transactions += txs.len() as u64;
        let executed = fresh.verify_block(&header, txs)?;
        fresh.commit(executed, cert)?;
    }
    let stored_head = source.header(head)?.ok_or(ChainError::MissingBlock(head))?;
    let replayed_head = fresh.head();
    if stored_head != replayed_head {
        return Err(ChainError::Mismatch { number: head, detail: "head differs after replay".into() });
    }
    let stored_root = crate::state::StateDb::new(source.clone()).root(head)?;
    if stored_root != stored_head.state_root {
        return Err(ChainError::Mismatch { number: head, detail: "stored state tree root differs from header".into() });
    }
    let (a, entries) = source.latest_state_digest()?;
    let (b, _) = fresh.store().latest_state_digest()?;
    if a != b {
        return Err(ChainError::Mismatch {
            number: head,
            detail: "latest-state table differs from re-execution".into(),
        });
    }
    Ok(ReplayReport { height: head, state_root: stored_head.state_root, transactions, state_entries: entries })
}
