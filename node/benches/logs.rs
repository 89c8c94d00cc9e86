//! `eth_getLogs` over 1,024 blocks holding 10,000 matching logs: the log index (what the node serves now) against
//! the scan it replaced (per block: header, bloom check, then the block's receipts and its whole body decoded for the
//! transaction hashes), on the same RocksDB database in one run. Prints milliseconds per query and the ratio.
//!
//! Run: `cargo bench -p accord-node --bench logs`. Results are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use accord_node::storage::log_index::LogCriteria;
use accord_node::storage::{ChainStore, CommittedBlock, StateWrites};
use accord_sdk::block::Header;
use accord_sdk::keys::KeyPair;
use accord_sdk::receipt::Receipt;
use accord_sdk::{Address, B256, U256};
use alloy_primitives::{Bytes, Log, LogData, logs_bloom};

#[path = "../tests/fixture/mod.rs"]
mod fixture;

const BLOCKS: u64 = 1_024;
/// Blocks carrying the token's logs: 1,000 × 10 = 10,000 matching logs.
const TOKEN_BLOCKS: u64 = 1_000;
const TOKEN_LOGS_PER_BLOCK: usize = 10;
/// Logs of another contract in every block, which a token query must skip.
const NOISE_LOGS_PER_BLOCK: usize = 10;

fn transfer_log(address: Address, from: u64, to: u64) -> Log {
    let topic = |v: u64| B256::from(U256::from(v));
    let signature = alloy_primitives::keccak256("Transfer(address,address,uint256)");
    Log { address, data: LogData::new_unchecked(vec![signature, topic(from), topic(to)], Bytes::from(vec![7u8; 32])) }
}

fn build(store: &ChainStore, token: Address, noise: Address) {
    let k = KeyPair::generate();
    let mut nonce = 0;
    for n in 0..BLOCKS {
        let mut txs = Vec::new();
        let mut receipts = Vec::new();
        let token_logs = if n < TOKEN_BLOCKS { TOKEN_LOGS_PER_BLOCK } else { 0 };
        for i in 0..token_logs + NOISE_LOGS_PER_BLOCK {
            let call = fixture::signed(&k, nonce, Some(token), U256::ZERO, vec![0xa9; 68], 60_000);
            txs.push(fixture::decoded(&call));
            nonce += 1;
            let address = if i < token_logs { token } else { noise };
            receipts.push(Receipt {
                tx_type: 0,
                success: true,
                gas_used: 30_000,
                cumulative_gas_used: 0,
                effective_gas_price: 0,
                logs: vec![transfer_log(address, nonce, nonce % 97)],
                contract_address: None,
            });
        }
        let header = Header {
            version: 1,
            chain_id: 1,
            parent_hash: B256::ZERO,
            number: n,
            timestamp: n,
            proposer: Address::ZERO,
            transactions_root: B256::ZERO,
            receipts_root: B256::ZERO,
            state_root: B256::ZERO,
            logs_bloom: logs_bloom(receipts.iter().flat_map(|r| r.logs.iter())),
            gas_used: 0,
            gas_limit: 0,
            base_fee: 0,
            next_validators_hash: B256::ZERO,
        };
        let block = CommittedBlock { header, transactions: txs, receipts, certificate: None };
        store.commit_block(&block, &StateWrites::default(), n == 0).expect("commit");
    }
    store.flush().expect("flush");
}

/// What `eth_getLogs` did before the index: (block, log index, transaction hash) of each match.
fn scan(store: &ChainStore, c: &LogCriteria) -> Vec<(u64, u64, B256)> {
    let mut out = Vec::new();
    for n in 0..BLOCKS {
        let h = store.header(n).expect("read").expect("header");
        let bloom_ok = c
            .addresses
            .iter()
            .any(|a| h.logs_bloom.contains_input(alloy_primitives::BloomInput::Raw(a.as_slice())))
            && c.topics.iter().all(|set| {
                set.is_empty()
                    || set.iter().any(|t| h.logs_bloom.contains_input(alloy_primitives::BloomInput::Raw(t.as_slice())))
            });
        if !bloom_ok {
            continue;
        }
        let receipts = store.receipts(n).expect("read").unwrap_or_default();
        let txs = store.transactions(n).expect("read").unwrap_or_default();
        let _hash = h.hash();
        let mut index = 0u64;
        for (r, tx) in receipts.iter().zip(&txs) {
            for l in &r.logs {
                let wanted = c.addresses.contains(&l.address)
                    && c.topics
                        .iter()
                        .enumerate()
                        .all(|(i, s)| s.is_empty() || l.topics().get(i).is_some_and(|t| s.contains(t)));
                if wanted {
                    out.push((n, index, tx.hash()));
                }
                index += 1;
            }
        }
    }
    out
}

/// What it does now: the index's records, and each block's header once (hash and timestamp for the answer).
fn indexed(store: &ChainStore, c: &LogCriteria) -> Vec<(u64, u64, B256)> {
    let found = store.logs(c, 0, BLOCKS - 1, 10_000).expect("query").expect("within rpc.max_logs");
    let mut last = None;
    let mut out = Vec::with_capacity(found.len());
    for (at, record) in found {
        if last != Some(at.number) {
            let h = store.header(at.number).expect("read").expect("header");
            let _ = (h.hash(), h.timestamp);
            last = Some(at.number);
        }
        out.push((at.number, u64::from(at.index), record.tx_hash));
    }
    out
}

fn median(mut f: impl FnMut() -> usize, runs: usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[runs / 2], n)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ChainStore::open(dir.path()).expect("open");
    let (token, noise) = (Address::repeat_byte(0x70), Address::repeat_byte(0x71));
    let t = Instant::now();
    build(&store, token, noise);
    println!(
        "built {BLOCKS} blocks: {} token logs + {} other logs in {:.1} s",
        TOKEN_BLOCKS as usize * TOKEN_LOGS_PER_BLOCK,
        BLOCKS as usize * NOISE_LOGS_PER_BLOCK,
        t.elapsed().as_secs_f64()
    );
    let everything = LogCriteria { addresses: vec![token], ..Default::default() };
    let mut one_recipient = everything.clone();
    one_recipient.topics[2] = vec![B256::from(U256::from(5u64))];
    assert_eq!(scan(&store, &everything), indexed(&store, &everything), "both paths find the same logs");
    assert_eq!(scan(&store, &one_recipient), indexed(&store, &one_recipient));
    println!("{:<44} {:>10} {:>10} {:>8} {:>7}", "query (blocks 0..=1023)", "scan ms", "index ms", "logs", "ratio");
    for (name, c) in [("token address: 10,000 logs", &everything), ("token + one recipient (topic 2)", &one_recipient)]
    {
        let (before, n) = median(|| scan(&store, c).len(), 7);
        let (after, m) = median(|| indexed(&store, c).len(), 7);
        assert_eq!(n, m);
        println!(
            "{name:<44} {:>10.1} {:>10.1} {n:>8} {:>6.1}x",
            before.as_secs_f64() * 1e3,
            after.as_secs_f64() * 1e3,
            before.as_secs_f64() / after.as_secs_f64()
        );
    }
}
