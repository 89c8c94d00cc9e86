//! RocksDB storage of blocks, receipts, indexes and state.
//!
//! Everything a block changes (header, body, receipts, transaction index, certificate, state tree nodes, state
//! values and the new head) is written in one `WriteBatch` with `sync`, so a node killed at any instant restarts
//! either before or after the block, never in between.

pub mod log_index;
pub mod schema;

use std::path::Path;
use std::sync::Arc;

use accord_sdk::block::{CommitCertificate, Header};
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB refused (I/O, corruption, or the directory is locked by another process).
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// A record did not decode: the database is corrupt or from an incompatible version.
    #[error("corrupt record in column family {cf}: {detail}")]
    Corrupt {
        /// Column family.
        cf: &'static str,
        /// What failed.
        detail: String,
    },
    /// The data directory was written by an incompatible storage format.
    #[error("data directory uses storage format {found}, this node understands {expected}")]
    Format {
        /// Found format.
        found: u64,
        /// Supported format.
        expected: u64,
    },
}

fn corrupt(cf: &'static str, detail: impl ToString) -> StorageError {
    StorageError::Corrupt { cf, detail: detail.to_string() }
}

/// A transaction as stored in a body: the signed bytes and the sender recovered when it was first verified.
#[derive(Debug, Clone, RlpEncodable, RlpDecodable)]
struct StoredTx {
    raw: alloy_primitives::Bytes,
    sender: Address,
}

/// Everything committed for one block.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    /// The header.
    pub header: Header,
    /// Transactions in order.
    pub transactions: Vec<SignedTransaction>,
    /// Receipts in the same order.
    pub receipts: Vec<Receipt>,
    /// The quorum's certificate.
    pub certificate: Option<CommitCertificate>,
}

/// State writes produced by executing a block, ready to go into the block's batch.
#[derive(Debug, Default)]
pub struct StateWrites {
    /// New tree nodes (borsh key, borsh node).
    pub nodes: Vec<(Vec<u8>, Vec<u8>)>,
    /// New versioned values (key, borsh Option<value>).
    pub values: Vec<(Vec<u8>, Vec<u8>)>,
    /// Latest-state entries: key bytes → Some(value) to set, None to delete.
    pub latest: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Tree nodes this version replaced (`schema::STATE_STALE` keys), for pruning.
    pub stale: Vec<Vec<u8>>,
}

/// One latest-state entry as stored: canonical `StateKey` bytes and the value.
pub type StateEntry = (Box<[u8]>, Box<[u8]>);

/// What [`ChainStore::prune_state`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// State is kept from this block on.
    pub kept_from: u64,
    /// Tree nodes deleted.
    pub nodes: u64,
    /// Superseded state values deleted.
    pub values: u64,
}

/// The node's database.
#[derive(Clone)]
pub struct ChainStore {
    db: Arc<DB>,
    /// The lowest block whose state is kept (`META_PRUNED_BELOW`), read once at open: every historic state read
    /// checks it.
    pruned_below: Arc<std::sync::atomic::AtomicU64>,
    /// The block a snapshot-restored node started at (`META_HISTORY_BASE`), 0 for a node with the whole chain.
    history_base: u64,
}

impl std::fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStore").field("path", &self.db.path()).finish()
    }
}

impl ChainStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.set_max_open_files(512);
        let cfs = schema::ALL.iter().map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let mut store = Self { db: Arc::new(db), pruned_below: Arc::default(), history_base: 0 };
        store.check_format()?;
        let meta_u64 = |key: &[u8], what: &'static str| -> Result<u64, StorageError> {
            match store.get(schema::META, key)? {
                None => Ok(0),
                Some(v) => schema::parse_u64(&v).ok_or_else(|| corrupt("meta", what)),
            }
        };
        let pruned = meta_u64(schema::META_PRUNED_BELOW, "pruned-below")?;
        store.history_base = meta_u64(schema::META_HISTORY_BASE, "history-base")?;
        store.pruned_below.store(pruned, std::sync::atomic::Ordering::SeqCst);
        store.complete_log_index()?;
        Ok(store)
    }

    fn check_format(&self) -> Result<(), StorageError> {
        let store = self;
        match store.get(schema::META, schema::META_FORMAT)? {
            None => {
                store.db.put_cf(store.cf(schema::META), schema::META_FORMAT, schema::STORAGE_FORMAT.to_be_bytes())?
            }
            Some(v) => {
                let found = schema::parse_u64(&v).ok_or_else(|| corrupt("meta", "format"))?;
                if found != schema::STORAGE_FORMAT {
                    return Err(StorageError::Format { found, expected: schema::STORAGE_FORMAT });
                }
            }
        }
        Ok(())
    }

    /// Indexes the logs of blocks committed before this node had the log index (once; a new database is complete
    /// from its first block). Interrupted, it starts over on the next open: the writes are idempotent.
    fn complete_log_index(&self) -> Result<(), StorageError> {
        if self.get(schema::META, schema::META_LOG_INDEX)?.is_some() {
            return Ok(());
        }
        if let Some(head) = self.head_number()? {
            tracing::info!(blocks = head + 1, "indexing the logs of blocks committed before the log index existed");
            let mut batch = WriteBatch::default();
            for n in 0..=head {
                let txs = self.transactions(n)?.unwrap_or_default();
                let receipts = self.receipts(n)?.unwrap_or_default();
                self.put_log_entries(&mut batch, n, &txs, &receipts);
                if batch.len() >= 100_000 || n == head {
                    self.db.write(std::mem::take(&mut batch))?;
                }
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.put_cf_opt(self.cf(schema::META), schema::META_LOG_INDEX, [1u8], &wo)?;
        Ok(())
    }

    fn put_log_entries(&self, batch: &mut WriteBatch, number: u64, txs: &[SignedTransaction], receipts: &[Receipt]) {
        for (at, record, keys) in log_index::entries(number, txs, receipts) {
            batch.put_cf(self.cf(schema::LOGS), at.key(), alloy_rlp::encode(&record));
            for k in keys {
                batch.put_cf(self.cf(schema::LOG_INDEX), k, []);
            }
        }
    }

    /// The logs of blocks `from..=to` that meet `criteria`, in chain order, read through the log index; `None` when
    /// there are more than `limit` (found before any record is read: the index is exact).
    pub fn logs(
        &self,
        criteria: &log_index::LogCriteria,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Option<Vec<(log_index::LogPosition, log_index::LogRecord)>>, StorageError> {
        use log_index::LogPosition;
        let end = LogPosition { number: to.saturating_add(1), index: 0 };
        let start = LogPosition { number: from, index: 0 };
        let scans = criteria.scans();
        if scans.is_empty() {
            // Every log of the range.
            let mut out = Vec::new();
            let mut it = self.db.raw_iterator_cf(self.cf(schema::LOGS));
            it.seek(start.key());
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                let at = LogPosition::from_key_suffix(k).ok_or_else(|| corrupt("logs", "key"))?;
                if at >= end {
                    break;
                }
                if out.len() >= limit {
                    return Ok(None);
                }
                out.push((at, Self::log_record(v)?));
                it.next();
            }
            it.status()?;
            return Ok(Some(out));
        }
        let mut sets = Vec::with_capacity(scans.len());
        for (kind, items) in scans {
            let mut set = Vec::new();
            for item in items {
                let prefix = log_index::index_prefix(kind, &item);
                let mut it = self.db.raw_iterator_cf(self.cf(schema::LOG_INDEX));
                it.seek(log_index::index_key(kind, &item, start));
                while let Some(k) = it.key() {
                    if !k.starts_with(&prefix) || k.len() != prefix.len() + 12 {
                        break;
                    }
                    let at = LogPosition::from_key_suffix(k).ok_or_else(|| corrupt("log_index", "key"))?;
                    if at >= end {
                        break;
                    }
                    set.push(at);
                    it.next();
                }
                it.status()?;
            }
            set.sort_unstable();
            set.dedup();
            sets.push(set);
        }
        let positions = log_index::intersect(sets);
        if positions.len() > limit {
            return Ok(None);
        }
        // One iterator walks the records in chain order: to the next wanted position by a few steps when it is
        // near (dense results), by a seek when it is not (sparse ones).
        const STEPS_BEFORE_SEEK: usize = 8;
        let mut out = Vec::with_capacity(positions.len());
        let mut it = self.db.raw_iterator_cf(self.cf(schema::LOGS));
        let mut positioned = false;
        for at in positions {
            let want = at.key();
            let mut steps = 0;
            while positioned && it.valid() && it.key().is_some_and(|k| k < &want[..]) && steps < STEPS_BEFORE_SEEK {
                it.next();
                steps += 1;
            }
            if !positioned || !it.valid() || it.key().is_some_and(|k| k < &want[..]) {
                it.seek(want);
                positioned = true;
            }
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                it.status()?;
                return Err(corrupt("logs", format!("indexed log {at:?} is missing")));
            };
            if k != want {
                return Err(corrupt("logs", format!("indexed log {at:?} is missing")));
            }
            let record = Self::log_record(v)?;
            if !criteria.matches(&record) {
                return Err(corrupt("log_index", format!("log {at:?} does not match its index entries")));
            }
            out.push((at, record));
        }
        Ok(Some(out))
    }

    fn log_record(v: &[u8]) -> Result<log_index::LogRecord, StorageError> {
        <log_index::LogRecord as Decodable>::decode(&mut &v[..]).map_err(|e| corrupt("logs", e))
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        // Every name in `schema::ALL` is created at open; a missing one is a programming error.
        self.db.cf_handle(name).unwrap_or_else(|| panic!("column family {name} exists"))
    }

    pub(crate) fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.cf(cf), key)?)
    }

    /// Number of the committed head, or `None` for an empty database.
    pub fn head_number(&self) -> Result<Option<u64>, StorageError> {
        self.get(schema::META, schema::META_HEAD)?
            .map(|v| schema::parse_u64(&v).ok_or_else(|| corrupt("meta", "head")))
            .transpose()
    }

    /// Hash of the genesis block this database belongs to.
    pub fn genesis_hash(&self) -> Result<Option<B256>, StorageError> {
        Ok(self.get(schema::META, schema::META_GENESIS)?.map(|v| B256::from_slice(&v)))
    }

    /// Digest of the genesis document the genesis block was built from, if recorded.
    pub fn genesis_document(&self) -> Result<Option<B256>, StorageError> {
        self.get(schema::META, schema::META_GENESIS_DOCUMENT)?
            .map(|v| (v.len() == 32).then(|| B256::from_slice(&v)).ok_or_else(|| corrupt("meta", "genesis-document")))
            .transpose()
    }

    /// Records the digest of the genesis document that builds this database's genesis block (synced).
    pub fn set_genesis_document(&self, digest: B256) -> Result<(), StorageError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        Ok(self.db.put_cf_opt(self.cf(schema::META), schema::META_GENESIS_DOCUMENT, digest, &wo)?)
    }

    /// Header at `number`.
    pub fn header(&self, number: u64) -> Result<Option<Header>, StorageError> {
        self.get(schema::HEADERS, &schema::number_key(number))?
            .map(|v| Header::decode(&v).map_err(|e| corrupt("headers", e)))
            .transpose()
    }

    /// Block number of a block hash.
    pub fn block_number(&self, hash: &B256) -> Result<Option<u64>, StorageError> {
        self.get(schema::BLOCK_HASHES, hash.as_slice())?
            .map(|v| schema::parse_u64(&v).ok_or_else(|| corrupt("block_hashes", "number")))
            .transpose()
    }

    /// Transactions of block `number`.
    pub fn transactions(&self, number: u64) -> Result<Option<Vec<SignedTransaction>>, StorageError> {
        let Some(v) = self.get(schema::BODIES, &schema::number_key(number))? else {
            return Ok(None);
        };
        let stored = Vec::<StoredTx>::decode(&mut v.as_slice()).map_err(|e| corrupt("bodies", e))?;
        stored
            .into_iter()
            .map(|s| SignedTransaction::from_verified_bytes(s.raw, s.sender).map_err(|e| corrupt("bodies", e)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Receipts of block `number`.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, StorageError> {
        self.get(schema::RECEIPTS, &schema::number_key(number))?
            .map(|v| Vec::<Receipt>::decode(&mut v.as_slice()).map_err(|e| corrupt("receipts", e)))
            .transpose()
    }

    /// Commit certificate of block `number`.
    pub fn certificate(&self, number: u64) -> Result<Option<CommitCertificate>, StorageError> {
        self.get(schema::CERTIFICATES, &schema::number_key(number))?
            .map(|v| CommitCertificate::decode(&mut v.as_slice()).map_err(|e| corrupt("certificates", e)))
            .transpose()
    }

    /// Block number and position of a committed transaction.
    pub fn transaction_location(&self, hash: &B256) -> Result<Option<(u64, u32)>, StorageError> {
        self.get(schema::TX_INDEX, hash.as_slice())?
            .map(|v| schema::parse_tx_location(&v).ok_or_else(|| corrupt("tx_index", "location")))
            .transpose()
    }

    /// Latest value of a state entry.
    pub fn latest_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(schema::STATE_LATEST, key)
    }

    /// Puts a block's records into `batch`: header, hash index, body, receipts, transaction index, logs and (if it
    /// has one) certificate.
    fn put_block(&self, batch: &mut WriteBatch, block: &CommittedBlock) {
        let number = block.header.number;
        let nk = schema::number_key(number);
        batch.put_cf(self.cf(schema::HEADERS), nk, block.header.encode());
        batch.put_cf(self.cf(schema::BLOCK_HASHES), block.header.hash(), nk);
        let stored: Vec<StoredTx> =
            block.transactions.iter().map(|t| StoredTx { raw: t.encoded().clone(), sender: t.sender() }).collect();
        let mut body = Vec::new();
        stored.encode(&mut body);
        batch.put_cf(self.cf(schema::BODIES), nk, body);
        let mut receipts = Vec::new();
        block.receipts.encode(&mut receipts);
        batch.put_cf(self.cf(schema::RECEIPTS), nk, receipts);
        for (i, tx) in block.transactions.iter().enumerate() {
            batch.put_cf(self.cf(schema::TX_INDEX), tx.hash(), schema::tx_location(number, i as u32));
        }
        self.put_log_entries(batch, number, &block.transactions, &block.receipts);
        if let Some(cert) = &block.certificate {
            batch.put_cf(self.cf(schema::CERTIFICATES), nk, alloy_rlp::encode(cert));
        }
    }

    /// Writes a block and its state changes atomically and durably, then moves the head to it.
    pub fn commit_block(&self, block: &CommittedBlock, state: &StateWrites, genesis: bool) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        let nk = schema::number_key(block.header.number);
        self.put_block(&mut batch, block);
        for (k, v) in &state.nodes {
            batch.put_cf(self.cf(schema::STATE_NODES), k, v);
        }
        for (k, v) in &state.values {
            batch.put_cf(self.cf(schema::STATE_VALUES), k, v);
        }
        for k in &state.stale {
            batch.put_cf(self.cf(schema::STATE_STALE), k, []);
        }
        for (k, v) in &state.latest {
            match v {
                Some(v) => batch.put_cf(self.cf(schema::STATE_LATEST), k, v),
                None => batch.delete_cf(self.cf(schema::STATE_LATEST), k),
            }
        }
        if genesis {
            batch.put_cf(self.cf(schema::META), schema::META_GENESIS, block.header.hash());
        }
        batch.put_cf(self.cf(schema::META), schema::META_HEAD, nk);
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        Ok(())
    }

    /// A tree node by its borsh-encoded key.
    pub(crate) fn state_node(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(schema::STATE_NODES, key)
    }

    /// The newest version ≤ `max_version` of the state value under `key_hash`: `Some(None)` if it was deleted.
    pub(crate) fn state_value_at(
        &self,
        key_hash: &[u8; 32],
        max_version: u64,
    ) -> Result<Option<Option<Vec<u8>>>, StorageError> {
        let mut it = self.db.raw_iterator_cf(self.cf(schema::STATE_VALUES));
        it.seek_for_prev(schema::state_value_key(key_hash, max_version));
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.len() == 40 && &k[..32] == key_hash => {
                let value: Option<Vec<u8>> = borsh::from_slice(v).map_err(|e| corrupt("state_values", e))?;
                Ok(Some(value))
            }
            _ => Ok(None),
        }
    }

    /// The lowest block whose state is kept: state (and its proofs) below it was pruned. 0 when nothing was.
    pub fn pruned_below(&self) -> u64 {
        self.pruned_below.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Deletes the state history no block from `kept_from` on needs: tree nodes replaced at or before `kept_from`
    /// (recorded in `state_stale` when they were replaced), and every value version older than the newest one at
    /// or before `kept_from` of its key. State at `kept_from` and later stays readable and provable; below it reads
    /// are refused (`pruned_below`). Blocks, receipts and logs are untouched. Run on a stopped node; `progress`
    /// gets the entries deleted so far.
    pub fn prune_state(&self, kept_from: u64, mut progress: impl FnMut(u64)) -> Result<PruneReport, StorageError> {
        let mut report = PruneReport { kept_from, ..PruneReport::default() };
        // Refuse reads below the cut before anything is deleted.
        self.pruned_below.fetch_max(kept_from, std::sync::atomic::Ordering::SeqCst);
        let mut batch = WriteBatch::default();
        let flush = |batch: &mut WriteBatch| -> Result<(), StorageError> {
            if !batch.is_empty() {
                self.db.write(std::mem::take(batch))?;
            }
            Ok(())
        };
        // Nodes: the stale index is ordered by the version that replaced them.
        for item in self.db.iterator_cf(self.cf(schema::STATE_STALE), rocksdb::IteratorMode::Start) {
            let (k, _) = item?;
            let since = k.get(..8).and_then(schema::parse_u64).ok_or_else(|| corrupt("state_stale", "key"))?;
            if since > kept_from {
                break;
            }
            batch.delete_cf(self.cf(schema::STATE_NODES), &k[8..]);
            batch.delete_cf(self.cf(schema::STATE_STALE), &k);
            report.nodes += 1;
            if batch.len() >= 100_000 {
                flush(&mut batch)?;
                progress(report.nodes + report.values);
            }
        }
        // Values: per key hash in version order; a version at or before `kept_from` followed by another at or before
        // it is superseded for every kept block.
        let mut previous: Option<Box<[u8]>> = None;
        for item in self.db.iterator_cf(self.cf(schema::STATE_VALUES), rocksdb::IteratorMode::Start) {
            let (k, _) = item?;
            let version = k.get(32..40).and_then(schema::parse_u64).ok_or_else(|| corrupt("state_values", "key"))?;
            if let Some(prev) = previous.take()
                && prev[..32] == k[..32]
                && version <= kept_from
            {
                batch.delete_cf(self.cf(schema::STATE_VALUES), &prev);
                report.values += 1;
                if batch.len() >= 100_000 {
                    flush(&mut batch)?;
                    progress(report.nodes + report.values);
                }
            }
            previous = Some(k);
        }
        batch.put_cf(self.cf(schema::META), schema::META_PRUNED_BELOW, kept_from.to_be_bytes());
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        // Reclaim the space now rather than at some later compaction.
        for cf in [schema::STATE_NODES, schema::STATE_VALUES, schema::STATE_STALE] {
            self.db.compact_range_cf(self.cf(cf), None::<&[u8]>, None::<&[u8]>);
        }
        Ok(report)
    }

    /// The block this node's history starts at: 0 for a node that holds the whole chain; for one restored from a
    /// snapshot, the snapshot's block, whose header, certificate and state it holds (bodies, receipts and logs only
    /// after it).
    pub fn history_base(&self) -> u64 {
        self.history_base
    }

    /// Whether nothing was ever committed here: the only kind of directory a snapshot may be restored into.
    pub fn is_new(&self) -> Result<bool, StorageError> {
        Ok(self.genesis_hash()?.is_none() && self.head_number()?.is_none())
    }

    /// Writes one chunk of a tree being built ([`crate::state::StateDb::build_chunked`]): its nodes, values and
    /// latest entries; the nodes it replaced are deleted (no version before the finished tree's is ever read).
    pub fn write_tree_chunk(&self, state: &StateWrites) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        for (k, v) in &state.nodes {
            batch.put_cf(self.cf(schema::STATE_NODES), k, v);
        }
        for (k, v) in &state.values {
            batch.put_cf(self.cf(schema::STATE_VALUES), k, v);
        }
        for (k, v) in &state.latest {
            match v {
                Some(v) => batch.put_cf(self.cf(schema::STATE_LATEST), k, v),
                None => batch.delete_cf(self.cf(schema::STATE_LATEST), k),
            }
        }
        for k in &state.stale {
            if let Some(node) = k.get(8..) {
                batch.delete_cf(self.cf(schema::STATE_NODES), node);
            }
        }
        Ok(self.db.write(batch)?)
    }

    /// Completes a snapshot restore whose state [`Self::write_tree_chunk`] wrote: in one synced batch, the genesis
    /// block's header (its state is not written: the snapshot's replaces it) with the digest of the document it was
    /// built from (so starts do not build it again), `base` with its certificate as the head, the history and
    /// pruning bounds, and the chain of trust. The restore builds in a directory of its own and moves it into place only
    /// after this, so no node ever opens a half-restored database.
    pub fn finish_restore(
        &self,
        genesis: &Header,
        genesis_document: B256,
        base: &Header,
        certificate: &CommitCertificate,
        steps: &[u8],
    ) -> Result<(), StorageError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let mut batch = WriteBatch::default();
        let genesis_block =
            CommittedBlock { header: genesis.clone(), transactions: vec![], receipts: vec![], certificate: None };
        self.put_block(&mut batch, &genesis_block);
        // The snapshot's block: header and certificate only (its transactions are not in the snapshot).
        let b = schema::number_key(base.number);
        batch.put_cf(self.cf(schema::HEADERS), b, base.encode());
        batch.put_cf(self.cf(schema::BLOCK_HASHES), base.hash(), b);
        batch.put_cf(self.cf(schema::CERTIFICATES), b, alloy_rlp::encode(certificate));
        batch.put_cf(self.cf(schema::META), schema::META_GENESIS, genesis.hash());
        batch.put_cf(self.cf(schema::META), schema::META_GENESIS_DOCUMENT, genesis_document);
        batch.put_cf(self.cf(schema::META), schema::META_HEAD, b);
        batch.put_cf(self.cf(schema::META), schema::META_PRUNED_BELOW, b);
        batch.put_cf(self.cf(schema::META), schema::META_HISTORY_BASE, b);
        batch.put_cf(self.cf(schema::META), schema::META_LOG_INDEX, [1u8]);
        batch.put_cf(self.cf(schema::META), schema::META_SNAPSHOT_STEPS, steps);
        self.db.write_opt(batch, &wo)?;
        self.pruned_below.store(base.number, std::sync::atomic::Ordering::SeqCst);
        // The chunks replaced each other's upper nodes: reclaim that space now.
        self.db.compact_range_cf(self.cf(schema::STATE_NODES), None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    /// The chain of trust this node was restored with, if it was restored from a snapshot.
    pub fn snapshot_steps(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(schema::META, schema::META_SNAPSHOT_STEPS)
    }

    /// Every latest-state entry (canonical `StateKey` bytes, value) in key order: the state at the head, which is
    /// what `accord snapshot` writes.
    pub fn latest_entries(&self) -> impl Iterator<Item = Result<StateEntry, StorageError>> + '_ {
        self.db.iterator_cf(self.cf(schema::STATE_LATEST), rocksdb::IteratorMode::Start).map(|r| Ok(r?))
    }

    /// Bytes of the database's files on disk (live SST and blob files), as RocksDB reports them.
    pub fn disk_bytes(&self) -> u64 {
        schema::ALL
            .iter()
            .filter_map(|cf| self.db.property_int_value_cf(self.cf(cf), "rocksdb.total-sst-files-size").ok().flatten())
            .sum()
    }

    /// Keccak digest over every latest-state entry in key order, and the entry count (for consistency checks).
    pub fn latest_state_digest(&self) -> Result<(B256, u64), StorageError> {
        let mut hasher = sha3::Keccak256::default();
        let mut count = 0u64;
        for item in self.db.iterator_cf(self.cf(schema::STATE_LATEST), rocksdb::IteratorMode::Start) {
            let (k, v) = item?;
            sha3::Digest::update(&mut hasher, (k.len() as u64).to_be_bytes());
            sha3::Digest::update(&mut hasher, &k);
            sha3::Digest::update(&mut hasher, (v.len() as u64).to_be_bytes());
            sha3::Digest::update(&mut hasher, &v);
            count += 1;
        }
        Ok((B256::from_slice(&sha3::Digest::finalize(hasher)), count))
    }

    /// The persisted consensus vote record.
    pub fn consensus_record(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(schema::CONSENSUS_WAL, schema::WAL_SAFETY_RECORD)
    }

    /// Replaces the consensus vote record, synced before returning.
    pub fn write_consensus_record(&self, bytes: &[u8]) -> Result<(), StorageError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.put_cf_opt(self.cf(schema::CONSENSUS_WAL), schema::WAL_SAFETY_RECORD, bytes, &wo)?;
        Ok(())
    }

    /// Stores a proposed block's bytes in the consensus WAL, keyed by height and id: the vote record names blocks by
    /// id only, and a validator that voted for a block must still hold its bytes after a crash. Not synced by
    /// itself: every vote on the block is preceded by a synced write of the vote record, and a synced write makes
    /// the whole RocksDB WAL durable, this earlier write included. One fsync per vote, not two.
    pub fn write_consensus_body(&self, height: u64, id: &[u8; 32], bytes: &[u8]) -> Result<(), StorageError> {
        self.db.put_cf(self.cf(schema::CONSENSUS_WAL), schema::wal_body_key(height, id), bytes)?;
        Ok(())
    }

    /// A stored block body by height and id.
    pub fn consensus_body(&self, height: u64, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.cf(schema::CONSENSUS_WAL), schema::wal_body_key(height, id))?)
    }

    /// Deletes the named stored bodies (point deletes: the usual few per height).
    pub fn delete_consensus_bodies(&self, bodies: &[(u64, [u8; 32])]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        for (height, id) in bodies {
            batch.delete_cf(self.cf(schema::CONSENSUS_WAL), schema::wal_body_key(*height, id));
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Deletes every stored body of heights below `height` as one range (at start-up, for bodies whose ids were
    /// lost with a crash).
    pub fn prune_consensus_bodies(&self, height: u64) -> Result<(), StorageError> {
        let from = schema::wal_body_key(0, &[0; 32]);
        let to = schema::wal_body_key(height, &[0; 32]);
        self.db.delete_range_cf(self.cf(schema::CONSENSUS_WAL), from, to)?;
        Ok(())
    }

    /// Flushes memtables to disk (used on clean shutdown; commits are already durable through the WAL).
    pub fn flush(&self) -> Result<(), StorageError> {
        for name in schema::ALL {
            self.db.flush_cf(self.cf(name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::log_index::{LogCriteria, LogPosition};
    use super::*;
    use accord_sdk::keys::KeyPair;
    use alloy_primitives::{Bytes as ABytes, Log, LogData, TxKind, U256};

    /// A header of block `n` with every other field zero, for tests that store blocks.
    pub(crate) fn header(n: u64) -> Header {
        Header {
            version: 1,
            chain_id: 1,
            parent_hash: B256::ZERO,
            number: n,
            timestamp: 0,
            proposer: Address::ZERO,
            transactions_root: B256::ZERO,
            receipts_root: B256::ZERO,
            state_root: B256::ZERO,
            logs_bloom: Default::default(),
            gas_used: 0,
            gas_limit: 0,
            base_fee: 0,
            next_validators_hash: B256::ZERO,
        }
    }

    fn tx(k: &KeyPair, nonce: u64) -> SignedTransaction {
        use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
        let tx = TxLegacy {
            chain_id: Some(1),
            nonce,
            gas_price: 0,
            gas_limit: 60_000,
            to: TxKind::Call(Address::ZERO),
            value: U256::ZERO,
            input: ABytes::new(),
        };
        let sig = k.sign_prehash(&tx.signature_hash()).expect("sign");
        let env: TxEnvelope = tx.into_signed(sig).into();
        let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&env);
        SignedTransaction::from_verified_bytes(raw.into(), k.address()).expect("decodes")
    }

    fn receipt(logs: Vec<(Address, Vec<B256>)>) -> Receipt {
        Receipt {
            tx_type: 0,
            success: true,
            gas_used: 0,
            cumulative_gas_used: 0,
            effective_gas_price: 0,
            logs: logs
                .into_iter()
                .map(|(a, t)| Log { address: a, data: LogData::new_unchecked(t, ABytes::from_static(b"d")) })
                .collect(),
            contract_address: None,
        }
    }

    #[test]
    fn logs_are_found_through_the_index_and_rebuilt_for_an_older_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ChainStore::open(dir.path()).expect("opens");
        let k = KeyPair::generate();
        let (a, b) = (Address::repeat_byte(0xa), Address::repeat_byte(0xb));
        let t = |i: u8| B256::repeat_byte(i);
        let txs = [tx(&k, 0), tx(&k, 1), tx(&k, 2)];
        let blocks = [
            CommittedBlock { header: header(0), transactions: vec![], receipts: vec![], certificate: None },
            CommittedBlock {
                header: header(1),
                transactions: vec![txs[0].clone(), txs[1].clone()],
                receipts: vec![receipt(vec![(a, vec![t(1), t(2)]), (b, vec![t(1)])]), receipt(vec![(a, vec![t(3)])])],
                certificate: None,
            },
            CommittedBlock {
                header: header(2),
                transactions: vec![txs[2].clone()],
                receipts: vec![receipt(vec![(b, vec![t(2)])])],
                certificate: None,
            },
            CommittedBlock { header: header(3), transactions: vec![], receipts: vec![], certificate: None },
        ];
        for (i, block) in blocks.iter().enumerate() {
            store.commit_block(block, &StateWrites::default(), i == 0).expect("commit");
        }
        let pos = |number: u64, index: u32| LogPosition { number, index };
        let find = |store: &ChainStore, c: &LogCriteria, from: u64, to: u64| -> Vec<LogPosition> {
            store
                .logs(c, from, to, 100)
                .expect("query")
                .expect("within the limit")
                .into_iter()
                .map(|(p, _)| p)
                .collect()
        };
        let check = |store: &ChainStore| {
            let all = store.logs(&LogCriteria::default(), 0, 3, 100).expect("query").expect("within");
            assert_eq!(all.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [pos(1, 0), pos(1, 1), pos(1, 2), pos(2, 0)]);
            assert_eq!(all.iter().map(|(_, r)| r.tx_hash).collect::<Vec<_>>(), [0, 0, 1, 2].map(|i| txs[i].hash()));
            assert_eq!(all.iter().map(|(_, r)| r.tx_index).collect::<Vec<_>>(), [0, 0, 1, 0]);
            assert_eq!(all[0].1.log(), blocks[1].receipts[0].logs[0]);
            let by = |addresses: Vec<Address>, topics: [Vec<B256>; 4]| LogCriteria { addresses, topics };
            let none = || Vec::new();
            assert_eq!(find(store, &by(vec![a], Default::default()), 0, 3), [pos(1, 0), pos(1, 2)]);
            assert_eq!(find(store, &by(vec![a], [vec![t(1)], none(), none(), none()]), 0, 3), [pos(1, 0)]);
            assert_eq!(
                find(store, &by(vec![], [vec![t(1), t(2)], none(), none(), none()]), 0, 3),
                [pos(1, 0), pos(1, 1), pos(2, 0)]
            );
            assert_eq!(find(store, &by(vec![], [none(), vec![t(2)], none(), none()]), 0, 3), [pos(1, 0)]);
            assert_eq!(find(store, &by(vec![b], Default::default()), 2, 3), [pos(2, 0)]);
            assert_eq!(find(store, &by(vec![a, b], Default::default()), 3, 3), []);
            assert!(store.logs(&by(vec![a], Default::default()), 0, 3, 1).expect("query").is_none(), "over the limit");
            assert!(store.logs(&LogCriteria::default(), 0, 3, 3).expect("query").is_none(), "over the limit");
        };
        check(&store);
        // A database from before the index: no marker, no entries. Opening it indexes what it holds.
        for cf in [schema::LOGS, schema::LOG_INDEX] {
            store.db.delete_range_cf(store.cf(cf), &[0u8][..], &[0xffu8; 64][..]).expect("wipe");
        }
        store.db.delete_cf(store.cf(schema::META), schema::META_LOG_INDEX).expect("unmark");
        assert_eq!(find(&store, &LogCriteria::default(), 0, 3), []);
        drop(store);
        let store = ChainStore::open(dir.path()).expect("reopens");
        assert!(store.get(schema::META, schema::META_LOG_INDEX).expect("meta").is_some());
        check(&store);
    }

    #[test]
    fn versioned_values_read_newest_at_or_below() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ChainStore::open(dir.path()).expect("opens");
        let kh = [7u8; 32];
        let other = [8u8; 32];
        let w = |version: u64, v: Option<Vec<u8>>, kh: &[u8; 32]| StateWrites {
            values: vec![(schema::state_value_key(kh, version).to_vec(), borsh::to_vec(&v).expect("enc"))],
            ..Default::default()
        };
        let hdr =
            |n: u64| CommittedBlock { header: header(n), transactions: vec![], receipts: vec![], certificate: None };
        store.commit_block(&hdr(2), &w(2, Some(vec![1]), &kh), true).expect("commit");
        store.commit_block(&hdr(5), &w(5, None, &kh), false).expect("commit");
        store.commit_block(&hdr(6), &w(1, Some(vec![9]), &other), false).expect("commit");
        assert_eq!(store.state_value_at(&kh, 1).expect("read"), None);
        assert_eq!(store.state_value_at(&kh, 3).expect("read"), Some(Some(vec![1])));
        assert_eq!(store.state_value_at(&kh, 9).expect("read"), Some(None));
        assert_eq!(store.head_number().expect("head"), Some(6));
        drop(store);
        // Reopening keeps everything and checks the format marker.
        let store = ChainStore::open(dir.path()).expect("reopens");
        assert_eq!(store.head_number().expect("head"), Some(6));
        assert!(store.genesis_hash().expect("meta").is_some());
    }
}
