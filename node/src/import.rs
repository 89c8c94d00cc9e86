//! `BlockImporter`: the one path by which blocks enter the chain.
//!
//! Proposals from the PBFT leader, blocks from block sync and the blocks a lone validator builds all go through
//! here, in one order, cheapest check first: the byte bound (before decoding), decoding, the header's identity, the
//! transaction-count bound (before any signature recovery), sender recovery (reusing what the pool already
//! recovered, so a validator recovers each transaction once), re-execution to the exact header claimed, the commit
//! certificate, and the durable commit followed by pool pruning.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use accord_sdk::block::{CommitCertificate, Header, VerifiedCertificate, decode_block, encode_block};
use accord_sdk::tx::{SignedTransaction, TX_BASE_GAS, TxError};
use accord_sdk::{Address, B256, Bytes, keccak256};

use crate::chain::{Chain, ChainError, ExecutedBlock};
use crate::executor::TxRejection;
use crate::metrics::Metrics;
use crate::state::StateView;
use crate::txpool::TxPool;

/// Seconds since the Unix epoch from the wall clock: the timestamp a proposer puts in its block, and the bound a
/// validator checks a proposal's timestamp against. Execution never reads it; it takes the time from the header.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Why a block was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Above the chain's `maxBlockBytes`, refused before decoding.
    #[error("block of {size} bytes exceeds maxBlockBytes {limit}")]
    TooLarge {
        /// Received size.
        size: usize,
        /// The chain's limit.
        limit: usize,
    },
    /// The bytes are not a block.
    #[error("block bytes do not decode: {0}")]
    Decode(#[from] alloy_rlp::Error),
    /// Not the height block sync asked for.
    #[error("peer sent block {got}, expected {expected}")]
    WrongHeight {
        /// Received.
        got: u64,
        /// Expected.
        expected: u64,
    },
    /// The certificate sent with a synced block is not a certificate.
    #[error("certificate bytes do not decode: {0}")]
    CertificateDecode(alloy_rlp::Error),
    /// Not the block that was announced (hash or height).
    #[error("block {got_height} ({got}) is not the announced block {expected_height} ({expected})")]
    WrongBlock {
        /// Hash of the received header.
        got: B256,
        /// Its height.
        got_height: u64,
        /// Announced hash.
        expected: B256,
        /// Announced height.
        expected_height: u64,
    },
    /// More transactions than the block gas limit allows, refused before any signature recovery.
    #[error("{count} transactions exceed the {most} a block's gas limit allows")]
    TooManyTransactions {
        /// Transactions in the block.
        count: usize,
        /// Most allowed.
        most: u64,
    },
    /// The proposer's clock runs too far ahead of ours.
    #[error("timestamp {timestamp} is more than {max_future}s ahead of our clock {now}")]
    FromTheFuture {
        /// Header timestamp.
        timestamp: u64,
        /// Our clock.
        now: u64,
        /// The chain's bound.
        max_future: u64,
    },
    /// A transaction in it does not decode or verify.
    #[error("block {number}: transaction {index}: {source}")]
    Transaction {
        /// Block height.
        number: u64,
        /// Position.
        index: usize,
        /// Why.
        source: TxError,
    },
    /// We hold a different certified block at that height: a safety violation somewhere, never papered over.
    #[error("certified block {theirs} at height {number} differs from ours {ours}")]
    Conflict {
        /// Height.
        number: u64,
        /// Ours.
        ours: B256,
        /// Theirs.
        theirs: B256,
    },
    /// Execution, certificate or storage refused it.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// How a committed block's certificate is held.
#[derive(Debug)]
pub enum Certified {
    /// Not yet checked: the chain verifies it.
    Unchecked(CommitCertificate),
    /// Already checked (block sync verifies before executing).
    Verified(VerifiedCertificate),
}

impl From<CommitCertificate> for Certified {
    fn from(c: CommitCertificate) -> Self {
        Self::Unchecked(c)
    }
}

impl From<VerifiedCertificate> for Certified {
    fn from(v: VerifiedCertificate) -> Self {
        Self::Verified(v)
    }
}

/// Builds, checks, executes and commits blocks.
#[derive(Debug)]
pub struct BlockImporter {
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    metrics: Metrics,
}

impl BlockImporter {
    /// Over `chain`, pruning `pool` after each commit.
    pub fn new(chain: Arc<Chain>, pool: Arc<TxPool>, metrics: Metrics) -> Self {
        Self { chain, pool, metrics }
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The pool.
    pub fn pool(&self) -> &Arc<TxPool> {
        &self.pool
    }

    /// Byte bound, then decoding, then the transaction-count bound: everything before signature recovery.
    pub fn decode(&self, bytes: &[u8]) -> Result<(Header, Vec<Bytes>), ImportError> {
        let limit = self.chain.genesis().params.max_block_bytes;
        if bytes.len() > limit {
            return Err(ImportError::TooLarge { size: bytes.len(), limit });
        }
        let (header, raw) = decode_block(bytes)?;
        // Before any state is read: the most any block can hold (governance moves the real limit, execution checks
        // it at the block's height).
        let params = &self.chain.genesis().params;
        let most = if self.chain.genesis().committee.is_some() {
            *accord_sdk::governance::Param::MaxBlockTransactions.range().end()
        } else {
            params.block_transactions_bound(false).min(params.block_gas_limit / TX_BASE_GAS)
        };
        if raw.len() as u64 > most {
            return Err(ImportError::TooManyTransactions { count: raw.len(), most });
        }
        Ok((header, raw))
    }

    /// The transactions with their senders: taken from the pool when it already recovered them, recovered here
    /// otherwise.
    pub fn recover(&self, number: u64, raw: &[Bytes]) -> Result<Vec<SignedTransaction>, ImportError> {
        use rayon::prelude::*;
        let limits = self.chain.tx_limits();
        // One pool lock for the whole block, not one per transaction.
        let pooled: Vec<_> = self
            .pool
            .with(|p| raw.iter().map(|r| p.get(&keccak256(r)).filter(|pooled| pooled.encoded() == r)).collect());
        // The ones the pool has not seen are recovered on all cores.
        raw.par_iter()
            .zip(pooled)
            .enumerate()
            .map(|(index, (r, pooled))| match pooled {
                Some(pooled) => Ok((*pooled).clone()),
                None => SignedTransaction::decode(r, &limits).map_err(|source| ImportError::Transaction {
                    number,
                    index,
                    source,
                }),
            })
            .collect()
    }

    /// Checks a leader's proposal for `height` with id `block` and executes it on the head to the exact header it
    /// claims: the validator may vote for it when this succeeds.
    pub fn import_proposal(&self, bytes: &[u8], height: u64, block: B256) -> Result<ExecutedBlock, ImportError> {
        let (header, raw) = self.decode(bytes)?;
        if header.hash() != block || header.number != height {
            return Err(ImportError::WrongBlock {
                got: header.hash(),
                got_height: header.number,
                expected: block,
                expected_height: height,
            });
        }
        let now = now_secs();
        let max_future = self.chain.genesis().params.max_future_block_seconds;
        if header.timestamp > now.saturating_add(max_future) {
            return Err(ImportError::FromTheFuture { timestamp: header.timestamp, now, max_future });
        }
        let txs = self.recover(header.number, &raw)?;
        Ok(self.chain.verify_block(&header, txs)?)
    }

    /// Checks, executes and commits a block block sync received for `expected` height, with its certificate
    /// checked first (it needs only the header), so a peer can waste our time but never make us commit a block a
    /// quorum did not certify.
    pub fn import_synced(&self, bytes: &[u8], certificate: &[u8], expected: u64) -> Result<Header, ImportError> {
        let (header, raw) = self.decode(bytes)?;
        if header.number != expected {
            return Err(ImportError::WrongHeight { got: header.number, expected });
        }
        if let Some(ours) = self.committed_hash(expected)? {
            // Consensus committed it meanwhile: it must be the same block.
            return if ours == header.hash() {
                Ok(header)
            } else {
                Err(ImportError::Conflict { number: expected, ours, theirs: header.hash() })
            };
        }
        let certificate = <CommitCertificate as alloy_rlp::Decodable>::decode(&mut &certificate[..])
            .map_err(ImportError::CertificateDecode)?;
        let certificate = self.chain.verify_certificate(&header, certificate)?;
        let txs = self.recover(header.number, &raw)?;
        let executed = self.chain.verify_block(&header, txs)?;
        match self.commit(executed, certificate, "sync") {
            Ok(h) => Ok(h),
            // Lost a race with consensus committing the same height: fine if it is the same block.
            Err(ChainError::NotOnHead { .. }) => match self.committed_hash(expected)? {
                Some(ours) if ours == header.hash() => Ok(header),
                Some(ours) => Err(ImportError::Conflict { number: expected, ours, theirs: header.hash() }),
                None => Err(ImportError::Chain(ChainError::NotOnHead {
                    number: expected,
                    parent: header.parent_hash,
                    head: self.chain.head().hash(),
                })),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The hash of the committed block at `number`, if the chain has one.
    pub fn committed_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        if number > self.chain.head().number {
            return Ok(None);
        }
        Ok(self.chain.store().header(number)?.map(|h| h.hash()))
    }

    /// Builds and executes a block on the head from the pool's runnable transactions (possibly none), within the
    /// chain's gas and byte limits, dropping from the pool what can never run.
    pub fn build(&self, proposer: Address, timestamp: u64, max_block_txs: usize) -> Result<ExecutedBlock, ChainError> {
        let chain = &self.chain;
        let params = &chain.genesis().params;
        let rules = chain.next_rules()?;
        let state = chain.state().latest();
        let byte_budget = params.max_block_bytes.saturating_sub(accord_sdk::genesis::BLOCK_HEADER_ALLOWANCE);
        let most = max_block_txs.min(usize::try_from(rules.config.max_block_transactions).unwrap_or(usize::MAX));
        let gas = rules.config.block_gas_limit;
        let candidates = self.pool.ready(&state, most, gas, byte_budget);
        let executed = chain.build_block(candidates, timestamp, proposer)?;
        self.pool.with(|pool| {
            for (hash, reason) in &executed.skipped {
                // Drop only what can never run; a transaction that merely did not fit (or waits on an earlier one)
                // stays for the next block.
                let permanent = match reason {
                    TxRejection::Nonce { expected, got } => got < expected,
                    TxRejection::BlockGasExhausted | TxRejection::BlockFull(_) => false,
                    TxRejection::InsufficientFunds { .. }
                    | TxRejection::ExceedsBlockGasLimit
                    | TxRejection::FeeCapTooLow
                    | TxRejection::TooLarge { .. }
                    | TxRejection::NotPermitted(_) => true,
                };
                if permanent && let Some(tx) = pool.get(hash) {
                    tracing::debug!(%hash, %reason, "dropping transaction that can no longer run");
                    pool.remove(hash, state.account(tx.sender()).map(|a| a.nonce).unwrap_or(0));
                }
            }
        });
        Ok(executed)
    }

    /// The wire bytes of an executed block (what a leader proposes).
    pub fn encode(executed: &ExecutedBlock) -> Vec<u8> {
        encode_block(&executed.block.header, executed.block.transactions.iter().map(|t| t.encoded().as_ref()))
    }

    /// Commits an executed block with its certificate (verified here unless it already was), then prunes the pool
    /// and updates metrics.
    pub fn commit(
        &self,
        executed: ExecutedBlock,
        certificate: impl Into<Certified>,
        source: &'static str,
    ) -> Result<Header, ChainError> {
        let started = Instant::now();
        let senders: Vec<Address> = executed.block.transactions.iter().map(|t| t.sender()).collect();
        let n_txs = senders.len();
        let governance: Vec<&'static str> =
            executed.block.receipts.iter().flat_map(|r| crate::governance::events(&r.logs)).collect();
        let header = match certificate.into() {
            Certified::Unchecked(c) => self.chain.commit(executed, c)?,
            Certified::Verified(v) => self.chain.commit_verified(executed, v)?,
        };
        let state = self.chain.state().latest();
        let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(0);
        self.pool.with(|pool| pool.prune(nonce_of, senders));
        self.metrics.block_commit_seconds.observe(started.elapsed().as_secs_f64());
        self.metrics.height.set(header.number as i64);
        self.metrics.txs_committed.inc_by(n_txs as u64);
        self.metrics.gas_used.inc_by(header.gas_used);
        for event in governance {
            self.metrics.proposals.with_label_values(&[event]).inc();
        }
        if source == "sync" {
            tracing::debug!(number = header.number, txs = n_txs, hash = %header.hash(), "synced block");
        } else {
            tracing::info!(number = header.number, txs = n_txs, hash = %header.hash(), source, "committed block");
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::{Mempool, MempoolLimits};
    use accord_sdk::U256;
    use accord_sdk::genesis::ChainParams;
    use accord_sdk::keys::KeyPair;
    use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
    use alloy_primitives::TxKind;

    const MAX_BLOCK: usize = 8 * 1024;

    fn importer() -> (tempfile::TempDir, BlockImporter, KeyPair, KeyPair) {
        let (validator, alice) = (KeyPair::generate(), KeyPair::generate());
        let genesis = crate::test_genesis::genesis(
            &validator,
            &[(alice.address(), U256::from(10u64).pow(U256::from(24u8)))],
            ChainParams { max_tx_bytes: 2 * 1024, max_block_bytes: MAX_BLOCK, ..Default::default() },
        );
        genesis.validate().expect("valid genesis");
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Arc::new(Chain::open(dir.path(), genesis).expect("opens"));
        let metrics = Metrics::new().expect("metrics");
        let mempool = Mempool::new(MempoolLimits::default(), 300_000_000, 0);
        let pool = Arc::new(TxPool::new(chain.clone(), mempool, None, metrics.clone()));
        (dir, BlockImporter::new(chain, pool, metrics), validator, alice)
    }

    /// A legacy call carrying `data` bytes of calldata: about that many bytes in a block.
    fn fat_transfer(k: &KeyPair, nonce: u64, data: usize) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id: Some(5),
            nonce,
            gas_price: 0,
            gas_limit: 200_000,
            to: TxKind::Call(Address::repeat_byte(0xee)),
            value: U256::from(1u8),
            input: vec![1u8; data].into(),
        };
        let sig = k.sign_prehash(&tx.signature_hash()).expect("sign");
        alloy_eips::eip2718::Encodable2718::encoded_2718(&TxEnvelope::from(tx.into_signed(sig)))
    }

    #[test]
    fn blocks_are_built_within_the_byte_limit_and_larger_ones_are_refused_before_decoding() {
        let (_dir, importer, validator, alice) = importer();
        for nonce in 0..20 {
            importer.pool().submit_raw(&fat_transfer(&alice, nonce, 1_000)).expect("pooled");
        }
        let built = importer.build(validator.address(), 101, 5_000).expect("builds");
        let bytes = BlockImporter::encode(&built);
        let included = built.block.transactions.len();
        assert!(bytes.len() <= MAX_BLOCK, "a built block of {} bytes exceeds maxBlockBytes", bytes.len());
        assert!((5..20).contains(&included), "fills the byte budget, not the gas limit: {included} transactions");
        let id = built.block.header.hash();
        // The leader's own block imports; everything else is refused with what is wrong.
        importer.import_proposal(&bytes, 1, id).expect("a built block imports");
        let mut oversized = bytes.clone();
        oversized.resize(MAX_BLOCK + 1, 0);
        assert!(matches!(importer.import_proposal(&oversized, 1, id), Err(ImportError::TooLarge { .. })));
        assert!(matches!(importer.import_proposal(&bytes, 2, id), Err(ImportError::WrongBlock { .. })));
        assert!(matches!(
            importer.import_synced(&bytes, &[], 2),
            Err(ImportError::WrongHeight { got: 1, expected: 2 })
        ));
        assert!(matches!(importer.import_synced(&bytes, &[0xff], 1), Err(ImportError::CertificateDecode(_))));
    }
}
