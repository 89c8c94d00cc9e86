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

/// Shortest time between two re-gossips of the ready transactions ([`TxPool::regossip_ready`]).
pub const REGOSSIP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The transaction pool as the node's tasks use it.
#[derive(Debug)]
pub struct TxPool {
    chain: Arc<Chain>,
    pool: Mutex<Mempool>,
    arrived: Notify,
    gossip: Option<mpsc::Sender<Vec<u8>>>,
    metrics: Metrics,
    last_regossip: Mutex<Option<std::time::Instant>>,
    arrivals: tokio::sync::broadcast::Sender<B256>,
}

/// Pooled-transaction hashes kept for slow readers of [`TxPool::subscribe_arrivals`]; older ones are dropped.
const ARRIVALS_KEPT: usize = 4_096;

impl TxPool {
    /// A pool over `chain`; client transactions go to `gossip` (none on a lone node).
    pub fn new(chain: Arc<Chain>, pool: Mempool, gossip: Option<mpsc::Sender<Vec<u8>>>, metrics: Metrics) -> Self {
        Self {
            chain,
            pool: Mutex::new(pool),
            arrived: Notify::new(),
            gossip,
            metrics,
            last_regossip: Mutex::new(None),
            arrivals: tokio::sync::broadcast::channel(ARRIVALS_KEPT).0,
        }
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

    /// Pools a batch another member gossiped, recovering the senders of the ones not yet pooled on all cores at
    /// once; returns how many were pooled. Not forwarded again: every member is connected to every other, and the
    /// member that accepted them from the client sent them to all of them.
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
        // No receiver is the common case: nothing to do then.
        let _ = self.arrivals.send(hash);
        Ok(hash)
    }

    /// Hashes of transactions pooled from now on (pending-transaction filters and subscriptions). A reader that
    /// falls more than 4,096 behind loses the oldest.
    pub fn subscribe_arrivals(&self) -> tokio::sync::broadcast::Receiver<B256> {
        self.arrivals.subscribe()
    }

    /// Sends up to `limit` of the transactions that could run in the next block to the other members again;
    /// returns how many. At most once per [`REGOSSIP_EVERY`].
    ///
    /// Gossip is best effort: a busy member drops a batch rather than queue without bound. A transaction only this
    /// node holds is then proposed only when this node leads, and leaders rotate per committed height, which never
    /// comes while every leader's pool is empty: the transaction would wait forever. A replica that sees the
    /// leader idle (its heartbeat) while holding runnable work calls this, so the leader gets the work.
    pub fn regossip_ready(&self, limit: usize) -> usize {
        let Some(gossip) = &self.gossip else { return 0 };
        {
            let mut last = self.last_regossip.lock();
            if last.is_some_and(|t| t.elapsed() < REGOSSIP_EVERY) {
                return 0;
            }
            *last = Some(std::time::Instant::now());
        }
        let ready = self.ready(&self.chain.state().latest(), limit, u64::MAX, usize::MAX);
        let mut sent = 0;
        for tx in ready {
            if gossip.try_send(tx.encoded().to_vec()).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    }

    /// The transactions that could run in the block after `state` ([`Mempool::ready`] with each sender's nonce
    /// in `state`; an unreadable account keeps its sender's transactions out).
    pub fn ready(
        &self,
        state: &impl StateView,
        max_txs: usize,
        max_gas: u64,
        max_bytes: usize,
    ) -> Vec<SignedTransaction> {
        let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(u64::MAX);
        self.with(|p| p.ready(nonce_of, max_txs, max_gas, max_bytes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::MempoolLimits;
    use accord_sdk::U256;
    use accord_sdk::genesis::ChainParams;
    use accord_sdk::keys::KeyPair;
    use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
    use alloy_primitives::TxKind;

    fn pool_with_gossip() -> (tempfile::TempDir, TxPool, mpsc::Receiver<Vec<u8>>, KeyPair) {
        let (validator, alice) = (KeyPair::generate(), KeyPair::generate());
        let genesis = crate::test_genesis::genesis(
            &validator,
            &[(alice.address(), U256::from(10u64).pow(U256::from(24u8)))],
            ChainParams::default(),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Arc::new(Chain::open(dir.path(), genesis).expect("opens"));
        let (tx, rx) = mpsc::channel(1_000);
        let metrics = Metrics::new().expect("metrics");
        let pool = TxPool::new(chain, Mempool::new(MempoolLimits::default(), 300_000_000, 0), Some(tx), metrics);
        (dir, pool, rx, alice)
    }

    fn transfer(k: &KeyPair, chain_id: u64, nonce: u64) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id: Some(chain_id),
            nonce,
            gas_price: 0,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(0xee)),
            value: U256::from(1u8),
            input: Default::default(),
        };
        let sig = k.sign_prehash(&tx.signature_hash()).expect("sign");
        alloy_eips::eip2718::Encodable2718::encoded_2718(&TxEnvelope::from(tx.into_signed(sig)))
    }

    #[test]
    fn a_gossiped_batch_pools_the_valid_unseen_ones_and_runnable_work_is_regossiped_at_most_once_a_second() {
        let (_dir, pool, mut gossip, alice) = pool_with_gossip();
        let chain_id = pool.chain.genesis().chain_id;
        let txs: Vec<Vec<u8>> = (0..20).map(|n| transfer(&alice, chain_id, n)).collect();
        let mut batch = txs.clone();
        batch.push(vec![0xc0]); // malformed
        batch.push(transfer(&alice, chain_id + 1, 20)); // another chain
        batch.push(txs[3].clone()); // a duplicate within the batch
        assert_eq!(pool.submit_gossiped_batch(&batch), 20);
        assert_eq!(pool.len(), 20);
        assert_eq!(pool.submit_gossiped_batch(&txs), 0, "already pooled");
        // Gossiped transactions are not forwarded again on arrival...
        assert!(gossip.try_recv().is_err());
        // ...but sent again when the leader shows it lacks them, in nonce order, and not again within a second.
        assert_eq!(pool.regossip_ready(1_000), 20);
        let resent: Vec<Vec<u8>> = std::iter::from_fn(|| gossip.try_recv().ok()).collect();
        assert_eq!(resent, txs);
        assert_eq!(pool.regossip_ready(1_000), 0);
        assert!(gossip.try_recv().is_err());
    }
}
