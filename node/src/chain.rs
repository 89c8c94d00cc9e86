//! The chain: genesis, the committed head, building and verifying blocks, and committing them.
//!
//! `Chain` is where execution, the state tree and storage meet. Block production (today the single-validator
//! producer, later PBFT) asks it to build a block from transactions, gets a certificate for the block's hash by
//! whatever means it has, and hands both back to [`Chain::commit`].

use std::path::Path;

use accord_sdk::account::{Account, StateKey};
use accord_sdk::block::{CommitCertificate, Header, ValidatorSet};
use accord_sdk::genesis::Genesis;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::{SignedTransaction, TxLimits};
use accord_sdk::{Address, B256, FORMAT_VERSION, merkle};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::Bloom;
use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

use crate::executor::{BlockEnv, BlockExecutor, ExecutionError, InvalidTxPolicy, TxRejection};
use crate::state::{StateDb, StateError};
use crate::storage::{ChainStore, CommittedBlock, StateWrites, StorageError};

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// State failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// Execution failed.
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// The data directory holds another chain.
    #[error(
        "data directory belongs to a chain with genesis {stored}, but genesis.json gives {configured}; use an empty data directory or the matching genesis"
    )]
    GenesisMismatch {
        /// Hash in the database.
        stored: B256,
        /// Hash of the configured genesis.
        configured: B256,
    },
    /// The head moved between building and committing a block.
    #[error("block {number} does not extend the head (parent {parent}, head {head})")]
    NotOnHead {
        /// Block number.
        number: u64,
        /// Its parent hash.
        parent: B256,
        /// Current head hash.
        head: B256,
    },
    /// A stored or received block does not match its re-execution.
    #[error("block {number} does not match re-execution: {detail}")]
    Mismatch {
        /// Block number.
        number: u64,
        /// What differed.
        detail: String,
    },
    /// A block the head claims to have is missing.
    #[error("block {0} is missing from the database")]
    MissingBlock(u64),
}

/// A block built on the head, executed, with its state writes, waiting for a certificate.
#[derive(Debug)]
pub struct ExecutedBlock {
    /// Block contents (certificate not yet attached).
    pub block: CommittedBlock,
    /// State writes to commit with it.
    pub writes: StateWrites,
    /// Transactions left out and why.
    pub skipped: Vec<(B256, TxRejection)>,
}

/// The committed chain.
#[derive(Debug)]
pub struct Chain {
    store: ChainStore,
    state: StateDb,
    genesis: Genesis,
    genesis_hash: B256,
    validators: ValidatorSet,
    head: RwLock<Header>,
    commit_lock: Mutex<()>,
    heads: broadcast::Sender<Header>,
}

impl Chain {
    /// Opens the chain in `data_dir`, writing the genesis block if the directory is new.
    pub fn open(data_dir: &Path, genesis: Genesis) -> Result<Self, ChainError> {
        let store = ChainStore::open(data_dir)?;
        let state = StateDb::new(store.clone());
        let (genesis_block, genesis_writes) = Self::genesis_block(&state, &genesis)?;
        let genesis_hash = genesis_block.header.hash();
        match store.genesis_hash()? {
            Some(stored) if stored != genesis_hash => {
                return Err(ChainError::GenesisMismatch { stored, configured: genesis_hash });
            }
            Some(_) => {}
            None => store.commit_block(&genesis_block, &genesis_writes, true)?,
        }
        let head_number = store.head_number()?.unwrap_or(0);
        let head = store.header(head_number)?.ok_or(ChainError::MissingBlock(head_number))?;
        let (heads, _) = broadcast::channel(256);
        Ok(Self {
            store,
            state,
            validators: genesis.validator_set(),
            genesis,
            genesis_hash,
            head: RwLock::new(head),
            commit_lock: Mutex::new(()),
            heads,
        })
    }

    fn genesis_block(state: &StateDb, genesis: &Genesis) -> Result<(CommittedBlock, StateWrites), ChainError> {
        let changes = genesis
            .alloc
            .iter()
            .map(|(addr, balance)| {
                let acct = Account { balance: *balance, ..Default::default() };
                (StateKey::Account(*addr), Some(acct.encode()))
            })
            .collect();
        let (state_root, writes) = state.apply(0, &changes)?;
        let header = Header {
            version: FORMAT_VERSION,
            chain_id: genesis.chain_id,
            parent_hash: B256::ZERO,
            number: 0,
            timestamp: genesis.timestamp,
            proposer: Address::ZERO,
            transactions_root: merkle::empty_root(),
            receipts_root: merkle::empty_root(),
            state_root,
            logs_bloom: Bloom::ZERO,
            gas_used: 0,
            gas_limit: genesis.params.block_gas_limit,
            base_fee: genesis.params.base_fee,
            next_validators_hash: genesis.validator_set().hash(),
        };
        Ok((CommittedBlock { header, transactions: vec![], receipts: vec![], certificate: None }, writes))
    }

    /// The committed head.
    pub fn head(&self) -> Header {
        self.head.read().clone()
    }

    /// New committed headers, in order.
    pub fn subscribe_heads(&self) -> broadcast::Receiver<Header> {
        self.heads.subscribe()
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Hash of block 0.
    pub fn genesis_hash(&self) -> B256 {
        self.genesis_hash
    }

    /// The validator set certifying blocks.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The store, for queries.
    pub fn store(&self) -> &ChainStore {
        &self.store
    }

    /// State access.
    pub fn state(&self) -> &StateDb {
        &self.state
    }

    /// Stateless transaction limits of this chain.
    pub fn tx_limits(&self) -> TxLimits {
        TxLimits {
            chain_id: self.genesis.chain_id,
            max_tx_bytes: self.genesis.params.max_tx_bytes,
            crypto: self.genesis.crypto,
        }
    }

    fn env(&self, parent: &Header, timestamp: u64, proposer: Address) -> BlockEnv {
        BlockEnv {
            number: parent.number + 1,
            timestamp: timestamp.max(parent.timestamp),
            proposer,
            base_fee: self.genesis.params.base_fee,
            gas_limit: self.genesis.params.block_gas_limit,
        }
    }

    fn seal(
        &self,
        parent: &Header,
        env: &BlockEnv,
        transactions: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
        state_root: B256,
        gas_used: u64,
    ) -> CommittedBlock {
        let tx_bytes: Vec<Vec<u8>> = transactions.iter().map(|t| t.envelope().encoded_2718()).collect();
        let receipt_bytes: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
        let mut bloom = Bloom::ZERO;
        for r in &receipts {
            bloom.accrue_bloom(&r.bloom());
        }
        let header = Header {
            version: FORMAT_VERSION,
            chain_id: self.genesis.chain_id,
            parent_hash: parent.hash(),
            number: env.number,
            timestamp: env.timestamp,
            proposer: env.proposer,
            transactions_root: merkle::root(&tx_bytes),
            receipts_root: merkle::root(&receipt_bytes),
            state_root,
            logs_bloom: bloom,
            gas_used,
            gas_limit: env.gas_limit,
            base_fee: env.base_fee,
            next_validators_hash: self.validators.hash(),
        };
        CommittedBlock { header, transactions, receipts, certificate: None }
    }

    /// Builds and executes a block on the head from candidate transactions, leaving out any that are invalid.
    pub fn build_block(
        &self,
        candidates: Vec<SignedTransaction>,
        timestamp: u64,
        proposer: Address,
    ) -> Result<ExecutedBlock, ChainError> {
        let parent = self.head();
        let env = self.env(&parent, timestamp, proposer);
        let out = BlockExecutor.execute(&self.state.latest(), &env, candidates, InvalidTxPolicy::Skip)?;
        let (state_root, writes) = self.state.apply(env.number, &out.changes)?;
        let block = self.seal(&parent, &env, out.transactions, out.receipts, state_root, out.gas_used);
        Ok(ExecutedBlock { block, writes, skipped: out.skipped })
    }

    /// Re-executes a block someone else built on the head and checks it matches bit for bit.
    pub fn verify_block(&self, header: &Header, txs: Vec<SignedTransaction>) -> Result<ExecutedBlock, ChainError> {
        let parent = self.head();
        if header.parent_hash != parent.hash() || header.number != parent.number + 1 {
            return Err(ChainError::NotOnHead {
                number: header.number,
                parent: header.parent_hash,
                head: parent.hash(),
            });
        }
        if header.timestamp < parent.timestamp {
            return Err(ChainError::Mismatch { number: header.number, detail: "timestamp below parent's".into() });
        }
        let env = self.env(&parent, header.timestamp, header.proposer);
        let out = BlockExecutor.execute(&self.state.latest(), &env, txs, InvalidTxPolicy::Reject)?;
        let (state_root, writes) = self.state.apply(env.number, &out.changes)?;
        let block = self.seal(&parent, &env, out.transactions, out.receipts, state_root, out.gas_used);
        if block.header != *header {
            return Err(ChainError::Mismatch {
                number: header.number,
                detail: describe_header_difference(header, &block.header),
            });
        }
        Ok(ExecutedBlock { block, writes, skipped: vec![] })
    }

    /// Commits an executed block with its certificate: durable once this returns.
    pub fn commit(&self, executed: ExecutedBlock, certificate: CommitCertificate) -> Result<Header, ChainError> {
        let _guard = self.commit_lock.lock();
        let head = self.head();
        let header = executed.block.header.clone();
        if header.parent_hash != head.hash() {
            return Err(ChainError::NotOnHead { number: header.number, parent: header.parent_hash, head: head.hash() });
        }
        let mut block = executed.block;
        block.certificate = Some(certificate);
        self.store.commit_block(&block, &executed.writes, false)?;
        *self.head.write() = header.clone();
        // Nobody listening is fine.
        let _ = self.heads.send(header.clone());
        Ok(header)
    }

    /// A committed block's header, transactions and receipts.
    pub fn block(&self, number: u64) -> Result<Option<(Header, Vec<SignedTransaction>, Vec<Receipt>)>, ChainError> {
        if number > self.head().number {
            return Ok(None);
        }
        let Some(header) = self.store.header(number)? else { return Ok(None) };
        let txs = self.store.transactions(number)?.ok_or(ChainError::MissingBlock(number))?;
        let receipts = self.store.receipts(number)?.ok_or(ChainError::MissingBlock(number))?;
        Ok(Some((header, txs, receipts)))
    }

    /// Flushes storage on clean shutdown.
    pub fn flush(&self) -> Result<(), ChainError> {
        Ok(self.store.flush()?)
    }
}

fn describe_header_difference(expected: &Header, got: &Header) -> String {
    let mut d = Vec::new();
    if expected.state_root != got.state_root {
        d.push(format!("state root {} != re-executed {}", expected.state_root, got.state_root));
    }
    if expected.receipts_root != got.receipts_root {
        d.push(format!("receipts root {} != re-executed {}", expected.receipts_root, got.receipts_root));
    }
    if expected.transactions_root != got.transactions_root {
        d.push("transactions root differs".into());
    }
    if expected.gas_used != got.gas_used {
        d.push(format!("gas used {} != re-executed {}", expected.gas_used, got.gas_used));
    }
    if d.is_empty() {
        d.push("header fields differ".into());
    }
    d.join("; ")
}
