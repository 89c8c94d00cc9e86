//! `accord export-blocks` / `accord import-blocks`: a chain's committed blocks with their commit certificates in
//! one file, for backups, moving a node to a new machine, or seeding a new member without block sync.
//!
//! The file trusts nothing it carries: import re-checks every block exactly as block sync does (through
//! [`BlockImporter::import_synced`]: certificate against the validator set of its height first, then re-execution
//! to the exact header), so a damaged or forged archive stops the import at the first bad block and leaves every
//! block before it committed.
//!
//! Format: the 16-byte magic `accord-blocks-v1`, the chain id (8 bytes, big-endian) and the genesis hash (32
//! bytes), then one record per block: block length (4 bytes BE), `encode_block` bytes, certificate length (4 bytes
//! BE), the certificate's RLP.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use accord_sdk::B256;
use accord_sdk::block::Header;

use crate::chain::{Chain, ChainError};
use crate::import::{BlockImporter, ImportError};

/// The first bytes of every archive.
pub const MAGIC: &[u8; 16] = b"accord-blocks-v1";

/// Largest certificate record: a quorum of signatures from the largest validator set governance may form.
const MAX_CERTIFICATE_BYTES: u32 = 1 << 20;

/// Why an export or import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or writing the file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The node's chain.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Not an archive, or a damaged one.
    #[error("not a block archive of this format: {0}")]
    Format(String),
    /// An archive of another chain.
    #[error(
        "the archive holds chain {archive_chain} (genesis {archive_genesis}), this node chain {chain} (genesis {genesis})"
    )]
    OtherChain {
        /// The archive's chain id.
        archive_chain: u64,
        /// The archive's genesis hash.
        archive_genesis: B256,
        /// The node's chain id.
        chain: u64,
        /// The node's genesis hash.
        genesis: B256,
    },
    /// The range asked for is not on the chain.
    #[error("blocks {from}..={to} are not all committed (head {head})")]
    Range {
        /// First block asked.
        from: u64,
        /// Last block asked.
        to: u64,
        /// The chain's head.
        head: u64,
    },
    /// A block of the archive failed the import checks: nothing from it on was imported.
    #[error("block {number}: {source}")]
    Block {
        /// The block's height.
        number: u64,
        /// Why it was refused.
        #[source]
        source: Box<ImportError>,
    },
    /// The archive leaves a gap after the node's head.
    #[error("the archive's next block is {got} but the node's head is {head}: import the blocks in between first")]
    Gap {
        /// The block found.
        got: u64,
        /// The node's head.
        head: u64,
    },
}

impl From<crate::framing::RecordError> for ArchiveError {
    fn from(e: crate::framing::RecordError) -> Self {
        match e {
            crate::framing::RecordError::Io(e) => Self::Io(e),
            other => Self::Format(other.to_string()),
        }
    }
}

/// What an export or import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveReport {
    /// First block in the archive.
    pub from: u64,
    /// Last block in the archive.
    pub to: u64,
    /// Blocks committed by an import (those the node already had are checked and counted out).
    pub imported: u64,
    /// The chain's head afterwards.
    pub head: u64,
}

/// Writes blocks `from..=to` (default: to the head) of `chain` with their certificates to `out`, calling `progress`
/// with each block number written.
pub fn export(
    chain: &Chain,
    out: &Path,
    from: u64,
    to: Option<u64>,
    mut progress: impl FnMut(u64),
) -> Result<ArchiveReport, ArchiveError> {
    let head = chain.head().number;
    let from = from.max(1);
    chain.require_block(from)?;
    let to = to.unwrap_or(head);
    if to > head || from > to {
        return Err(ArchiveError::Range { from, to, head });
    }
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(out).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot create {} (archives are never overwritten): {e}", out.display()))
    })?;
    let mut w = BufWriter::new(file);
    w.write_all(MAGIC)?;
    w.write_all(&chain.genesis().chain_id.to_be_bytes())?;
    w.write_all(chain.genesis_hash().as_slice())?;
    for n in from..=to {
        let header = chain.store().header(n).map_err(ChainError::from)?.ok_or(ChainError::MissingBlock(n))?;
        let block = crate::sync::block_bytes(chain, &header)?;
        let certificate = chain.store().certificate(n).map_err(ChainError::from)?.ok_or(ChainError::MissingBlock(n))?;
        let certificate = alloy_rlp::encode(certificate);
        crate::framing::write(&mut w, &block, "block")?;
        crate::framing::write(&mut w, &certificate, "certificate")?;
        progress(n);
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(ArchiveReport { from, to, imported: 0, head })
}

/// Imports the archive at `input` into `importer`'s chain: blocks the chain already has must be the same (checked,
/// not imported again), the first new one must follow its head, and each is checked as block sync checks it.
/// `progress` gets each block number processed.
pub fn import(
    importer: &BlockImporter,
    chain: &Arc<Chain>,
    input: &Path,
    mut progress: impl FnMut(u64),
) -> Result<ArchiveReport, ArchiveError> {
    let file = std::fs::File::open(input)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open {}: {e}", input.display())))?;
    let mut r = BufReader::new(file);
    let mut head = [0u8; 16 + 8 + 32];
    r.read_exact(&mut head).map_err(|_| ArchiveError::Format(format!("{} is too short", input.display())))?;
    if &head[..16] != MAGIC {
        return Err(ArchiveError::Format(format!("{} does not start with {:?}", input.display(), "accord-blocks-v1")));
    }
    let archive_chain = u64::from_be_bytes(head[16..24].try_into().unwrap_or_default());
    let archive_genesis = B256::from_slice(&head[24..]);
    if archive_chain != chain.genesis().chain_id || archive_genesis != chain.genesis_hash() {
        return Err(ArchiveError::OtherChain {
            archive_chain,
            archive_genesis,
            chain: chain.genesis().chain_id,
            genesis: chain.genesis_hash(),
        });
    }
    let block_limit = u32::try_from(chain.genesis().params.max_block_bytes).unwrap_or(u32::MAX);
    let (mut first, mut last, mut imported) = (None, 0, 0);
    while let Some(block) = crate::framing::read(&mut r, block_limit, "block")? {
        let certificate = crate::framing::read(&mut r, MAX_CERTIFICATE_BYTES, "certificate")?
            .ok_or_else(|| ArchiveError::Format("a block without its certificate at the end".into()))?;
        // Only the header, for its height: the importer decodes (and checks) the whole block once.
        let header = <Header as alloy_rlp::Decodable>::decode(&mut &block[..]).map_err(|e| ArchiveError::Block {
            number: chain.head().number + 1,
            source: Box::new(ImportError::Decode(e)),
        })?;
        let n = header.number;
        let head = chain.head().number;
        if n > head + 1 {
            return Err(ArchiveError::Gap { got: n, head });
        }
        importer
            .import_synced(&block, &certificate, n)
            .map_err(|e| ArchiveError::Block { number: n, source: Box::new(e) })?;
        if n > head {
            imported += 1;
        }
        first.get_or_insert(n);
        last = n;
        progress(n);
    }
    Ok(ArchiveReport { from: first.unwrap_or(0), to: last, imported, head: chain.head().number })
}
