//! Column families and key encodings of the node's RocksDB database.
//!
//! One column family per kind of record, so each can be tuned, iterated and (later) pruned on its own. Block
//! numbers are big-endian, so iteration order is chain order.

/// Header by number: `number (8 BE)` → RLP header.
pub const HEADERS: &str = "headers";
/// Block number by hash: `hash (32)` → `number (8 BE)`.
pub const BLOCK_HASHES: &str = "block_hashes";
/// Body by number: `number (8 BE)` → RLP list of (EIP-2718 tx, sender).
pub const BODIES: &str = "bodies";
/// Receipts by number: `number (8 BE)` → RLP list of receipts.
pub const RECEIPTS: &str = "receipts";
/// Transaction location by hash: `hash (32)` → `number (8 BE) ‖ index (4 BE)`.
pub const TX_INDEX: &str = "tx_index";
/// Commit certificates by number.
pub const CERTIFICATES: &str = "certificates";
/// Jellyfish Merkle tree nodes: borsh `NodeKey` → borsh `Node`.
pub const STATE_NODES: &str = "state_nodes";
/// Versioned state values: `key hash (32) ‖ version (8 BE)` → borsh `Option<value>` (None = deleted).
pub const STATE_VALUES: &str = "state_values";
/// Latest state, for fast reads: canonical `StateKey` bytes → value.
pub const STATE_LATEST: &str = "state_latest";
/// Consensus write-ahead log (votes signed), used by PBFT.
pub const CONSENSUS_WAL: &str = "consensus_wal";
/// Metadata: head, genesis hash, format version.
pub const META: &str = "meta";
/// Committed logs by position: `number (8 BE) ‖ log index (4 BE)` → RLP `LogRecord` (`log_index.rs`).
pub const LOGS: &str = "logs";
/// Log lookups: `kind ‖ address or topic ‖ number ‖ log index` → empty (`log_index.rs`).
pub const LOG_INDEX: &str = "log_index";
/// Tree nodes replaced by a later version: `stale since version (8 BE) ‖ borsh NodeKey` → empty. What `accord
/// prune` may delete once no kept version reaches them.
pub const STATE_STALE: &str = "state_stale";

/// Every column family, in creation order.
pub const ALL: &[&str] = &[
    HEADERS,
    BLOCK_HASHES,
    BODIES,
    RECEIPTS,
    TX_INDEX,
    CERTIFICATES,
    STATE_NODES,
    STATE_VALUES,
    STATE_LATEST,
    CONSENSUS_WAL,
    META,
    LOGS,
    LOG_INDEX,
    STATE_STALE,
];

/// Meta key of the committed head's number.
pub const META_HEAD: &[u8] = b"head";
/// Meta key of the genesis block hash, which ties a data directory to one chain.
pub const META_GENESIS: &[u8] = b"genesis";
/// Meta key of the digest of the genesis document that built the genesis block: a restart with the same document
/// need not rebuild the genesis state (a tree of every allocated account) to know it belongs to this chain.
pub const META_GENESIS_DOCUMENT: &[u8] = b"genesis-document";
/// Meta key present once every committed block's logs are in `logs` and `log_index` (set on a new database, or after
/// indexing the blocks a node committed before it had the index).
pub const META_LOG_INDEX: &[u8] = b"log-index";
/// Meta key of the lowest block whose state is still kept (`accord prune`); absent: all of it.
pub const META_PRUNED_BELOW: &[u8] = b"pruned-below";
/// Meta key of the block a node restored from a snapshot started at (`accord import-snapshot`): it has that block's
/// header, certificate and state, and every block after it in full, but nothing of the blocks before it except the
/// genesis block. Absent: the node holds the whole chain.
pub const META_HISTORY_BASE: &[u8] = b"history-base";
/// Meta key of the chain of trust a snapshot-restored node was restored with (`snapshot.rs`'s steps), so it can
/// write snapshots of its own.
pub const META_SNAPSHOT_STEPS: &[u8] = b"snapshot-steps";
/// Meta key of the storage format version.
pub const META_FORMAT: &[u8] = b"format";

/// Consensus WAL key of the validator's vote record.
pub const WAL_SAFETY_RECORD: &[u8] = b"safety";

/// Storage layout version; bumped on any incompatible change to this schema.
pub const STORAGE_FORMAT: u64 = 1;

/// Key of a block number.
pub fn number_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Key of a versioned state value.
pub fn state_value_key(key_hash: &[u8; 32], version: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(key_hash);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

/// Value of a transaction index entry.
pub fn tx_location(number: u64, index: u32) -> [u8; 12] {
    let mut v = [0u8; 12];
    v[..8].copy_from_slice(&number.to_be_bytes());
    v[8..].copy_from_slice(&index.to_be_bytes());
    v
}

/// Parses a transaction index entry.
pub fn parse_tx_location(v: &[u8]) -> Option<(u64, u32)> {
    if v.len() != 12 {
        return None;
    }
    let n = u64::from_be_bytes(v[..8].try_into().ok()?);
    let i = u32::from_be_bytes(v[8..].try_into().ok()?);
    Some((n, i))
}

/// Parses a big-endian u64.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// Key of a proposed block's bytes in `consensus_wal`: `b"body" ‖ height (big-endian) ‖ block id`, so bodies of
/// decided heights can be deleted as one range.
pub fn wal_body_key(height: u64, id: &[u8; 32]) -> Vec<u8> {
    let mut k = b"body".to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(id);
    k
}
