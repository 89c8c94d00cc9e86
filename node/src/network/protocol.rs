//! What members say to each other: the three request/response protocols and their message bounds.
//!
//! Byte payloads are CBOR byte strings (`serde_bytes`), not arrays of integers, so a block costs its size on the
//! wire. Every protocol caps its request and response sizes; a peer that sends more is cut off by the codec.

use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

/// Direct consensus messages between validators (request = an encoded `accord_consensus::Message`).
pub const CONSENSUS_PROTOCOL: StreamProtocol = StreamProtocol::new("/accord/consensus/1");
/// Transaction gossip (request = a batch of raw signed transactions).
pub const TX_PROTOCOL: StreamProtocol = StreamProtocol::new("/accord/txs/1");
/// Block sync (request = [`SyncRequest`], response = [`SyncResponse`]).
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/accord/sync/1");

/// Largest transaction batch in bytes.
pub const MAX_TX_BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// Largest block-sync response in bytes; a server stops adding blocks before it ([`SYNC_SOFT_LIMIT_BYTES`]).
pub const MAX_SYNC_RESPONSE_BYTES: u64 = 96 * 1024 * 1024;
/// A sync server stops adding blocks to a response once it holds this many bytes.
pub const SYNC_SOFT_LIMIT_BYTES: usize = 16 * 1024 * 1024;
/// Most blocks one sync request may ask for.
pub const MAX_SYNC_BLOCKS: u32 = 512;

/// An opaque byte payload, written as one CBOR byte string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// A batch of raw signed transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBatch(pub Vec<Payload>);

/// What a syncing node asks a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// The peer's committed head.
    Status,
    /// Up to `max` committed blocks starting at height `from`.
    Blocks {
        /// First height.
        from: u64,
        /// Most blocks wanted (the server may send fewer).
        max: u32,
    },
    /// The bytes of a block proposed at `height` with id `block`, which a new leader must re-propose.
    Body {
        /// Height.
        height: u64,
        /// Block id (hash).
        block: [u8; 32],
    },
}

/// A committed block with the certificate that proves it, as sent by block sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncBlock {
    /// `accord_sdk::block::encode_block` bytes.
    pub block: Payload,
    /// RLP of the block's `CommitCertificate`.
    pub certificate: Payload,
}

/// A sync server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The committed head.
    Status {
        /// Head height.
        height: u64,
        /// Head hash.
        hash: [u8; 32],
        /// The server's contract engine fingerprint (`accord_vm::identity`). The genesis block's hash does not cover
        /// the engine, so this is how members learn that one of them runs another: such a peer is not synced from.
        engine: [u8; 32],
    },
    /// Consecutive blocks from the requested height (empty when the server has none).
    Blocks(Vec<SyncBlock>),
    /// A proposed block's bytes, if the server holds them.
    Body(Option<Payload>),
    /// The server could not answer.
    Error(String),
}
