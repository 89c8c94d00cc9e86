//! Deterministic block execution: transactions in, receipts and a state change set out.
//!
//! The executor reads state only through [`StateView`] and gets time, proposer and limits from [`BlockEnv`]; it
//! never reads a clock, randomness or hash-map order, so every validator computes byte-identical results.
//! Every transaction's call (or creation) runs through the contract VM, which also moves the value; a call to an
//! account without code is a plain transfer (DESIGN.md §5, `docs/contract-abi.md`).

use std::collections::BTreeMap;

use accord_sdk::account::StateKey;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256, U256};
use accord_vm::{BlockInfo, CallParams, DeployParams, Outcome, Vm, VmConfig, VmError};

use std::sync::Arc;

use crate::governance::store::{GovernedStateError, view_reader};
use crate::governance::{BlockRules, Refusal};
use crate::state::{SharedView, StateError, StateOverlay, StateView};

/// Block-level inputs to execution, fixed by the proposer and carried in the header, and the chain's rules at the
/// block's height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEnv {
    /// Height of the block.
    pub number: u64,
    /// Header timestamp (seconds).
    pub timestamp: u64,
    /// Proposer, which receives fees.
    pub proposer: Address,
    /// Base fee per gas.
    pub base_fee: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Parameters, policies and governors in force at this height.
    pub rules: Arc<BlockRules>,
    /// Writes to system accounts' storage made before the block's transactions (an emergency transition):
    /// `(account, slot, word)`.
    pub system_writes: Vec<(Address, B256, B256)>,
}

/// Why a transaction cannot be included in a block at this point of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxRejection {
    /// The sender's next nonce differs.
    #[error("nonce mismatch: account nonce is {expected}, transaction has {got}")]
    Nonce {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Balance below value + gas limit × price.
    #[error("insufficient funds for gas * price + value: have {have} want {want}")]
    InsufficientFunds {
        /// Balance.
        have: U256,
        /// Needed.
        want: U256,
    },
    /// The block has no room for the transaction's gas limit.
    #[error("block gas limit reached")]
    BlockGasExhausted,
    /// The transaction's gas limit alone exceeds the block gas limit.
    #[error("exceeds block gas limit")]
    ExceedsBlockGasLimit,
    /// Max fee per gas below the block's base fee.
    #[error("max fee per gas less than block base fee")]
    FeeCapTooLow,
    /// The block holds `maxBlockTransactions` already.
    #[error("block holds the most transactions allowed (maxBlockTransactions {0})")]
    BlockFull(u64),
    /// Larger than the chain's `maxTxBytes` at this height.
    #[error("transaction of {size} bytes exceeds maxTxBytes {limit}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit in force.
        limit: u64,
    },
    /// Governance does not permit it (frozen or abolished account, send or deploy policy, frozen callee).
    #[error(transparent)]
    NotPermitted(#[from] Refusal),
}

/// Why a block could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// Governed state could not be read.
    #[error("governed state: {0}")]
    Governed(#[from] GovernedStateError),
    /// The block's compatibility version is above what this binary supports.
    #[error(
        "block {number} runs compatibility version {version}, but this binary supports up to {supported}: upgrade the node (docs/governance.md, \"Upgrades\")"
    )]
    UnsupportedVersion {
        /// Block height.
        number: u64,
        /// The chain's version at that height.
        version: u64,
        /// This binary's highest.
        supported: u64,
    },
    /// The contract VM could not run (its engine or the state under it failed): the block cannot be executed.
    #[error("contract execution: {0}")]
    Vm(#[from] VmError),
    /// A transaction of a block being verified is not valid at its position.
    #[error("transaction {index} ({hash}) is invalid in this block: {reason}")]
    InvalidTransaction {
        /// Position in the block.
        index: usize,
        /// Hash.
        hash: B256,
        /// Why.
        reason: TxRejection,
    },
}

/// What to do with a transaction that is not valid at its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTxPolicy {
    /// Building a block: leave it out and carry on.
    Skip,
    /// Verifying a proposed or stored block: the whole block is invalid.
    Reject,
}

/// The result of executing a list of transactions.
#[derive(Debug, Default)]
pub struct ExecutionOutcome {
    /// Transactions that were included, in order.
    pub transactions: Vec<SignedTransaction>,
    /// One receipt per included transaction.
    pub receipts: Vec<Receipt>,
    /// State changes, in key order.
    pub changes: BTreeMap<StateKey, Option<Vec<u8>>>,
    /// Total gas used.
    pub gas_used: u64,
    /// Transactions left out (only with [`InvalidTxPolicy::Skip`]) and why.
    pub skipped: Vec<(B256, TxRejection)>,
}

/// A call or creation evaluated without a transaction (`eth_call`, `eth_estimateGas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// Caller (and origin).
    pub from: Address,
    /// Callee; `None` deploys `input` (an envelope plus constructor arguments).
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Calldata or creation data.
    pub input: Vec<u8>,
    /// Gas available to execution (after intrinsic gas).
    pub gas: u64,
}

/// Executes blocks of transactions against state.
#[derive(Debug, Clone)]
pub struct BlockExecutor {
    vm: Vm<StateOverlay>,
    /// A governed chain: deployers become their contracts' admins.
    governed: bool,
}

impl BlockExecutor {
    /// An executor whose contracts run under `config`'s limits, with the system contracts at their addresses when
    /// given (a governed chain).
    pub fn new(
        config: VmConfig,
        system_contracts: Option<crate::governance::SystemContracts>,
    ) -> Result<Self, VmError> {
        let vm = if let Some(system) = system_contracts {
            Vm::with_natives(config, Arc::new(system))?
        } else {
            Vm::new(config)?
        };
        Ok(Self { vm, governed: system_contracts.is_some() })
    }

    /// The contract runtime (for module checks).
    pub fn vm(&self) -> &Vm<StateOverlay> {
        &self.vm
    }

    /// Runs a call or creation on top of `state` and throws the changes away.
    pub fn simulate(&self, state: SharedView, env: &BlockEnv, sim: Simulation) -> Result<Outcome, ExecutionError> {
        let overlay = StateOverlay::new(state);
        let block = BlockInfo {
            number: env.number,
            timestamp: env.timestamp,
            max_memory_bytes: env.rules.config.max_contract_memory_bytes,
        };
        let (_, outcome) = match sim.to {
            Some(to) => self.vm.call(
                overlay,
                block,
                CallParams {
                    caller: sim.from,
                    origin: sim.from,
                    address: to,
                    value: sim.value,
                    input: sim.input,
                    gas_limit: sim.gas,
                },
            )?,
            None => {
                let nonce = overlay.account(sim.from)?.nonce;
                self.vm.deploy(
                    overlay,
                    block,
                    DeployParams {
                        caller: sim.from,
                        origin: sim.from,
                        address: sim.from.create(nonce),
                        value: sim.value,
                        data: sim.input,
                        gas_limit: sim.gas,
                    },
                )?
            }
        };
        Ok(outcome)
    }

    /// Executes `txs` in order on top of `state`.
    pub fn execute(
        &self,
        state: SharedView,
        env: &BlockEnv,
        txs: Vec<SignedTransaction>,
        policy: InvalidTxPolicy,
    ) -> Result<ExecutionOutcome, ExecutionError> {
        if env.rules.config.version > crate::governance::SUPPORTED_VERSION {
            return Err(ExecutionError::UnsupportedVersion {
                number: env.number,
                version: env.rules.config.version,
                supported: crate::governance::SUPPORTED_VERSION,
            });
        }
        let mut overlay = StateOverlay::new(state);
        for (address, slot, word) in &env.system_writes {
            accord_vm::Host::storage_write(&mut overlay, *address, *slot, *word)
                .map_err(|e| ExecutionError::Vm(VmError::Engine(e.0)))?;
        }
        let mut out = ExecutionOutcome::default();
        for (index, tx) in txs.into_iter().enumerate() {
            match Self::check(&overlay, env, &tx, out.gas_used, out.transactions.len())? {
                Ok(()) => {}
                Err(reason) => match policy {
                    InvalidTxPolicy::Skip => {
                        out.skipped.push((tx.hash(), reason));
                        continue;
                    }
                    InvalidTxPolicy::Reject => {
                        return Err(ExecutionError::InvalidTransaction { index, hash: tx.hash(), reason });
                    }
                },
            }
            let (next, receipt) = self.apply(overlay, env, &tx, out.gas_used)?;
            overlay = next;
            out.gas_used = receipt.cumulative_gas_used;
            out.receipts.push(receipt);
            out.transactions.push(tx);
        }
        out.changes = overlay.into_changes()?;
        Ok(out)
    }

    fn check(
        state: &StateOverlay,
        env: &BlockEnv,
        tx: &SignedTransaction,
        gas_used: u64,
        included: usize,
    ) -> Result<Result<(), TxRejection>, ExecutionError> {
        let config = &env.rules.config;
        if included as u64 >= config.max_block_transactions {
            return Ok(Err(TxRejection::BlockFull(config.max_block_transactions)));
        }
        if tx.encoded_len() as u64 > config.max_tx_bytes {
            return Ok(Err(TxRejection::TooLarge { size: tx.encoded_len(), limit: config.max_tx_bytes }));
        }
        if tx.gas_limit() > env.gas_limit {
            return Ok(Err(TxRejection::ExceedsBlockGasLimit));
        }
        if gas_used.saturating_add(tx.gas_limit()) > env.gas_limit {
            return Ok(Err(TxRejection::BlockGasExhausted));
        }
        if tx.max_fee_per_gas() < u128::from(env.base_fee) {
            return Ok(Err(TxRejection::FeeCapTooLow));
        }
        // One permission rule for pool and block: a refused transaction is left out like a nonce mismatch.
        if let Some(refusal) =
            env.rules.refusal(&mut view_reader(state), tx.sender(), tx.to(), tx.input(), env.number)?
        {
            return Ok(Err(TxRejection::NotPermitted(refusal)));
        }
        let sender = state.account(tx.sender())?;
        if sender.nonce != tx.nonce() {
            return Ok(Err(TxRejection::Nonce { expected: sender.nonce, got: tx.nonce() }));
        }
        let want = U256::from(tx.gas_limit())
            .saturating_mul(U256::from(tx.effective_gas_price(env.base_fee)))
            .saturating_add(tx.value());
        if sender.balance < want {
            return Ok(Err(TxRejection::InsufficientFunds { have: sender.balance, want }));
        }
        Ok(Ok(()))
    }

    /// Runs one checked transaction: buys its gas, bumps the nonce, runs the call or creation in the VM (which
    /// undoes its own effects unless it succeeds), refunds unused gas and pays the proposer.
    fn apply(
        &self,
        mut state: StateOverlay,
        env: &BlockEnv,
        tx: &SignedTransaction,
        gas_before: u64,
    ) -> Result<(StateOverlay, Receipt), ExecutionError> {
        let price = U256::from(tx.effective_gas_price(env.base_fee));
        let from = tx.sender();
        let max_fee = U256::from(tx.gas_limit()).saturating_mul(price);
        let mut sender = state.account(from)?;
        let nonce = sender.nonce;
        sender.nonce += 1;
        sender.balance = sender.balance.saturating_sub(max_fee);
        state.set_account(from, &sender);

        let block = BlockInfo {
            number: env.number,
            timestamp: env.timestamp,
            max_memory_bytes: env.rules.config.max_contract_memory_bytes,
        };
        let exec_gas = tx.gas_limit().saturating_sub(tx.intrinsic_gas());
        let (mut state, outcome) = match tx.to() {
            Some(to) => self.vm.call(
                state,
                block,
                CallParams {
                    caller: from,
                    origin: from,
                    address: to,
                    value: tx.value(),
                    input: tx.input().to_vec(),
                    gas_limit: exec_gas,
                },
            )?,
            None => self.vm.deploy(
                state,
                block,
                DeployParams {
                    caller: from,
                    origin: from,
                    address: from.create(nonce),
                    value: tx.value(),
                    data: tx.input().to_vec(),
                    gas_limit: exec_gas,
                },
            )?,
        };
        if let accord_vm::Status::Failure(reason) = &outcome.status {
            tracing::debug!(tx = %tx.hash(), %reason, "transaction failed");
        }
        if self.governed
            && let Some(contract) = outcome.created
        {
            // The deployer is the new contract's admin (`docs/governance.md`, "Contract admin").
            let admin = accord_sdk::governance::AdminRecord { since: env.number, before: Address::ZERO, now: from };
            let (word, _) = admin.to_words();
            let slot = accord_sdk::governance::admin_slot(contract);
            accord_vm::Host::storage_write(&mut state, accord_sdk::governance::CONTRACT_ADMIN_ADDRESS, slot, word)
                .map_err(|e| ExecutionError::Vm(VmError::Engine(e.0)))?;
        }
        let gas_used = tx.intrinsic_gas().saturating_add(outcome.gas_used).min(tx.gas_limit());
        let fee = U256::from(gas_used).saturating_mul(price);
        let mut sender = state.account(from)?;
        sender.balance = sender.balance.saturating_add(max_fee - fee);
        state.set_account(from, &sender);
        if fee > U256::ZERO {
            let mut proposer = state.account(env.proposer)?;
            proposer.balance = proposer.balance.saturating_add(fee);
            state.set_account(env.proposer, &proposer);
        }
        let receipt = Receipt {
            tx_type: tx.envelope().tx_type() as u8,
            success: outcome.is_success(),
            gas_used,
            cumulative_gas_used: gas_before + gas_used,
            effective_gas_price: tx.effective_gas_price(env.base_fee),
            logs: outcome.logs,
            contract_address: outcome.created,
        };
        Ok((state, receipt))
    }
}
