//! The chain: genesis, the committed head, building and verifying blocks, and committing them.
//!
//! `Chain` is where execution, the state tree and storage meet. Block production (today the single-validator
//! producer, later PBFT) asks it to build a block from transactions, gets a certificate for the block's hash by
//! whatever means it has, and hands both back to [`Chain::commit`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use accord_sdk::account::{Account, StateKey};
use accord_sdk::block::{CommitCertificate, Header, ValidatorSet, VerifiedCertificate};
use accord_sdk::genesis::Genesis;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::{SignedTransaction, TxLimits};
use accord_sdk::{Address, B256, FORMAT_VERSION, keccak256, merkle};
use alloy_primitives::Bloom;
use parking_lot::RwLock;
use tokio::sync::broadcast;

use crate::executor::{BlockEnv, BlockExecutor, ExecutionError, ExecutionOutcome, InvalidTxPolicy, TxRejection};
use crate::governance::BlockRules;
use crate::governance::emergency::EmergencyTransition;
use crate::state::StateView;
use crate::state::{StateDb, StateError};
use crate::storage::{ChainStore, CommittedBlock, StateWrites, StorageError};
use accord_sdk::governance::{NodeEntry, NodeLists};

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
    /// The genesis names another contract engine than this build runs.
    #[error(
        "genesis names contract engine \"{named}\" (fingerprint {named_fingerprint}), but this node runs \"{local}\" (fingerprint {local_fingerprint}): contracts could execute differently here and fork this node from the other members; run the Accord release the consortium agreed on"
    )]
    EngineMismatch {
        /// The engine the genesis names.
        named: String,
        /// Its fingerprint.
        named_fingerprint: B256,
        /// This build's engine.
        local: String,
        /// Its fingerprint.
        local_fingerprint: B256,
    },
    /// The contract engine could not be set up.
    #[error("contract engine: {0}")]
    Engine(String),
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
    /// A certificate does not prove the block was committed by a quorum.
    #[error("block {number}: {source}")]
    Certificate {
        /// Block number.
        number: u64,
        /// Why the certificate fails.
        source: accord_sdk::block::CertificateError,
    },
    /// The block is older than this node's history (it was restored from a snapshot).
    #[error(
        "block {number} is not on this node: it was started from a snapshot of block {base} and holds that block's header and state and the blocks after it (ask a node that keeps the whole chain)"
    )]
    BeforeHistory {
        /// The block asked for.
        number: u64,
        /// The snapshot's block.
        base: u64,
    },
    /// A block the head claims to have is missing.
    #[error("block {0} is missing from the database")]
    MissingBlock(u64),
    /// The contract runtime could not start.
    #[error(transparent)]
    Vm(#[from] accord_vm::VmError),
    /// A blocking task running chain work panicked or was cancelled.
    #[error("chain task failed: {0}")]
    Task(String),
    /// The configured emergency transition cannot be applied.
    #[error("[emergency] in config.toml: {0}")]
    Emergency(String),
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

/// The head a block executes on, with the latest state held at it (see [`Chain::parent_state`]).
#[derive(Debug)]
pub struct ParentState<'a> {
    /// The head.
    pub header: Header,
    _guard: parking_lot::RwLockReadGuard<'a, ()>,
}

/// A committed block as read back from storage.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// Header.
    pub header: Header,
    /// Transactions with their senders.
    pub transactions: Vec<SignedTransaction>,
    /// Receipts, one per transaction.
    pub receipts: Vec<Receipt>,
}

/// The committed chain.
#[derive(Debug)]
pub struct Chain {
    store: ChainStore,
    state: StateDb,
    genesis: Genesis,
    genesis_hash: B256,
    head: RwLock<Header>,
    /// Held for reading while a block executes on the head, for writing while one commits: execution reads the
    /// head and the latest-state table as one snapshot, never a head from before a commit with state from after it.
    commit_lock: RwLock<()>,
    heads: broadcast::Sender<Header>,
    executor: BlockExecutor,
    simulator: BlockExecutor,
    /// The rules of the block after the head, read once per head (the pool asks for every transaction).
    next_rules: RwLock<Option<(u64, Arc<BlockRules>)>>,
    /// The operator's lost-quorum transition, if configured.
    emergency: Option<EmergencyTransition>,
}

impl Chain {
    /// Opens the chain in `data_dir`, writing the genesis block if the directory is new.
    pub fn open(data_dir: &Path, genesis: Genesis) -> Result<Self, ChainError> {
        Self::open_with(data_dir, genesis, None)
    }

    /// [`Self::open`] with the operator's emergency transition (`[emergency]` in config.toml), if any.
    pub fn open_with(
        data_dir: &Path,
        genesis: Genesis,
        emergency: Option<EmergencyTransition>,
    ) -> Result<Self, ChainError> {
        if let Some(e) = &emergency {
            e.validate(genesis.committee.is_some()).map_err(ChainError::Emergency)?;
        }
        check_engine(&genesis)?;
        let store = ChainStore::open(data_dir)?;
        let state = StateDb::new(store.clone());
        let genesis_hash = Self::open_genesis(&store, &state, &genesis)?;
        let head_number = store.head_number()?.unwrap_or(0);
        let head = store.header(head_number)?.ok_or(ChainError::MissingBlock(head_number))?;
        let (heads, _) = broadcast::channel(256);
        // Only a governed chain has system contracts: on any other chain their addresses stay plain accounts, so
        // chains created before them execute exactly as they did.
        let system = genesis.committee.is_some().then_some(crate::governance::SystemContracts {
            max_block_bytes: genesis.params.max_block_bytes,
            pbft: genesis.validators.len() > 1,
        });
        let executor = BlockExecutor::new(vm_config(&genesis), system)?;
        let simulator = BlockExecutor::new(vm_config(&genesis), system)?;
        Ok(Self {
            executor,
            simulator,
            store,
            state,
            genesis,
            genesis_hash,
            head: RwLock::new(head),
            commit_lock: RwLock::new(()),
            heads,
            next_rules: RwLock::new(None),
            emergency,
        })
        .and_then(Self::check_emergency)
    }

    /// The block executor (and its contract runtime).
    pub fn executor(&self) -> &BlockExecutor {
        &self.executor
    }

    /// An executor for RPC simulations (`eth_call`, `eth_estimateGas`): the same rules, its own module cache, so
    /// what clients simulate can never push the modules blocks need out of the block executor's cache.
    pub fn simulator(&self) -> &BlockExecutor {
        &self.simulator
    }

    /// The genesis block's hash, after writing the block into a new data directory or checking that a used one
    /// belongs to `genesis`. Building the genesis block means building the state tree of every allocated account
    /// (seconds and gigabytes for a million), so a restart with the very document that built the stored block
    /// (same digest) takes the stored hash; any other document is built and compared, as on first start.
    fn open_genesis(store: &ChainStore, state: &StateDb, genesis: &Genesis) -> Result<B256, ChainError> {
        let document = Self::document_digest(genesis);
        let stored = store.genesis_hash()?;
        if let Some(stored) = stored
            && store.genesis_document()? == Some(document)
        {
            return Ok(stored);
        }
        let (block, writes) = Self::genesis_block(state, genesis)?;
        let built = block.header.hash();
        match stored {
            Some(stored) if stored != built => return Err(ChainError::GenesisMismatch { stored, configured: built }),
            Some(_) => {}
            None => store.commit_block(&block, &writes, true)?,
        }
        store.set_genesis_document(document)?;
        Ok(built)
    }

    /// The digest of the genesis document that identifies it in `meta` (see [`Self::open_genesis`]).
    pub(crate) fn document_digest(genesis: &Genesis) -> B256 {
        // An empty digest never matches a stored one: the document is then built and compared.
        keccak256(serde_json::to_vec(genesis).unwrap_or_default())
    }

    /// The state the genesis names: its allocations, and the governed records in the system accounts' storage.
    pub(crate) fn genesis_state(genesis: &Genesis) -> BTreeMap<StateKey, Option<Vec<u8>>> {
        let mut changes: BTreeMap<StateKey, Option<Vec<u8>>> = genesis
            .alloc
            .iter()
            .map(|(addr, balance)| {
                let acct = Account { balance: *balance, ..Default::default() };
                (StateKey::Account(*addr), Some(acct.encode()))
            })
            .collect();
        for (address, slot, word) in crate::governance::store::genesis_records(genesis) {
            changes.insert(StateKey::Storage(address, slot), (!word.is_zero()).then(|| word.to_vec()));
        }
        changes
    }

    /// The genesis block's header, with the root of [`Self::genesis_state`].
    pub(crate) fn genesis_header(genesis: &Genesis, state_root: B256) -> Header {
        Header {
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
        }
    }

    fn genesis_block(state: &StateDb, genesis: &Genesis) -> Result<(CommittedBlock, StateWrites), ChainError> {
        let (state_root, writes) = state.apply(0, &Self::genesis_state(genesis))?;
        let header = Self::genesis_header(genesis, state_root);
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

    /// The validator set certifying the block at `height`: the node list governance keeps (the genesis one on an
    /// ungoverned chain), read from the latest state. Every governed record is indexed by height, so this is exact
    /// for any height from the head's on (a change made in the head's block is already scheduled for the next).
    pub fn validators_at(&self, height: u64) -> Result<ValidatorSet, ChainError> {
        Ok(self.named(self.nodes_at(height)?.validators))
    }

    /// Validators and observers at `height` (see [`Self::validators_at`]) with the heights they took their roles.
    pub fn nodes_at(&self, height: u64) -> Result<NodeLists, ChainError> {
        let lists = self.nodes_from(&self.state.latest(), height)?;
        Ok(self.with_emergency(lists, height, false))
    }

    /// `lists` as the emergency transition makes them at `height`. On a governed chain the transition is written
    /// into state at the start of its block, so only its own height (which the state before it cannot know) is
    /// overridden, and never in a header (`in_header`: headers commit to what the state names; the header just
    /// before the transition was committed before anyone decided it). An ungoverned chain has no state to write:
    /// every height from the transition on is overridden, in headers from the one after it.
    fn with_emergency(&self, lists: NodeLists, height: u64, in_header: bool) -> NodeLists {
        let Some(e) = self.emergency.as_ref().filter(|e| e.validators.is_some()) else { return lists };
        let applies = match (self.genesis.committee.is_some(), in_header) {
            (true, false) => height == e.height,
            (true, true) => false,
            (false, false) => height >= e.height,
            (false, true) => height > e.height,
        };
        if applies { e.lists(lists) } else { lists }
    }

    /// Refuses a transition at a height this node already committed with another set: it can only name the future.
    fn check_emergency(self) -> Result<Self, ChainError> {
        let Some(e) = self.emergency.clone() else { return Ok(self) };
        let head = self.head().number;
        if e.validators.is_none() || head < e.height {
            return Ok(self);
        }
        let header = self.store.header(e.height)?.ok_or(ChainError::MissingBlock(e.height))?;
        let cert = self.store.certificate(e.height)?;
        let set = self.named(e.lists(NodeLists::default()).validators);
        let applied = cert.is_some_and(|c| c.verify(self.genesis.chain_id, &header, &set, self.genesis.crypto).is_ok());
        if applied {
            Ok(self)
        } else {
            Err(ChainError::Emergency(format!(
                "the emergency transition names height {}, which this node already committed (head {head}) under another validator set; a transition can only name a height above every node's head",
                e.height
            )))
        }
    }

    fn nodes_from(&self, view: &impl StateView, height: u64) -> Result<NodeLists, ChainError> {
        let governed = if self.genesis.committee.is_some() {
            crate::governance::store::nodes_at(&mut crate::governance::store::view_reader(view), height)
                .map_err(|e| ChainError::Execution(e.into()))?
        } else {
            None
        };
        Ok(governed.map(|(lists, _)| lists).unwrap_or_else(|| crate::governance::store::genesis_nodes(&self.genesis)))
    }

    /// A validator set from node entries, with each genesis member's name, key and address filled in (nodes
    /// added by governance are known by address alone).
    fn named(&self, nodes: Vec<NodeEntry>) -> ValidatorSet {
        let validators = nodes
            .into_iter()
            .map(|n| {
                self.genesis.members().find(|m| m.address == n.address).cloned().unwrap_or_else(|| {
                    accord_sdk::block::Validator {
                        name: format!("node-{}", n.address),
                        address: n.address,
                        public_key: Default::default(),
                        p2p_address: String::new(),
                    }
                })
            })
            .collect();
        ValidatorSet { validators }
    }

    /// The validator set certifying block `number + 1`, as the state after `number` names it (what `number`'s
    /// header commits to in `next_validators_hash`). Needs the state at `number`, so it fails for pruned heights.
    pub fn validators_after(&self, number: u64) -> Result<ValidatorSet, ChainError> {
        let lists = self.with_emergency(self.nodes_from(&self.state.at(number), number + 1)?, number + 1, true);
        Ok(self.named(lists.validators))
    }

    /// The block this node's history starts at: 0, or the snapshot's block for a node restored from one.
    pub fn history_base(&self) -> u64 {
        self.store.history_base()
    }

    /// Refuses a block this node does not hold in full: one before its history, or the snapshot's own block (whose
    /// header and state it holds, not its transactions). The one rule every reader of blocks asks.
    pub fn require_block(&self, number: u64) -> Result<(), ChainError> {
        let base = self.history_base();
        if number > 0 && number <= base {
            return Err(ChainError::BeforeHistory { number, base });
        }
        Ok(())
    }

    /// Hash of the validator set of the block after `number`, as the state after executing `number` (`changes`
    /// on top of the latest) names it: what the header of `number` commits to.
    fn next_set_hash(&self, number: u64, changes: &BTreeMap<StateKey, Option<Vec<u8>>>) -> Result<B256, ChainError> {
        let after = crate::state::ChangedView { base: self.state.latest(), changes };
        // A block already committed before a transition keeps the hash it had (the transition cannot rewrite it);
        // blocks after it commit to the sets it made.
        let lists = self.with_emergency(self.nodes_from(&after, number + 1)?, number + 1, true);
        Ok(self.named(lists.validators).hash())
    }

    /// The store, for queries.
    pub fn store(&self) -> &ChainStore {
        &self.store
    }

    /// State access.
    pub fn state(&self) -> &StateDb {
        &self.state
    }

    /// Stateless transaction limits for the block after the head (its `maxTxBytes` may have been changed by
    /// governance).
    pub fn tx_limits(&self) -> TxLimits {
        let max_tx_bytes = match self.next_rules() {
            Ok(r) => usize::try_from(r.config.max_tx_bytes).unwrap_or(usize::MAX),
            Err(_) => self.genesis.params.max_tx_bytes,
        };
        TxLimits { chain_id: self.genesis.chain_id, max_tx_bytes, crypto: self.genesis.crypto }
    }

    /// The chain's rules (parameters, policies, governors) for the block after the head.
    ///
    /// No lock is needed: every governed record is indexed by height, and a commit racing this read only schedules
    /// changes for later heights, so the state before or after it answers the same.
    pub fn next_rules(&self) -> Result<Arc<BlockRules>, ChainError> {
        self.rules_for(self.head().number + 1)
    }

    /// The rules of block `number`, which executes on the latest state (the block after the head), cached per
    /// height: the pool asks for every transaction, and building or verifying the block asks again.
    fn rules_for(&self, number: u64) -> Result<Arc<BlockRules>, ChainError> {
        if let Some((h, r)) = &*self.next_rules.read()
            && *h == number
        {
            return Ok(r.clone());
        }
        let writes = self.emergency_writes(number)?;
        let changes = writes
            .iter()
            .map(|(a, slot, w)| (StateKey::Storage(*a, *slot), (!w.is_zero()).then(|| w.to_vec())))
            .collect();
        let view = crate::state::ChangedView { base: self.state.latest(), changes: &changes };
        let rules =
            Arc::new(BlockRules::at(&view, &self.genesis, number).map_err(|e| ChainError::Execution(e.into()))?);
        *self.next_rules.write() = Some((number, rules.clone()));
        Ok(rules)
    }

    /// What the emergency transition writes into governed state at the start of block `number`: nothing but at its
    /// height on a governed chain.
    fn emergency_writes(&self, number: u64) -> Result<Vec<(Address, B256, B256)>, ChainError> {
        match &self.emergency {
            Some(e) if e.height == number && self.genesis.committee.is_some() => {
                Ok(e.writes(self.nodes_from(&self.state.latest(), number)?))
            }
            _ => Ok(Vec::new()),
        }
    }

    fn env(&self, parent: &Header, timestamp: u64, proposer: Address) -> Result<BlockEnv, ChainError> {
        let number = parent.number + 1;
        let rules = self.rules_for(number)?;
        Ok(BlockEnv {
            system_writes: self.emergency_writes(number)?,
            number,
            timestamp: timestamp.max(parent.timestamp),
            proposer,
            base_fee: self.genesis.params.base_fee,
            gas_limit: rules.config.block_gas_limit,
            rules,
        })
    }

    /// The block `out` makes on `parent`, with the state root its changes give and the hash of the validator set
    /// they name for the next block.
    fn seal(
        &self,
        parent: &Header,
        env: &BlockEnv,
        out: ExecutionOutcome,
        state_root: B256,
    ) -> Result<CommittedBlock, ChainError> {
        let next_validators_hash = self.next_set_hash(env.number, &out.changes)?;
        let (transactions, receipts, gas_used) = (out.transactions, out.receipts, out.gas_used);
        let tx_bytes: Vec<&[u8]> = transactions.iter().map(|t| t.encoded().as_ref()).collect();
        let receipt_bytes: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
        let mut bloom = Bloom::ZERO;
        for r in &receipts {
            bloom.accrue_bloom(&r.bloom());
        }
        let header = Header {
            // The chain's compatibility version at this height (FORMAT_VERSION until governance raises it).
            version: env.rules.config.version,
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
            next_validators_hash,
        };
        Ok(CommittedBlock { header, transactions, receipts, certificate: None })
    }

    /// Builds and executes a block on the head from candidate transactions, leaving out any that are invalid.
    pub fn build_block(
        &self,
        candidates: Vec<SignedTransaction>,
        timestamp: u64,
        proposer: Address,
    ) -> Result<ExecutedBlock, ChainError> {
        let parent = self.parent_state();
        let env = self.env(&parent.header, timestamp, proposer)?;
        let mut out = self.executor.execute(Arc::new(self.state.latest()), &env, candidates, InvalidTxPolicy::Skip)?;
        let (state_root, writes) = self.state.apply(env.number, &out.changes)?;
        let skipped = std::mem::take(&mut out.skipped);
        let block = self.seal(&parent.header, &env, out, state_root)?;
        Ok(ExecutedBlock { block, writes, skipped })
    }

    /// Re-executes a block someone else built on the head and checks it matches bit for bit.
    pub fn verify_block(&self, header: &Header, txs: Vec<SignedTransaction>) -> Result<ExecutedBlock, ChainError> {
        let parent = self.parent_state();
        let head = parent.header.hash();
        if header.parent_hash != head || header.number != parent.header.number + 1 {
            return Err(ChainError::NotOnHead { number: header.number, parent: header.parent_hash, head });
        }
        if self.validators_at(header.number)?.index_of(&header.proposer).is_none() {
            return Err(ChainError::Mismatch {
                number: header.number,
                detail: format!("proposer {} is not a validator", header.proposer),
            });
        }
        if header.timestamp < parent.header.timestamp {
            return Err(ChainError::Mismatch { number: header.number, detail: "timestamp below parent's".into() });
        }
        let env = self.env(&parent.header, header.timestamp, header.proposer)?;
        let out = self.executor.execute(Arc::new(self.state.latest()), &env, txs, InvalidTxPolicy::Reject)?;
        let (state_root, writes) = self.state.apply(env.number, &out.changes)?;
        let block = self.seal(&parent.header, &env, out, state_root)?;
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
        let verified = self.verify_certificate(&executed.block.header, certificate)?;
        self.commit_verified(executed, verified)
    }

    /// Checks `certificate` against the validator set for `header`.
    pub fn verify_certificate(
        &self,
        header: &Header,
        certificate: CommitCertificate,
    ) -> Result<VerifiedCertificate, ChainError> {
        let set = self.validators_at(header.number)?;
        certificate
            .into_verified(self.genesis.chain_id, header, &set, self.genesis.crypto)
            .map_err(|e| ChainError::Certificate { number: header.number, source: e })
    }

    /// Commits an executed block whose certificate was already verified (block sync checks it before executing).
    pub fn commit_verified(
        &self,
        executed: ExecutedBlock,
        certificate: VerifiedCertificate,
    ) -> Result<Header, ChainError> {
        let _guard = self.commit_lock.write();
        let head = self.head();
        let header = executed.block.header.clone();
        if header.parent_hash != head.hash() {
            return Err(ChainError::NotOnHead { number: header.number, parent: header.parent_hash, head: head.hash() });
        }
        let certificate = certificate.into_inner();
        if certificate.block_hash != header.hash() || certificate.height != header.number {
            return Err(ChainError::Certificate {
                number: header.number,
                source: accord_sdk::block::CertificateError::WrongBlock {
                    got: certificate.block_hash,
                    got_height: certificate.height,
                    expected: header.hash(),
                    expected_height: header.number,
                },
            });
        }
        let mut block = executed.block;
        block.certificate = Some(certificate);
        self.store.commit_block(&block, &executed.writes, false)?;
        *self.head.write() = header.clone();
        // Nobody listening is fine.
        let _ = self.heads.send(header.clone());
        Ok(header)
    }

    /// The head, held still together with the latest-state table until the value drops (commits wait): the only
    /// way `build_block` and `verify_block` get their parent, so execution never reads a head from before a commit
    /// with state from after it.
    pub fn parent_state(&self) -> ParentState<'_> {
        let guard = self.commit_lock.read();
        ParentState { header: self.head(), _guard: guard }
    }

    /// A committed block's header, transactions and receipts.
    pub fn block(&self, number: u64) -> Result<Option<StoredBlock>, ChainError> {
        if number > self.head().number {
            return Ok(None);
        }
        self.require_block(number)?;
        let Some(header) = self.store.header(number)? else { return Ok(None) };
        let txs = self.store.transactions(number)?.ok_or(ChainError::MissingBlock(number))?;
        let receipts = self.store.receipts(number)?.ok_or(ChainError::MissingBlock(number))?;
        Ok(Some(StoredBlock { header, transactions: txs, receipts }))
    }

    /// Flushes storage on clean shutdown.
    pub fn flush(&self) -> Result<(), ChainError> {
        Ok(self.store.flush()?)
    }
}

/// Refuses a genesis that names another contract engine than this build's, before anything is opened or executed.
pub fn check_engine(genesis: &Genesis) -> Result<(), ChainError> {
    let Some(named) = &genesis.vm else {
        tracing::warn!(
            "the genesis names no contract engine: identical execution on every member rests on running the same Accord release"
        );
        return Ok(());
    };
    let local = accord_vm::identity().map_err(|e| ChainError::Engine(e.to_string()))?;
    if named.fingerprint != local.fingerprint {
        return Err(ChainError::EngineMismatch {
            named: named.engine.clone(),
            named_fingerprint: named.fingerprint,
            local: local.engine,
            local_fingerprint: local.fingerprint,
        });
    }
    Ok(())
}

/// The contract limits a genesis fixes.
pub fn vm_config(genesis: &Genesis) -> accord_vm::VmConfig {
    accord_vm::VmConfig {
        max_memory_bytes: genesis.params.max_contract_memory_bytes,
        // Nested calls share one budget: four contracts' worth.
        max_tx_memory_bytes: genesis.params.max_contract_memory_bytes.saturating_mul(4),
        max_code_bytes: genesis.params.max_code_bytes as usize,
        max_call_depth: genesis.params.max_call_depth,
        ..Default::default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateView;
    use accord_sdk::U256;
    use accord_sdk::crypto::CryptoSuite;
    use accord_sdk::genesis::ChainParams;
    use accord_sdk::keys::KeyPair;
    use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
    use alloy_primitives::{Bytes as ABytes, TxKind};

    struct Fx {
        _dir: tempfile::TempDir,
        chain: Chain,
        validator: KeyPair,
        alice: KeyPair,
    }

    fn fx() -> Fx {
        fx_with(1_000_000)
    }

    fn fx_with(block_gas_limit: u64) -> Fx {
        let validator = KeyPair::generate();
        let alice = KeyPair::generate();
        let genesis = crate::test_genesis::genesis(
            &validator,
            &[(alice.address(), U256::from(1_000_000_000_000u64))],
            ChainParams { block_gas_limit, ..Default::default() },
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Chain::open(dir.path(), genesis).expect("opens");
        Fx { _dir: dir, chain, validator, alice }
    }

    fn transfer(k: &KeyPair, nonce: u64, to: Option<Address>, value: u64, price: u128) -> SignedTransaction {
        let tx = TxLegacy {
            chain_id: Some(5),
            nonce,
            gas_price: price,
            gas_limit: 60_000,
            to: to.map(TxKind::Call).unwrap_or(TxKind::Create),
            value: U256::from(value),
            input: ABytes::new(),
        };
        let sig = k.sign_prehash(&tx.signature_hash()).expect("sign");
        let env: TxEnvelope = tx.into_signed(sig).into();
        let limits = TxLimits { chain_id: 5, max_tx_bytes: 1 << 20, crypto: CryptoSuite::default() };
        SignedTransaction::from_envelope(env, &limits).expect("valid")
    }

    fn cert(k: &KeyPair, h: &Header) -> CommitCertificate {
        CommitCertificate::sign(k, h, 0).expect("sign")
    }

    #[test]
    fn build_skips_invalid_and_verify_reproduces_the_header() {
        let f = fx();
        let bob = Address::repeat_byte(0xb0);
        let txs = vec![
            transfer(&f.alice, 0, Some(bob), 10, 2),
            transfer(&f.alice, 5, Some(bob), 10, 0), // nonce gap: skipped
            transfer(&f.alice, 1, Some(Address::repeat_byte(0xc0)), 0, 0), // zero value to a fresh address
            transfer(&f.alice, 2, None, 0, 0),       // creation of no module: fails, consumes its gas
            transfer(&KeyPair::generate(), 0, Some(bob), 1, 0), // unfunded: skipped
        ];
        let built = f.chain.build_block(txs.clone(), 50, f.validator.address()).expect("builds");
        assert_eq!(built.block.transactions.len(), 3);
        assert_eq!(built.skipped.len(), 2);
        let receipts = &built.block.receipts;
        assert!(receipts[0].success && receipts[1].success && !receipts[2].success);
        assert_eq!(receipts[2].gas_used, 60_000, "a failed creation consumes its whole gas limit");
        assert_eq!(built.block.header.timestamp, 100, "never below the parent's timestamp");
        assert_eq!(built.block.header.gas_used, 21_000 + 21_000 + 60_000);

        // A replica re-executing the included transactions reaches the identical header.
        let header = built.block.header.clone();
        let included = built.block.transactions.clone();
        let verified = f.chain.verify_block(&header, included.clone()).expect("verifies");
        assert_eq!(verified.block.header, header);
        // Executing the same block twice gives byte-identical receipts and roots.
        let again = f.chain.verify_block(&header, included.clone()).expect("verifies");
        assert_eq!(again.block.receipts, verified.block.receipts);

        // Any tampering is caught.
        let mut forged = header.clone();
        forged.state_root = B256::repeat_byte(1);
        assert!(matches!(f.chain.verify_block(&forged, included.clone()), Err(ChainError::Mismatch { .. })));
        assert!(matches!(
            f.chain.verify_block(&header, vec![txs[1].clone()]),
            Err(ChainError::Execution(ExecutionError::InvalidTransaction { .. }))
        ));

        // A certificate without the validator's signature is refused.
        let unsigned = CommitCertificate { signatures: vec![], ..cert(&f.validator, &header) };
        let again2 = f.chain.verify_block(&header, included.clone()).expect("verifies");
        assert!(matches!(f.chain.commit(again2, unsigned), Err(ChainError::Certificate { .. })));
        f.chain.commit(verified, cert(&f.validator, &header)).expect("commits");
        let state = f.chain.state().latest();
        assert_eq!(state.account(bob).expect("bob").balance, U256::from(10u8));
        assert_eq!(state.account(f.validator.address()).expect("fees").balance, U256::from(42_000u64));
        let alice = state.account(f.alice.address()).expect("alice");
        assert_eq!(alice.nonce, 3);
        assert_eq!(alice.balance, U256::from(1_000_000_000_000u64 - 10 - 42_000));
        assert_eq!(f.chain.state().root(1).expect("root"), header.state_root);
        // Proofs at the head and at genesis.
        let p = f.chain.state().prove(&StateKey::Account(f.alice.address()), 1).expect("proof");
        assert_eq!(p.verify_account(&header.state_root, f.alice.address()).expect("verifies"), alice);
        let genesis_root = f.chain.store().header(0).expect("read").expect("genesis").state_root;
        let p0 = f.chain.state().prove(&StateKey::Account(bob), 0).expect("proof");
        assert_eq!(p0.verify_account(&genesis_root, bob).expect("absent").balance, U256::ZERO);
        // A block built on a stale parent is refused at commit.
        let stale = f.chain.build_block(vec![], 60, f.validator.address()).expect("builds");
        let other =
            f.chain.build_block(vec![transfer(&f.alice, 3, Some(bob), 1, 0)], 60, f.validator.address()).expect("b");
        let h = other.block.header.clone();
        // A verified certificate is a proof for its own header only.
        let next = f.chain.build_block(vec![], 61, f.validator.address()).expect("builds");
        let for_other = f.chain.verify_certificate(&h, cert(&f.validator, &h)).expect("valid for its block");
        assert!(matches!(f.chain.commit_verified(next, for_other.clone()), Err(ChainError::Certificate { .. })));
        f.chain.commit_verified(other, for_other).expect("commits");
        let sh = stale.block.header.clone();
        assert!(matches!(f.chain.commit(stale, cert(&f.validator, &sh)), Err(ChainError::NotOnHead { .. })));
    }

    #[test]
    fn a_commit_waits_while_a_block_executes_on_the_head() {
        // Execution reads the head and the latest-state table; a commit landing between the two made a validator
        // refuse a valid proposal. Commits now wait for running executions.
        let f = fx();
        let first = f.chain.build_block(vec![], 101, f.validator.address()).expect("builds");
        let header = first.block.header.clone();
        let certificate = cert(&f.validator, &header);
        let chain = &f.chain;
        std::thread::scope(|s| {
            let parent = chain.parent_state();
            assert_eq!(parent.header.number, 0);
            let committer = s.spawn(move || chain.commit(first, certificate));
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert_eq!(chain.head().number, 0, "the commit waits for the execution holding the parent state");
            drop(parent);
            committer.join().expect("joins").expect("commits");
        });
        assert_eq!(f.chain.head().number, 1);
    }

    #[test]
    fn block_gas_limit_bounds_a_block() {
        let f = fx_with(100_000);
        let txs: Vec<_> = (0..3).map(|n| transfer(&f.alice, n, Some(Address::repeat_byte(1)), 1, 0)).collect();
        // As in Ethereum, a transaction fits while gas used so far plus its gas limit stays within the block's:
        // 0 + 60,000 and 21,000 + 60,000 fit, 42,000 + 60,000 does not.
        let built = f.chain.build_block(txs, 1, f.validator.address()).expect("builds");
        assert_eq!(built.block.transactions.len(), 2);
        assert!(built.skipped.iter().all(|(_, r)| *r == TxRejection::BlockGasExhausted));
    }

    #[test]
    fn reopening_with_another_genesis_is_refused() {
        let f = fx();
        let path = f._dir.path().to_path_buf();
        let mut other = f.chain.genesis().clone();
        other.chain_id = 6;
        drop(f.chain);
        assert!(matches!(Chain::open(&path, other), Err(ChainError::GenesisMismatch { .. })));
    }

    #[test]
    fn reopening_with_the_same_genesis_takes_the_stored_block_without_rebuilding_it() {
        let f = fx();
        let path = f._dir.path().to_path_buf();
        let genesis = f.chain.genesis().clone();
        let hash = f.chain.genesis_hash();
        let store = f.chain.store().clone();
        let document = keccak256(serde_json::to_vec(&genesis).expect("serialises"));
        assert_eq!(store.genesis_document().expect("meta"), Some(document), "recorded on first start");
        drop(f.chain);
        drop(store);
        assert_eq!(Chain::open(&path, genesis.clone()).expect("reopens").genesis_hash(), hash);

        // Any other digest (a database written before digests were recorded, or an edited document) means: build,
        // compare, and record the digest when the blocks agree; refuse when they do not.
        let chain = Chain::open(&path, genesis.clone()).expect("reopens");
        chain.store().set_genesis_document(B256::repeat_byte(7)).expect("writes");
        drop(chain);
        let reopened = Chain::open(&path, genesis.clone()).expect("rebuilt and compared");
        assert_eq!(reopened.genesis_hash(), hash);
        assert_eq!(reopened.store().genesis_document().expect("meta"), Some(document), "recorded again");
        drop(reopened);
        let mut other = genesis;
        other.timestamp += 1;
        assert!(matches!(Chain::open(&path, other), Err(ChainError::GenesisMismatch { .. })));
    }
}
