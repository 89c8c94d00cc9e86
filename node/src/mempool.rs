//! The pool of valid, not yet committed transactions.
//!
//! A transaction enters once: its signature is checked on entry and the recovered sender is kept with it, so
//! nothing verifies the same transaction twice (a resubmission is answered from the hash index). Per-sender queues
//! are ordered by nonce; a block takes, in arrival order, each sender's transactions that continue its nonce
//! sequence without gaps.
//!
//! Nothing stays for ever and no sender can lock others out:
//! - a transaction waiting behind a nonce gap ("queued") expires after `queued_lifetime_secs`;
//! - a full pool makes room for a newcomer by evicting, in this order: the highest-nonce queued transaction of the
//!   sender with the most queued transactions, then the highest-nonce transaction of the sender with the most
//!   transactions, but only from a sender that would still hold more than the newcomer's sender (per-sender
//!   fairness: a sender never evicts its own transactions, and a flood from one key ends up evicting only itself).
//!   Evicting a sender's highest nonce never opens a gap in what it has left.
//! - a refusal names the limit that was hit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256, U256};

/// Bounds of the pool, from the node's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes of transactions held.
    pub max_bytes: usize,
    /// Most transactions held per sender.
    pub max_per_sender: usize,
    /// How far ahead of the account nonce a transaction's nonce may be.
    pub max_nonce_gap: u64,
    /// Most transactions held that wait on a nonce gap (cannot run until an earlier nonce arrives).
    pub max_queued: usize,
    /// Seconds a transaction may wait behind a nonce gap before it is dropped.
    pub queued_lifetime_secs: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_bytes: 64 * 1024 * 1024,
            max_per_sender: 1_024,
            max_nonce_gap: 64,
            max_queued: 5_000,
            queued_lifetime_secs: 600,
        }
    }
}

/// Why the pool refused a transaction. The messages follow geth's wording, which client libraries match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// Same hash already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// Below the account nonce.
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Too far ahead of the account nonce.
    #[error("nonce too high: next nonce {expected}, tx nonce {got}, at most {max_gap} ahead accepted")]
    NonceTooHigh {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
        /// Allowed gap.
        max_gap: u64,
    },
    /// Another transaction with this nonce is pooled and this one does not pay enough more to replace it.
    #[error(
        "replacement transaction underpriced: nonce {0} is already pending; a replacement must raise the fee by at least 10%"
    )]
    ReplacementUnderpriced(u64),
    /// Balance below what the sender's pooled transactions plus this one can cost.
    #[error(
        "insufficient funds for gas * price + value: balance {have}, pending transactions and this one cost up to {want}"
    )]
    InsufficientFunds {
        /// Balance.
        have: U256,
        /// Needed.
        want: U256,
    },
    /// Sender has too many pooled transactions.
    #[error("txpool is full for this sender ({0} pending)")]
    SenderFull(usize),
    /// Pool is full and no other sender holds more than this one: nothing may be evicted for it.
    #[error("txpool is full: {limit} reached, and no other sender holds more transactions than this sender")]
    PoolFull {
        /// The configured limit hit.
        limit: PoolLimit,
    },
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit: gas limit {gas} > block gas limit {limit}")]
    ExceedsBlockGasLimit {
        /// Transaction gas limit.
        gas: u64,
        /// Block gas limit.
        limit: u64,
    },
    /// Max fee below base fee.
    #[error("max fee per gas less than block base fee: {fee} < {base}")]
    FeeTooLow {
        /// Max fee per gas.
        fee: u128,
        /// Base fee.
        base: u64,
    },
}

/// Bytes a transaction adds to an encoded block beyond its own encoding (its RLP string header), counted when a
/// block is filled up to the chain's byte limit.
pub const BLOCK_ENTRY_OVERHEAD: usize = 9;

/// A pool-wide limit, named as in `config.toml` so a refusal tells the operator which key to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolLimit {
    /// `mempool.max_txs`.
    #[error("mempool.max_txs")]
    Transactions,
    /// `mempool.max_bytes`.
    #[error("mempool.max_bytes")]
    Bytes,
    /// `mempool.max_queued`.
    #[error("mempool.max_queued")]
    Queued,
}

/// What the pool needs to know about the sender's committed account.
#[derive(Debug, Clone, Copy)]
pub struct SenderState {
    /// Committed nonce.
    pub nonce: u64,
    /// Committed balance.
    pub balance: U256,
}

#[derive(Debug, Clone)]
struct Pooled {
    /// Arrival order.
    seq: u64,
    /// Arrival time (milliseconds on the caller's clock), for expiry.
    added_ms: u64,
    tx: Arc<SignedTransaction>,
}

#[derive(Debug, Default)]
struct SenderQueue {
    txs: BTreeMap<u64, Pooled>,
    /// How many of `txs` wait behind a nonce gap, as last counted: always the highest nonces.
    queued: usize,
    /// The committed nonce as last seen.
    committed: u64,
}

/// The transaction pool.
#[derive(Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    block_gas_limit: u64,
    base_fee: u64,
    senders: HashMap<Address, SenderQueue>,
    by_hash: HashMap<B256, Arc<SignedTransaction>>,
    bytes: usize,
    next_seq: u64,
    queued: usize,
}

impl Mempool {
    /// An empty pool.
    pub fn new(limits: MempoolLimits, block_gas_limit: u64, base_fee: u64) -> Self {
        Self {
            limits,
            block_gas_limit,
            base_fee,
            senders: HashMap::new(),
            by_hash: HashMap::new(),
            bytes: 0,
            next_seq: 0,
            queued: 0,
        }
    }

    /// Follows a change of the chain's block gas limit (governance): transactions above it are refused from now.
    pub fn set_block_gas_limit(&mut self, gas: u64) {
        self.block_gas_limit = gas;
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// True when the hash is pooled (checked before paying for signature recovery).
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// A pooled transaction.
    pub fn get(&self, hash: &B256) -> Option<Arc<SignedTransaction>> {
        self.by_hash.get(hash).cloned()
    }

    /// Checks and adds a verified transaction, given the sender's committed account, at `now_ms` on the caller's
    /// clock (used only to expire queued transactions).
    pub fn insert(&mut self, tx: SignedTransaction, sender: SenderState, now_ms: u64) -> Result<(), MempoolError> {
        if self.by_hash.contains_key(&tx.hash()) {
            return Err(MempoolError::AlreadyKnown);
        }
        if tx.gas_limit() > self.block_gas_limit {
            return Err(MempoolError::ExceedsBlockGasLimit { gas: tx.gas_limit(), limit: self.block_gas_limit });
        }
        if tx.max_fee_per_gas() < u128::from(self.base_fee) {
            return Err(MempoolError::FeeTooLow { fee: tx.max_fee_per_gas(), base: self.base_fee });
        }
        let nonce = tx.nonce();
        if nonce < sender.nonce {
            return Err(MempoolError::NonceTooLow { expected: sender.nonce, got: nonce });
        }
        if nonce > sender.nonce.saturating_add(self.limits.max_nonce_gap) {
            return Err(MempoolError::NonceTooHigh {
                expected: sender.nonce,
                got: nonce,
                max_gap: self.limits.max_nonce_gap,
            });
        }
        let queue = self.senders.get(&tx.sender());
        let replacing = queue.and_then(|q| q.txs.get(&nonce)).map(|p| p.tx.clone());
        if let Some(old) = &replacing {
            let old_price = old.max_fee_per_gas();
            let new_price = tx.max_fee_per_gas();
            if new_price <= old_price || new_price < old_price.saturating_mul(11) / 10 {
                return Err(MempoolError::ReplacementUnderpriced(nonce));
            }
        }
        // Everything this sender has pooled (except a replaced transaction) plus this one must be affordable.
        let pending_cost = queue
            .map(|q| {
                q.txs
                    .iter()
                    .filter(|(n, _)| **n != nonce)
                    .fold(U256::ZERO, |acc, (_, p)| acc.saturating_add(p.tx.max_cost()))
            })
            .unwrap_or_default();
        let want = pending_cost.saturating_add(tx.max_cost());
        if sender.balance < want {
            return Err(MempoolError::InsufficientFunds { have: sender.balance, want });
        }
        let count = queue.map(|q| q.txs.len()).unwrap_or(0);
        if replacing.is_none() && count >= self.limits.max_per_sender {
            return Err(MempoolError::SenderFull(count));
        }
        // A transaction that cannot run until a gap fills is bounded separately, so throwaway keys cannot fill the
        // pool with transactions that never leave it.
        let gapped = nonce > sender.nonce && !self.continues(&tx.sender(), sender.nonce, nonce);
        let freed = replacing.as_ref().map(|o| o.encoded_len()).unwrap_or(0);
        let victims =
            self.make_room(tx.sender(), replacing.is_none(), gapped, tx.encoded_len().saturating_sub(freed))?;
        for (addr, n) in victims {
            self.evict(addr, n);
        }
        if replacing.is_some() {
            self.take(&tx.sender(), nonce);
        }
        let tx = Arc::new(tx);
        self.bytes += tx.encoded_len();
        self.by_hash.insert(tx.hash(), tx.clone());
        let seq = self.next_seq;
        self.next_seq += 1;
        let addr = tx.sender();
        self.senders.entry(addr).or_default().txs.insert(nonce, Pooled { seq, added_ms: now_ms, tx });
        self.recount(&addr, sender.nonce);
        Ok(())
    }

    /// Chooses what to evict so a newcomer from `sender` fits (adding one transaction unless it replaces one,
    /// `extra_bytes` more bytes, one more queued transaction when `gapped`), following the order in the module
    /// documentation. Nothing is changed; an error names the limit that cannot be met fairly.
    fn make_room(
        &self,
        sender: Address,
        adds: bool,
        gapped: bool,
        extra_bytes: usize,
    ) -> Result<Vec<(Address, u64)>, MempoolError> {
        let mine = self.senders.get(&sender).map(|q| q.txs.len()).unwrap_or(0) + usize::from(adds);
        let mine_queued = self.senders.get(&sender).map(|q| q.queued).unwrap_or(0) + usize::from(gapped);
        // Per candidate sender: how many of its highest nonces are already chosen.
        let mut taken: HashMap<Address, usize> = HashMap::new();
        let mut victims = Vec::new();
        let (mut count, mut bytes, mut queued) = (self.by_hash.len(), self.bytes, self.queued);
        loop {
            let limit = if gapped && queued + 1 > self.limits.max_queued {
                PoolLimit::Queued
            } else if adds && count + 1 > self.limits.max_txs {
                PoolLimit::Transactions
            } else if bytes + extra_bytes > self.limits.max_bytes {
                PoolLimit::Bytes
            } else {
                return Ok(victims);
            };
            let remaining = |a: &Address, q: &SenderQueue| q.txs.len() - taken.get(a).copied().unwrap_or(0);
            let remaining_queued =
                |a: &Address, q: &SenderQueue| q.queued.saturating_sub(taken.get(a).copied().unwrap_or(0));
            let others = self.senders.iter().filter(|(a, _)| **a != sender);
            // Queued transactions go first: they are the least useful. Ties go to the lowest address, so every
            // node evicts the same transaction.
            let most_queued = others
                .clone()
                .filter(|(a, q)| remaining_queued(a, q) > 0)
                .max_by(|(a1, q1), (a2, q2)| remaining_queued(a1, q1).cmp(&remaining_queued(a2, q2)).then(a2.cmp(a1)));
            let choice = match most_queued {
                // A runnable newcomer may always displace a queued transaction; a queued one only a larger queue.
                Some((a, q)) if !gapped || remaining_queued(a, q) > mine_queued => Some(*a),
                _ if limit == PoolLimit::Queued => None,
                _ => others
                    .max_by(|(a1, q1), (a2, q2)| remaining(a1, q1).cmp(&remaining(a2, q2)).then(a2.cmp(a1)))
                    .filter(|(a, q)| remaining(a, q) > mine)
                    .map(|(a, _)| *a),
            };
            let Some(addr) = choice else { return Err(MempoolError::PoolFull { limit }) };
            let q = &self.senders[&addr];
            let k = taken.entry(addr).or_insert(0);
            let Some((nonce, p)) = q.txs.iter().rev().nth(*k) else { return Err(MempoolError::PoolFull { limit }) };
            if *k < q.queued {
                queued -= 1;
            }
            *k += 1;
            count -= 1;
            bytes -= p.tx.encoded_len();
            victims.push((addr, *nonce));
        }
    }

    /// Removes `sender`'s transaction at `nonce` (its highest, so no gap opens in what is left).
    fn evict(&mut self, sender: Address, nonce: u64) {
        if self.take(&sender, nonce) {
            tracing::debug!(%sender, nonce, "evicted from a full pool");
            self.settle(&sender, None);
        }
    }

    /// Takes `sender`'s transaction at `nonce` out of the queue, the hash index and the byte count; the caller
    /// settles the sender afterwards. Every removal goes through here.
    fn take(&mut self, sender: &Address, nonce: u64) -> bool {
        let Some(p) = self.senders.get_mut(sender).and_then(|q| q.txs.remove(&nonce)) else { return false };
        self.bytes -= p.tx.encoded_len();
        self.by_hash.remove(&p.tx.hash());
        true
    }

    /// After removals: recounts the sender's queued transactions against `committed` (or the committed nonce last
    /// seen) and forgets the sender if nothing is left.
    fn settle(&mut self, sender: &Address, committed: Option<u64>) {
        let Some(committed) = committed.or_else(|| self.senders.get(sender).map(|q| q.committed)) else { return };
        self.recount(sender, committed);
        self.drop_if_empty(sender);
    }

    /// Drops transactions that have waited behind a nonce gap for longer than `queued_lifetime_secs`; returns how
    /// many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let lifetime = self.limits.queued_lifetime_secs.saturating_mul(1000);
        let mut expired: Vec<(Address, u64)> = Vec::new();
        for (addr, q) in &self.senders {
            // The queued transactions are the sender's highest nonces.
            for (nonce, p) in q.txs.iter().rev().take(q.queued) {
                if now_ms.saturating_sub(p.added_ms) >= lifetime {
                    expired.push((*addr, *nonce));
                }
            }
        }
        for (addr, nonce) in &expired {
            self.take(addr, *nonce);
        }
        let touched: std::collections::BTreeSet<Address> = expired.iter().map(|(a, _)| *a).collect();
        for addr in touched {
            self.settle(&addr, None);
        }
        expired.len()
    }

    /// Recounts one sender's gapped transactions against its committed nonce and updates the pool total.
    fn recount(&mut self, sender: &Address, committed: u64) {
        let run = self.pending_nonce(*sender, committed).saturating_sub(committed) as usize;
        let Some(q) = self.senders.get_mut(sender) else { return };
        q.committed = committed;
        let now = q.txs.range(committed..).count().saturating_sub(run);
        self.queued = self.queued.saturating_sub(q.queued) + now;
        q.queued = now;
    }

    /// True when `nonce` directly continues the sender's gap-free run from `committed`.
    fn continues(&self, sender: &Address, committed: u64, nonce: u64) -> bool {
        self.pending_nonce(*sender, committed) == nonce
    }

    /// Transactions waiting behind a nonce gap.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The nonce the sender's next transaction should use: the committed nonce advanced past every pooled
    /// transaction that continues it without a gap (`eth_getTransactionCount(…, "pending")`).
    pub fn pending_nonce(&self, sender: Address, committed_nonce: u64) -> u64 {
        let mut next = committed_nonce;
        if let Some(q) = self.senders.get(&sender) {
            while q.txs.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Transactions ready for the next block, in arrival order, each sender's in nonce order without gaps,
    /// within `max_txs`, `max_gas` and `max_bytes` (counting each transaction's encoding plus its list overhead).
    pub fn ready(
        &self,
        committed_nonce: impl Fn(Address) -> u64,
        max_txs: usize,
        max_gas: u64,
        max_bytes: usize,
    ) -> Vec<SignedTransaction> {
        // Collect each sender's gap-free run, then merge the runs by arrival sequence.
        let mut candidates: Vec<(u64, &Arc<SignedTransaction>)> = Vec::new();
        let mut senders: Vec<&Address> = self.senders.keys().collect();
        senders.sort();
        for addr in senders {
            let q = &self.senders[addr];
            let mut next = committed_nonce(*addr);
            // Keep nonce order inside a sender even when a later nonce arrived first.
            let mut seq_floor = 0;
            while let Some(p) = q.txs.get(&next) {
                seq_floor = seq_floor.max(p.seq);
                candidates.push((seq_floor, &p.tx));
                next += 1;
            }
        }
        candidates.sort_by_key(|(seq, tx)| (*seq, tx.sender(), tx.nonce()));
        let mut out = Vec::new();
        let (mut gas, mut bytes) = (0u64, 0usize);
        for (_, tx) in candidates {
            if out.len() >= max_txs {
                break;
            }
            let size = tx.encoded_len() + BLOCK_ENTRY_OVERHEAD;
            if gas + tx.gas_limit() > max_gas || bytes + size > max_bytes {
                continue;
            }
            gas += tx.gas_limit();
            bytes += size;
            out.push((**tx).clone());
        }
        // A sender's run may have been cut by the gas bound; drop anything after a gap that creates.
        let mut expected: HashMap<Address, u64> = HashMap::new();
        out.retain(|tx| {
            let e = expected.entry(tx.sender()).or_insert_with(|| committed_nonce(tx.sender()));
            if tx.nonce() == *e {
                *e += 1;
                true
            } else {
                false
            }
        });
        out
    }

    /// Drops every transaction made stale by a commit: committed ones and any whose nonce is now too low.
    pub fn prune(&mut self, committed_nonce: impl Fn(Address) -> u64, touched: impl IntoIterator<Item = Address>) {
        for addr in touched {
            let nonce = committed_nonce(addr);
            let Some(q) = self.senders.get(&addr) else { continue };
            let stale: Vec<u64> = q.txs.range(..nonce).map(|(n, _)| *n).collect();
            for n in stale {
                self.take(&addr, n);
            }
            // Committing may have closed a gap: recount this sender's queued transactions.
            self.settle(&addr, Some(nonce));
        }
    }

    fn drop_if_empty(&mut self, sender: &Address) {
        if let Some(q) = self.senders.get(sender)
            && q.txs.is_empty()
        {
            self.queued = self.queued.saturating_sub(q.queued);
            self.senders.remove(sender);
        }
    }

    /// Removes one transaction found permanently invalid while building a block; `committed_nonce` is its
    /// sender's committed nonce (later transactions of the sender may now wait behind a gap).
    pub fn remove(&mut self, hash: &B256, committed_nonce: u64) {
        let Some((sender, nonce)) = self.by_hash.get(hash).map(|t| (t.sender(), t.nonce())) else { return };
        self.take(&sender, nonce);
        self.settle(&sender, Some(committed_nonce));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::crypto::CryptoSuite;
    use accord_sdk::keys::KeyPair;
    use accord_sdk::tx::TxLimits;
    use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
    use alloy_primitives::{Bytes, Signature, TxKind};

    fn tx(key: &KeyPair, nonce: u64, price: u128) -> SignedTransaction {
        let t = TxLegacy {
            chain_id: Some(9),
            nonce,
            gas_price: price,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(1u8),
            input: Bytes::new(),
        };
        let sig: Signature = key.sign_prehash(&t.signature_hash()).expect("signs");
        let env: TxEnvelope = t.into_signed(sig).into();
        SignedTransaction::from_envelope(
            env,
            &TxLimits { chain_id: 9, max_tx_bytes: 1 << 20, crypto: CryptoSuite::default() },
        )
        .expect("valid")
    }

    fn rich(nonce: u64) -> SenderState {
        SenderState { nonce, balance: U256::from(10u64).pow(U256::from(24u8)) }
    }

    #[test]
    fn nonce_rules_and_pending_nonce() {
        let k = KeyPair::generate();
        let mut p = Mempool::new(MempoolLimits { max_nonce_gap: 4, ..Default::default() }, 1_000_000, 0);
        assert_eq!(p.insert(tx(&k, 1, 0), rich(2), 0), Err(MempoolError::NonceTooLow { expected: 2, got: 1 }));
        assert!(matches!(p.insert(tx(&k, 7, 0), rich(2), 0), Err(MempoolError::NonceTooHigh { .. })));
        p.insert(tx(&k, 2, 0), rich(2), 0).expect("ok");
        p.insert(tx(&k, 4, 0), rich(2), 0).expect("gapped ok");
        assert_eq!(p.insert(tx(&k, 2, 0), rich(2), 0), Err(MempoolError::AlreadyKnown));
        assert_eq!(p.insert(tx(&k, 2, 1), rich(2), 0).err(), None, "raising 0 -> 1 is a replacement");
        assert_eq!(p.insert(tx(&k, 2, 1), rich(2), 0), Err(MempoolError::AlreadyKnown));
        assert_eq!(p.pending_nonce(k.address(), 2), 3);
        let ready = p.ready(|_| 2, 100, u64::MAX, usize::MAX);
        assert_eq!(ready.iter().map(|t| t.nonce()).collect::<Vec<_>>(), vec![2]);
        p.insert(tx(&k, 3, 0), rich(2), 0).expect("fills gap");
        assert_eq!(p.ready(|_| 2, 100, u64::MAX, usize::MAX).len(), 3);
        p.prune(|_| 4, [k.address()]);
        assert_eq!(p.len(), 1);
        assert_eq!(p.pending_nonce(k.address(), 4), 5);
    }

    #[test]
    fn gapped_transactions_are_bounded_and_counted() {
        let mut p = Mempool::new(MempoolLimits { max_queued: 3, ..Default::default() }, 1_000_000, 0);
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        p.insert(tx(&a, 2, 0), rich(0), 0).expect("gapped 1");
        p.insert(tx(&a, 3, 0), rich(0), 0).expect("gapped 2");
        p.insert(tx(&b, 5, 0), rich(0), 0).expect("gapped 3");
        assert_eq!(p.queued(), 3);
        assert_eq!(p.insert(tx(&b, 6, 0), rich(0), 0), Err(MempoolError::PoolFull { limit: PoolLimit::Queued }));
        p.insert(tx(&b, 0, 0), rich(0), 0).expect("a runnable transaction still enters");
        // Filling a's gap makes its queued transactions runnable.
        // Nonce 0 of a got committed elsewhere and 1 arrives: a's 1,2,3 continue its committed nonce.
        p.insert(tx(&a, 1, 0), rich(1), 0).expect("fills the gap");
        assert_eq!(p.queued(), 1);
        p.prune(|_| 1, [a.address()]);
        assert_eq!(p.queued(), 1, "a's run 1,2,3 continues its committed nonce; only b's 5 waits");
        let h = tx(&a, 1, 0).hash();
        p.remove(&h, 1);
        assert_eq!(p.queued(), 3, "removing nonce 1 puts 2 and 3 behind a gap again");
        p.prune(|_| 10, [a.address(), b.address()]);
        assert_eq!((p.len(), p.queued()), (0, 0));
    }

    #[test]
    fn balance_and_limits() {
        let k = KeyPair::generate();
        let mut p = Mempool::new(MempoolLimits { max_per_sender: 2, ..Default::default() }, 1_000_000, 0);
        let poor = SenderState { nonce: 0, balance: U256::from(1u8) };
        p.insert(tx(&k, 0, 0), poor, 0).expect("1 wei covers value 1 at price 0");
        assert!(matches!(p.insert(tx(&k, 1, 0), poor, 0), Err(MempoolError::InsufficientFunds { .. })));
        p.insert(tx(&k, 1, 0), rich(0), 0).expect("ok");
        assert_eq!(p.insert(tx(&k, 2, 0), rich(0), 0), Err(MempoolError::SenderFull(2)));
        let mut small = Mempool::new(MempoolLimits::default(), 20_000, 0);
        assert!(matches!(small.insert(tx(&k, 0, 0), rich(0), 0), Err(MempoolError::ExceedsBlockGasLimit { .. })));
    }

    #[test]
    fn queued_transactions_expire() {
        let limits = MempoolLimits { queued_lifetime_secs: 60, ..Default::default() };
        let mut p = Mempool::new(limits, 1_000_000, 0);
        let k = KeyPair::generate();
        p.insert(tx(&k, 0, 0), rich(0), 0).expect("runnable");
        p.insert(tx(&k, 2, 0), rich(0), 1_000).expect("gapped");
        p.insert(tx(&k, 3, 0), rich(0), 30_000).expect("gapped");
        assert_eq!(p.expire(61_000), 1, "only the gapped one a minute old");
        assert_eq!((p.len(), p.queued()), (2, 1));
        assert_eq!(p.expire(10_000_000), 1);
        assert_eq!((p.len(), p.queued()), (1, 0), "a runnable transaction never expires");
    }

    #[test]
    fn a_full_pool_evicts_fairly_and_names_the_limit() {
        let limits = MempoolLimits { max_txs: 6, max_queued: 4, ..Default::default() };
        let mut p = Mempool::new(limits, 1_000_000, 0);
        let (flooder, b, c) = (KeyPair::generate(), KeyPair::generate(), KeyPair::generate());
        for n in 0..5 {
            p.insert(tx(&flooder, n, 0), rich(0), 0).expect("fills");
        }
        p.insert(tx(&b, 0, 0), rich(0), 0).expect("fills");
        // Full. A newcomer with fewer transactions evicts the flooder's highest nonce, never b's.
        p.insert(tx(&c, 0, 0), rich(0), 0).expect("evicts the flooder's last transaction");
        assert_eq!(p.len(), 6);
        assert!(!p.contains(&tx(&flooder, 4, 0).hash()) && p.contains(&tx(&b, 0, 0).hash()));
        assert_eq!(p.pending_nonce(flooder.address(), 0), 4, "what the flooder has left runs without a gap");
        // The flooder cannot evict anyone: nobody holds more than it.
        assert_eq!(
            p.insert(tx(&flooder, 4, 0), rich(0), 0),
            Err(MempoolError::PoolFull { limit: PoolLimit::Transactions })
        );
        // Queued transactions go before runnable ones, whoever holds them.
        let q = KeyPair::generate();
        p.prune(|_| 0, [flooder.address()]);
        let mut p2 = Mempool::new(limits, 1_000_000, 0);
        for n in 0..3 {
            p2.insert(tx(&b, n, 0), rich(0), 0).expect("runnable");
        }
        p2.insert(tx(&q, 5, 0), rich(0), 0).expect("queued");
        p2.insert(tx(&q, 6, 0), rich(0), 0).expect("queued");
        p2.insert(tx(&c, 0, 0), rich(0), 0).expect("runnable");
        p2.insert(tx(&flooder, 0, 0), rich(0), 0).expect("runnable, evicts q's highest queued nonce");
        assert!(!p2.contains(&tx(&q, 6, 0).hash()) && p2.contains(&tx(&q, 5, 0).hash()));
        assert_eq!(p2.queued(), 1);
        let err = MempoolError::PoolFull { limit: PoolLimit::Transactions }.to_string();
        assert!(err.starts_with("txpool is full") && err.contains("mempool.max_txs"), "{err}");
    }

    #[test]
    fn blocks_are_filled_up_to_a_byte_budget() {
        let mut p = Mempool::new(MempoolLimits::default(), 1_000_000, 0);
        let k = KeyPair::generate();
        for n in 0..10 {
            p.insert(tx(&k, n, 0), rich(0), 0).expect("ok");
        }
        let one = tx(&k, 0, 0).encoded_len() + BLOCK_ENTRY_OVERHEAD;
        assert_eq!(p.ready(|_| 0, 100, u64::MAX, 3 * one + one / 2).len(), 3);
    }
}
