//! `accord snapshot` / `accord import-snapshot`: a stopped node's state at its head in one file, and a new node
//! started from it without re-executing the chain.
//!
//! The file trusts nothing it carries. Besides the state, it holds the chain of trust from the genesis to the
//! snapshot's block: every block whose header announces a new validator set (and the snapshot's block itself), each
//! with its commit certificate and the set it announces. A restore walks that chain from the genesis set, verifying
//! each certificate against the set the previous step announced and each announced set against its header's
//! `nextValidatorsHash`, then rebuilds the state tree from the entries, in bounded chunks, beside the data directory,
//! and moves it into place only if its root is the certified block's `stateRoot`. So a snapshot is exactly as trustworthy as a quorum certificate of every validator
//! set the chain has had, the same as block sync, without re-executing a block. (Blocks between the set changes are
//! skipped: a quorum of the set in force signed the next change, and the snapshot's block, as it signs every
//! block.)
//!
//! Format: the 16-byte magic `accord-snapshot1`, the chain id (8 bytes, big-endian), the genesis hash (32 bytes),
//! the snapshot's block number (8 bytes BE); the step count (4 bytes BE) and per step three length-prefixed records
//! (4-byte BE length): header RLP, certificate RLP, RLP list of the addresses of the set it announces; then the
//! state entries, each a length-prefixed canonical state key and a length-prefixed value, in strictly ascending key
//! order, ended by a zero-length key.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use accord_sdk::account::StateKey;
use accord_sdk::block::{CommitCertificate, Header, ValidatorSet};
use accord_sdk::genesis::Genesis;
use accord_sdk::{Address, B256};

use crate::chain::{Chain, ChainError};
use crate::state::StateDb;
use crate::storage::ChainStore;

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 16] = b"accord-snapshot1";

/// Largest header record.
const MAX_HEADER_BYTES: u32 = 64 * 1024;
/// Largest certificate or validator-list record.
const MAX_SET_BYTES: u32 = 1 << 20;
/// Largest state key (a storage slot: tag, address, slot).
const MAX_KEY_BYTES: u32 = 64;

/// Why a snapshot could not be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The node's chain.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Not a snapshot, or a damaged one.
    #[error("not a snapshot of this format: {0}")]
    Format(String),
    /// A snapshot of another chain.
    #[error(
        "the snapshot holds chain {snapshot_chain} (genesis {snapshot_genesis}), this node's genesis.json chain {chain} (genesis {genesis})"
    )]
    OtherChain {
        /// The snapshot's chain id.
        snapshot_chain: u64,
        /// The snapshot's genesis hash.
        snapshot_genesis: B256,
        /// The node's chain id.
        chain: u64,
        /// The node's genesis hash.
        genesis: B256,
    },
    /// The chain of trust from the genesis to the snapshot's block does not hold.
    #[error("block {number}: {detail}")]
    Untrusted {
        /// The block whose step failed.
        number: u64,
        /// Why.
        detail: String,
    },
    /// The state does not hash to the certified root.
    #[error(
        "the snapshot's state hashes to {computed}, but block {number} is certified with state root {certified}: the file is damaged or forged"
    )]
    StateRoot {
        /// The snapshot's block.
        number: u64,
        /// Root of the entries in the file.
        computed: B256,
        /// Root in the certified header.
        certified: B256,
    },
    /// The target directory already holds a chain.
    #[error(
        "{0} already holds a chain: a snapshot is restored only into a new node's empty data directory (accord init)"
    )]
    NotEmpty(String),
    /// The node cannot produce a snapshot.
    #[error("{0}")]
    Unavailable(String),
}

impl From<crate::framing::RecordError> for SnapshotError {
    fn from(e: crate::framing::RecordError) -> Self {
        match e {
            crate::framing::RecordError::Io(e) => Self::Io(e),
            other => Self::Format(other.to_string()),
        }
    }
}

/// What a snapshot or restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotReport {
    /// The snapshot's block.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// Its (certified) state root.
    pub state_root: B256,
    /// Validator-set steps from the genesis.
    pub steps: usize,
    /// State entries.
    pub entries: u64,
}

/// One link of the chain of trust: a certified header and the validator set it announces for the block after it.
#[derive(Debug, Clone)]
struct Step {
    header: Header,
    certificate: CommitCertificate,
    next: Vec<Address>,
}

/// Reads a record the format requires (the file may not end before it).
fn read_record(r: &mut impl Read, limit: u32, what: &'static str) -> Result<Vec<u8>, SnapshotError> {
    crate::framing::read(r, limit, what)?.ok_or_else(|| SnapshotError::Format(format!("the file ends before a {what}")))
}

fn encode_steps(steps: &[Step]) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::new();
    let count = u32::try_from(steps.len()).map_err(|_| SnapshotError::Format("too many steps".into()))?;
    out.extend_from_slice(&count.to_be_bytes());
    for s in steps {
        crate::framing::write(&mut out, &s.header.encode(), "header")?;
        crate::framing::write(&mut out, &alloy_rlp::encode(&s.certificate), "certificate")?;
        crate::framing::write(&mut out, &alloy_rlp::encode(&s.next), "validator list")?;
    }
    Ok(out)
}

fn decode_steps(r: &mut impl Read, max_steps: u64) -> Result<Vec<Step>, SnapshotError> {
    let mut count = [0u8; 4];
    r.read_exact(&mut count).map_err(|e| SnapshotError::Format(format!("truncated before the steps: {e}")))?;
    let count = u32::from_be_bytes(count);
    if u64::from(count) > max_steps {
        return Err(SnapshotError::Format(format!("{count} validator-set steps for {max_steps} blocks")));
    }
    let mut steps = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let header = Header::decode(&read_record(r, MAX_HEADER_BYTES, "header")?)
            .map_err(|e| SnapshotError::Format(format!("header: {e}")))?;
        let certificate = <CommitCertificate as alloy_rlp::Decodable>::decode(
            &mut &read_record(r, MAX_SET_BYTES, "certificate")?[..],
        )
        .map_err(|e| SnapshotError::Format(format!("certificate: {e}")))?;
        let next =
            <Vec<Address> as alloy_rlp::Decodable>::decode(&mut &read_record(r, MAX_SET_BYTES, "validator list")?[..])
                .map_err(|e| SnapshotError::Format(format!("validator list: {e}")))?;
        steps.push(Step { header, certificate, next });
    }
    Ok(steps)
}

/// The chain of trust of a node restored from a snapshot, as it was restored (kept so that node can write
/// snapshots too).
fn stored_steps(chain: &Chain) -> Result<Vec<Step>, SnapshotError> {
    let Some(bytes) = chain.store().snapshot_steps().map_err(ChainError::from)? else {
        return Err(SnapshotError::Unavailable(format!(
            "this node was started from a snapshot of block {} but keeps no record of its validator sets",
            chain.history_base()
        )));
    };
    decode_steps(&mut &bytes[..], chain.history_base())
}

/// Writes the state of `chain`'s head, with the chain of trust from the genesis to it, to `out` (never
/// overwritten). `progress` gets the state entries written so far.
pub fn create(chain: &Chain, out: &Path, mut progress: impl FnMut(u64)) -> Result<SnapshotReport, SnapshotError> {
    let head = chain.head();
    if head.number == 0 {
        return Err(SnapshotError::Unavailable("the chain has no block after the genesis yet".into()));
    }
    let base = chain.history_base();
    let (mut steps, first) = if base == 0 { (Vec::new(), 1) } else { (stored_steps(chain)?, base + 1) };
    let mut announced = match steps.last() {
        Some(s) => s.header.next_validators_hash,
        None => {
            chain.store().header(0).map_err(ChainError::from)?.ok_or(ChainError::MissingBlock(0))?.next_validators_hash
        }
    };
    for n in first.max(1)..=head.number {
        let header = chain.store().header(n).map_err(ChainError::from)?.ok_or(ChainError::MissingBlock(n))?;
        if header.next_validators_hash == announced && n != head.number {
            continue;
        }
        let certificate = chain.store().certificate(n).map_err(ChainError::from)?.ok_or(ChainError::MissingBlock(n))?;
        let set = chain.validators_after(n).map_err(|e| match e {
            ChainError::State(crate::state::StateError::Pruned { .. }) => SnapshotError::Unavailable(format!(
                "the validator set changed at block {n}, and this node pruned the state that names the new set; take the snapshot on a node that kept it"
            )),
            other => other.into(),
        })?;
        if set.hash() != header.next_validators_hash {
            return Err(SnapshotError::Unavailable(format!(
                "block {n} announces validator set {}, but the state after it names {}",
                header.next_validators_hash,
                set.hash()
            )));
        }
        announced = header.next_validators_hash;
        steps.push(Step { header, certificate, next: set.validators.iter().map(|v| v.address).collect() });
    }
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(out).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot create {} (snapshots are never overwritten): {e}", out.display()))
    })?;
    let mut w = BufWriter::new(file);
    w.write_all(MAGIC)?;
    w.write_all(&chain.genesis().chain_id.to_be_bytes())?;
    w.write_all(chain.genesis_hash().as_slice())?;
    w.write_all(&head.number.to_be_bytes())?;
    w.write_all(&encode_steps(&steps)?)?;
    let mut entries = 0u64;
    for item in chain.store().latest_entries() {
        let (k, v) = item.map_err(ChainError::from)?;
        crate::framing::write(&mut w, &k, "state key")?;
        crate::framing::write(&mut w, &v, "state value")?;
        entries += 1;
        if entries.is_multiple_of(10_000) {
            progress(entries);
        }
    }
    w.write_all(&0u32.to_be_bytes())?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    progress(entries);
    Ok(SnapshotReport {
        number: head.number,
        hash: head.hash(),
        state_root: head.state_root,
        steps: steps.len(),
        entries,
    })
}

/// Checks the chain of trust: each step's certificate against the set the previous step (first, the genesis)
/// announced, and each announced set against its header; the last step must be the snapshot's block.
fn verify_steps(genesis: &Genesis, genesis_header: &Header, base: u64, steps: &[Step]) -> Result<(), SnapshotError> {
    let mut set = genesis.validator_set();
    if set.hash() != genesis_header.next_validators_hash {
        return Err(SnapshotError::Untrusted { number: 0, detail: "the genesis set does not match its header".into() });
    }
    let mut previous = 0u64;
    for s in steps {
        let n = s.header.number;
        let untrusted = |detail: String| SnapshotError::Untrusted { number: n, detail };
        if n <= previous || n > base {
            return Err(untrusted(format!("steps must ascend from block 1 to block {base}")));
        }
        if s.header.chain_id != genesis.chain_id {
            return Err(untrusted(format!("header of chain {}", s.header.chain_id)));
        }
        s.certificate
            .verify(genesis.chain_id, &s.header, &set, genesis.crypto)
            .map_err(|e| untrusted(format!("certificate against the validator set in force: {e}")))?;
        let next = ValidatorSet::of_addresses(&s.next);
        if next.hash() != s.header.next_validators_hash {
            return Err(untrusted("the validator set given does not match the header's nextValidatorsHash".into()));
        }
        set = next;
        previous = n;
    }
    if previous != base {
        return Err(SnapshotError::Untrusted {
            number: base,
            detail: "the snapshot's own block is not among its certified steps".into(),
        });
    }
    Ok(())
}

/// Entries per chunk when a tree is built in bounded memory (`StateDb::build_chunked`): about 100 MB of tree work.
const TREE_CHUNK: usize = 20_000;

/// Restores the snapshot at `input` into `data_dir`, which must hold no chain, for a node of `genesis`. The chain
/// of trust is checked first; the state tree is built (in bounded memory) in a directory beside `data_dir` and
/// checked against the certified state root; only then does that directory become `data_dir`, so a refused or
/// interrupted restore leaves nothing a node would open. The node then syncs the blocks after the snapshot.
/// `progress` gets the state entries read so far.
pub fn restore(
    data_dir: &Path,
    genesis: &Genesis,
    input: &Path,
    mut progress: impl FnMut(u64),
) -> Result<SnapshotReport, SnapshotError> {
    crate::chain::check_engine(genesis)?;
    let replace_existing = check_new(data_dir)?;
    // The genesis hash, which ties the file to this home's genesis.json: its tree built in a scratch store, in
    // bounded memory (a first start builds the same tree in one piece).
    let genesis_header = {
        let scratch = tempfile::tempdir()?;
        let db = StateDb::new(ChainStore::open(scratch.path()).map_err(ChainError::from)?);
        let state = Chain::genesis_state(genesis);
        let last = (state.len().div_ceil(TREE_CHUNK) as u64).max(1);
        Chain::genesis_header(genesis, db.build_chunked(last, &state, TREE_CHUNK).map_err(ChainError::from)?)
    };
    let file = std::fs::File::open(input)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open {}: {e}", input.display())))?;
    let mut r = BufReader::new(file);
    let mut head = [0u8; 16 + 8 + 32 + 8];
    r.read_exact(&mut head).map_err(|_| SnapshotError::Format(format!("{} is too short", input.display())))?;
    if &head[..16] != MAGIC {
        return Err(SnapshotError::Format(format!("{} does not start with \"accord-snapshot1\"", input.display())));
    }
    let word = |at: usize| u64::from_be_bytes(head[at..at + 8].try_into().unwrap_or_default());
    let (snapshot_chain, snapshot_genesis, base) = (word(16), B256::from_slice(&head[24..56]), word(56));
    if snapshot_chain != genesis.chain_id || snapshot_genesis != genesis_header.hash() {
        return Err(SnapshotError::OtherChain {
            snapshot_chain,
            snapshot_genesis,
            chain: genesis.chain_id,
            genesis: genesis_header.hash(),
        });
    }
    let steps = decode_steps(&mut r, base)?;
    verify_steps(genesis, &genesis_header, base, &steps)?;
    let Some(last) = steps.last() else {
        return Err(SnapshotError::Format("no certified block".into()));
    };
    let value_limit = u32::try_from(genesis.params.max_code_bytes.max(1 << 20)).unwrap_or(u32::MAX);
    let mut entries: BTreeMap<StateKey, Option<Vec<u8>>> = BTreeMap::new();
    let mut previous: Option<Vec<u8>> = None;
    loop {
        let key = read_record(&mut r, MAX_KEY_BYTES, "state key")?;
        if key.is_empty() {
            break;
        }
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err(SnapshotError::Format("state keys out of order".into()));
        }
        let parsed = StateKey::from_bytes(&key).ok_or_else(|| {
            SnapshotError::Format(format!("not a state key: 0x{}", alloy_primitives::hex::encode(&key)))
        })?;
        let value = read_record(&mut r, value_limit, "state value")?;
        entries.insert(parsed, Some(value));
        previous = Some(key);
        if entries.len().is_multiple_of(10_000) {
            progress(entries.len() as u64);
        }
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest)? != 0 {
        return Err(SnapshotError::Format("bytes after the state's end".into()));
    }
    let count = entries.len() as u64;
    let building = beside(data_dir, "restoring");
    if building.exists() {
        std::fs::remove_dir_all(&building)?;
    }
    let built = (|| -> Result<B256, SnapshotError> {
        let store = ChainStore::open(&building).map_err(ChainError::from)?;
        let root = StateDb::new(store.clone()).build_chunked(base, &entries, TREE_CHUNK).map_err(ChainError::from)?;
        if root != last.header.state_root {
            return Err(SnapshotError::StateRoot { number: base, computed: root, certified: last.header.state_root });
        }
        store
            .finish_restore(
                &genesis_header,
                Chain::document_digest(genesis),
                &last.header,
                &last.certificate,
                &encode_steps(&steps)?,
            )
            .map_err(ChainError::from)?;
        Ok(root)
    })();
    let root = match built {
        Ok(root) => root,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    if replace_existing {
        std::fs::remove_dir_all(data_dir)?;
    }
    std::fs::rename(&building, data_dir)?;
    progress(count);
    Ok(SnapshotReport { number: base, hash: last.header.hash(), state_root: root, steps: steps.len(), entries: count })
}

/// `dir` with `.suffix` added to its name, in the same parent (so a rename moves it into place).
fn beside(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "data".into());
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

/// Refuses a data directory that holds a chain (or anything but a database with nothing committed); true when an
/// empty database is there, to be replaced by the restored one.
fn check_new(data_dir: &Path) -> Result<bool, SnapshotError> {
    let Ok(mut listing) = std::fs::read_dir(data_dir) else { return Ok(false) };
    if listing.next().is_none() {
        return Ok(true);
    }
    let taken = || SnapshotError::NotEmpty(data_dir.display().to_string());
    if !data_dir.join("CURRENT").exists() {
        return Err(taken());
    }
    let store = ChainStore::open(data_dir).map_err(|_| taken())?;
    if !store.is_new().map_err(ChainError::from)? {
        return Err(taken());
    }
    Ok(true)
}
