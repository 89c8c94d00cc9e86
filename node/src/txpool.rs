//! `TxPool`: the node's handle on its transaction pool, shared by the RPC (submissions), gossip (other members'
//! transactions), block production (what to propose) and block import (pruning after a commit).
//!
//! It owns the stateless checks, the single signature recovery per transaction (a resubmitted or gossiped hash
//! already pooled is answered before any recovery), the check against the committed account under the pool lock,
//! and the hand-off of client transactions to gossip.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use accord_sdk::tx::{SignedTransaction, TxError};
use accord_sdk::{Address, B256, keccak256};
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use crate::chain::Chain;
use crate::mempool::{Mempool, MempoolError, SenderState};
use crate::metrics::Metrics;
use crate::state::{StateError, StateView};

/// Why a submitted transaction was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Failed a stateless check.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// Refused by the pool.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// State could not be read.
    #[error("internal error: {0}")]
    State(#[from] StateError),
    /// Governed state or the chain's rules could not be read.
    #[error("internal error: {0}")]
    Rules(String),
    /// Governance does not permit the sender this transaction.
    #[error(transparent)]
    NotPermitted(#[from] crate::governance::Refusal),
}

impl SubmitError {
    /// Short label of the rejection: the `reason` label of the metric and the `data.reason` of the RPC error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Tx(TxError::Malformed(_)) => "malformed",
            Self::Tx(TxError::Oversized { .. }) => "oversized",
            Self::Tx(TxError::UnsupportedType(_)) => "unsupported_type",
            Self::Tx(TxError::MissingChainId { .. } | TxError::WrongChainId { .. }) => "chain_id",
            Self::Tx(TxError::Signature(_)) => "signature",
            Self::Tx(TxError::IntrinsicGas { .. } | TxError::TipAboveFeeCap) => "gas",
            Self::Mempool(MempoolError::AlreadyKnown) => "already_known",
            Self::Mempool(MempoolError::NonceTooLow { .. }) => "nonce_too_low",
            Self::Mempool(MempoolError::NonceTooHigh { .. }) => "nonce_too_high",
            Self::Mempool(MempoolError::ReplacementUnderpriced(_)) => "replacement",
            Self::Mempool(MempoolError::InsufficientFunds { .. }) => "insufficient_funds",
            Self::Mempool(MempoolError::SenderFull(_) | MempoolError::PoolFull { .. }) => "pool_full",
            Self::Mempool(MempoolError::ExceedsBlockGasLimit { .. } | MempoolError::FeeTooLow { .. }) => "gas",
            Self::NotPermitted(_) => "not_permitted",
            Self::State(_) | Self::Rules(_) => "internal",
        }
    }
}

/// Milliseconds since the Unix epoch: the pool's clock for expiring queued transactions (never used by consensus
/// or execution).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The transaction pool as the node's tasks use it.
#[derive(Debug)]
pub struct TxPool {
    chain: Arc<Chain>,
    pool: Mutex<Mempool>,
    arrived: Notify,
    gossip: Option<mpsc::Sender<Vec<u8>>>,
    metrics: Metrics,
}

impl TxPool {
    /// A pool over `chain`; client transactions go to `gossip` (none on a lone node).
    pub fn new(chain: Arc<Chain>, pool: Mempool, gossip: Option<mpsc::Sender<Vec<u8>>>, metrics: Metrics) -> Self {
        Self { chain, pool: Mutex::new(pool), arrived: Notify::new(), gossip, metrics }
    }

    /// Verifies and pools a raw transaction from a client, and gossips it to the other members; returns its hash.
    pub fn submit_raw(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let result = self.submit_inner(raw);
        match &result {
            Err(e) => self.metrics.txs_rejected.with_label_values(&[e.reason()]).inc(),
            Ok(_) => {
                if let Some(g) = &self.gossip
                    && g.try_send(raw.to_vec()).is_err()
                {
                    // Pooled here all the same: it is proposed when this node leads, or re-sent by the client.
                    tracing::debug!("gossip queue full; transaction kept locally only");
                }
            }
        }
        result
    }

    /// Pools a transaction another member gossiped. Not forwarded again: every member is connected to every other,
    /// and the member that accepted it from the client sent it to all of them.
    pub fn submit_gossiped(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        self.submit_inner(raw)
    }

    /// Pools a batch another member gossiped, recovering the senders of the ones not yet pooled on all cores at
    /// once; returns how many were pooled.
    pub fn submit_gossiped_batch<R: AsRef<[u8]> + Sync>(&self, raws: &[R]) -> usize {
        let limits = self.chain.tx_limits();
        // Already pooled (the same transaction gossiped by two members, or sent to us by the client too) and
        // oversized ones cost no recovery.
        let unseen: Vec<&[u8]> = {
            let pool = self.pool.lock();
            raws.iter()
                .map(AsRef::as_ref)
                .filter(|r| r.len() <= limits.max_tx_bytes && !pool.contains(&keccak256(r)))
                .collect()
        };
        SignedTransaction::decode_many(&unseen, &limits)
            .into_iter()
            .map(|decoded| match decoded {
                Ok(tx) => self.admit(tx).is_ok(),
                Err(e) => {
                    tracing::trace!(error = %e, "gossiped transaction refused");
                    false
                }
            })
            .filter(|pooled| *pooled)
            .count()
    }

    fn submit_inner(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let limits = self.chain.tx_limits();
        if raw.len() > limits.max_tx_bytes {
            return Err(TxError::Oversized { size: raw.len(), limit: limits.max_tx_bytes }.into());
        }
        // A resubmission is answered from the pool without paying for signature recovery again.
        if self.pool.lock().contains(&keccak256(raw)) {
            return Err(MempoolError::AlreadyKnown.into());
        }
        let tx = SignedTransaction::decode(raw, &limits)?;
        self.admit(tx)
    }

    /// The checks that need state (governance's permissions, the sender's committed account), then the pool.
    fn admit(&self, tx: SignedTransaction) -> Result<B256, SubmitError> {
        let hash = tx.hash();
        // Governance's permission rule, against the rules of the next block (execution checks it again there).
        let rules = self.chain.next_rules().map_err(|e| SubmitError::Rules(e.to_string()))?;
        let next = self.chain.head().number + 1;
        let latest = self.chain.state().latest();
        let mut read = crate::governance::store::view_reader(&latest);
        if let Some(refusal) = rules
            .refusal(&mut read, tx.sender(), tx.to(), tx.input(), next)
            .map_err(|e| SubmitError::Rules(e.to_string()))?
        {
            return Err(refusal.into());
        }
        {
            // Read the committed account under the pool lock: commits prune under the same lock, so a transaction
            // made stale by a commit can never slip in behind the prune.
            let mut pool = self.pool.lock();
            pool.set_block_gas_limit(rules.config.block_gas_limit);
            let account = self.chain.state().latest().account(tx.sender())?;
            pool.insert(tx, SenderState { nonce: account.nonce, balance: account.balance }, now_ms())?;
            self.metrics.mempool_size.set(pool.len() as i64);
        }
        self.arrived.notify_one();
        Ok(hash)
    }

    /// Nonce for the sender's next transaction counting pooled ones.
    pub fn pending_nonce(&self, address: Address) -> Result<u64, StateError> {
        let committed = self.chain.state().latest().account(address)?.nonce;
        Ok(self.pool.lock().pending_nonce(address, committed))
    }

    /// A pooled transaction (with its recovered sender).
    pub fn get(&self, hash: &B256) -> Option<Arc<SignedTransaction>> {
        self.pool.lock().get(hash)
    }

    /// Pooled transactions.
    pub fn len(&self) -> usize {
        self.pool.lock().len()
    }

    /// True when nothing is pooled.
    pub fn is_empty(&self) -> bool {
        self.pool.lock().is_empty()
    }

    /// True when some pooled transaction could run in the next block (not only ones waiting behind a gap).
    pub fn has_runnable(&self) -> bool {
        let pool = self.pool.lock();
        pool.len() > pool.queued()
    }

    /// Waits until a transaction arrives or `timeout` passes.
    pub async fn wait_for_arrival(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.arrived.notified()).await;
    }

    /// Runs `f` on the pool under its lock (block building and pruning).
    pub fn with<R>(&self, f: impl FnOnce(&mut Mempool) -> R) -> R {
        let mut pool = self.pool.lock();
        let r = f(&mut pool);
        self.metrics.mempool_size.set(pool.len() as i64);
        r
    }

    /// Drops queued transactions past their lifetime.
    pub fn expire(&self) -> usize {
        let n = self.with(|p| p.expire(now_ms()));
        if n > 0 {
            tracing::debug!(expired = n, "dropped transactions that waited too long behind a nonce gap");
        }
        n
    }

    /// Expires queued transactions every few seconds, until aborted.
    pub async fn run_expiry(self: Arc<Self>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            self.expire();
        }
    }
}
