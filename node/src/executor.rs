//! Deterministic block execution: transactions in, receipts and a state change set out.
//!
//! The executor reads state only through [`StateView`] and gets time, proposer and limits from [`BlockEnv`]; it
//! never reads a clock, randomness or hash-map order, so every validator computes byte-identical results.
//! Native value transfers run here; contract code runs in the VM once it is wired in (DESIGN.md §5).

use std::collections::BTreeMap;

use accord_sdk::account::StateKey;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256, U256};

use crate::state::{StateError, StateOverlay, StateView};

/// Block-level inputs to execution, fixed by the proposer and carried in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// Why a block could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
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

/// Executes blocks of transactions against state.
#[derive(Debug, Clone, Default)]
pub struct BlockExecutor;

impl BlockExecutor {
    /// Executes `txs` in order on top of `state`.
    pub fn execute<V: StateView + ?Sized>(
        &self,
        state: &V,
        env: &BlockEnv,
        txs: Vec<SignedTransaction>,
        policy: InvalidTxPolicy,
    ) -> Result<ExecutionOutcome, ExecutionError> {
        let mut overlay = StateOverlay::new(state);
        let mut out = ExecutionOutcome::default();
        for (index, tx) in txs.into_iter().enumerate() {
            match Self::check(&overlay, env, &tx, out.gas_used)? {
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
            let receipt = Self::apply(&mut overlay, env, &tx, out.gas_used)?;
            out.gas_used = receipt.cumulative_gas_used;
            out.receipts.push(receipt);
            out.transactions.push(tx);
        }
        out.changes = overlay.into_changes()?;
        Ok(out)
    }

    fn check<V: StateView + ?Sized>(
        state: &StateOverlay<'_, V>,
        env: &BlockEnv,
        tx: &SignedTransaction,
        gas_used: u64,
    ) -> Result<Result<(), TxRejection>, StateError> {
        if tx.gas_limit() > env.gas_limit {
            return Ok(Err(TxRejection::ExceedsBlockGasLimit));
        }
        if gas_used.saturating_add(tx.gas_limit()) > env.gas_limit {
            return Ok(Err(TxRejection::BlockGasExhausted));
        }
        if tx.max_fee_per_gas() < u128::from(env.base_fee) {
            return Ok(Err(TxRejection::FeeCapTooLow));
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

    fn apply<V: StateView + ?Sized>(
        state: &mut StateOverlay<'_, V>,
        env: &BlockEnv,
        tx: &SignedTransaction,
        gas_before: u64,
    ) -> Result<Receipt, StateError> {
        let price = tx.effective_gas_price(env.base_fee);
        let gas_used = tx.intrinsic_gas();
        let fee = U256::from(gas_used).saturating_mul(U256::from(price));

        // Nonce and fee are charged whatever happens next.
        let mut sender = state.account(tx.sender())?;
        sender.nonce += 1;
        sender.balance -= fee;
        state.set_account(tx.sender(), &sender);
        if fee > U256::ZERO {
            let mut proposer = state.account(env.proposer)?;
            proposer.balance = proposer.balance.saturating_add(fee);
            state.set_account(env.proposer, &proposer);
        }

        let success = match tx.to() {
            // No contract runtime yet: creation fails deterministically, charging only intrinsic gas.
            None => false,
            Some(to) => {
                let cp = state.checkpoint();
                let mut from = state.account(tx.sender())?;
                if from.balance < tx.value() {
                    state.revert_to(cp);
                    false
                } else {
                    from.balance -= tx.value();
                    state.set_account(tx.sender(), &from);
                    let mut dest = state.account(to)?;
                    dest.balance = dest.balance.saturating_add(tx.value());
                    state.set_account(to, &dest);
                    true
                }
            }
        };
        Ok(Receipt {
            tx_type: tx.envelope().tx_type() as u8,
            success,
            gas_used,
            cumulative_gas_used: gas_before + gas_used,
            effective_gas_price: price,
            logs: Vec::new(),
            contract_address: None,
        })
    }
}
