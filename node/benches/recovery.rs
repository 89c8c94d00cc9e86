//! Sender recovery, the unit of work admission pays per transaction: k256's `recover_from_prehash` (recover,
//! then verify the signature again) against Accord's (recover only; the verification holds by construction), and
//! a validator checking a leader's 1,000-transfer proposal with a warm pool (every sender already recovered on
//! arrival: the block reuses them) against a cold one (every sender recovered at validation, on all cores).
//!
//! Run: `cargo bench -p accord-node --bench recovery`. Results are recorded in docs/benchmarks.md.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;
use std::sync::Arc;

use accord_node::chain::Chain;
use accord_node::import::BlockImporter;
use accord_node::mempool::{Mempool, MempoolLimits};
use accord_node::metrics::Metrics;
use accord_node::txpool::TxPool;
use accord_sdk::crypto::{Secp256k1, SignatureScheme};
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, U256, keccak256};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/fixture/mod.rs"]
mod fixture;

const BLOCK_TXS: usize = 1_000;

fn bench_recovery(c: &mut Criterion) {
    let key = KeyPair::generate();
    let prehash = keccak256(b"a transaction's signing hash");
    let sig = key.sign_prehash(&prehash).expect("signs");
    let mut g = c.benchmark_group("recovery");
    g.bench_function("k256_recover_then_verify", |b| {
        b.iter(|| Secp256k1::recover_with_verification(black_box(&prehash), black_box(&sig)).expect("recovers"))
    });
    g.bench_function("accord_recover", |b| {
        b.iter(|| Secp256k1::recover(black_box(&prehash), black_box(&sig)).expect("recovers"))
    });
    g.finish();
}

fn bench_validation(c: &mut Criterion) {
    let validator = KeyPair::generate();
    let senders: Vec<KeyPair> = (0..BLOCK_TXS).map(|_| KeyPair::generate()).collect();
    let genesis = fixture::genesis(&validator, senders.iter().map(|k| k.address()));
    let raws: Vec<Vec<u8>> = senders
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let to = Address::from_word(keccak256(i.to_be_bytes()));
            fixture::signed(k, 0, Some(to), U256::from(1u8), vec![], 21_000)
        })
        .collect();
    let importer = |dir: &std::path::Path| {
        let chain = Arc::new(Chain::open(dir, genesis.clone()).expect("chain"));
        let metrics = Metrics::new().expect("metrics");
        let pool = Arc::new(TxPool::new(
            chain.clone(),
            Mempool::new(MempoolLimits::default(), 300_000_000, 0),
            None,
            metrics.clone(),
        ));
        BlockImporter::new(chain, pool, metrics)
    };
    // The leader's proposal, built once.
    let leader_dir = tempfile::tempdir().expect("tempdir");
    let leader = importer(leader_dir.path());
    for raw in &raws {
        leader.pool().submit_raw(raw).expect("pooled");
    }
    let built = leader.build(validator.address(), 1, BLOCK_TXS).expect("builds");
    assert_eq!(built.block.transactions.len(), BLOCK_TXS);
    let proposal = BlockImporter::encode(&built);
    let id = built.block.header.hash();

    let mut g = c.benchmark_group("validate_1000_transfers");
    g.sample_size(10);
    let cold_dir = tempfile::tempdir().expect("tempdir");
    let cold = importer(cold_dir.path());
    g.bench_function("cold_pool", |b| b.iter(|| cold.import_proposal(black_box(&proposal), 1, id).expect("valid")));
    let warm_dir = tempfile::tempdir().expect("tempdir");
    let warm = importer(warm_dir.path());
    for raw in &raws {
        warm.pool().submit_raw(raw).expect("pooled");
    }
    g.bench_function("warm_pool", |b| b.iter(|| warm.import_proposal(black_box(&proposal), 1, id).expect("valid")));
    // What the pool spent on arrival, for comparison: the same senders recovered one by one on one thread.
    let limits = fixture::limits();
    g.bench_function("recover_each_on_arrival", |b| {
        b.iter(|| {
            for raw in &raws {
                black_box(accord_sdk::tx::SignedTransaction::decode(raw, &limits).expect("valid"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_recovery, bench_validation);
criterion_main!(benches);
