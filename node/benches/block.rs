//! Criterion benchmarks for the foundation's hot paths:
//! decoding + recovering one transaction, and executing and committing a 1,000-transfer block split into
//! execution, state root (Jellyfish Merkle tree) and the synced RocksDB write.
//!
//! Run: `cargo bench -p accord-node --bench block`. Results are recorded in docs/benchmarks.md.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;
use std::sync::Arc;

use accord_node::chain::Chain;
use accord_node::executor::{BlockEnv, InvalidTxPolicy};
use accord_sdk::block::CommitCertificate;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, U256};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

#[path = "../tests/fixture/mod.rs"]
mod fixture;

const BLOCK_TXS: usize = 1_000;

struct Fixture {
    genesis: Genesis,
    txs: Vec<SignedTransaction>,
    validator: KeyPair,
}

fn fixture() -> Fixture {
    let validator = KeyPair::generate();
    let senders: Vec<KeyPair> = (0..BLOCK_TXS).map(|_| KeyPair::generate()).collect();
    let genesis = fixture::genesis(&validator, senders.iter().map(|k| k.address()));
    // Each sender pays a distinct fresh recipient: 1,000 senders + 1,000 recipients touched, the costly case.
    let txs = senders
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let to = Address::from_word(alloy_primitives::keccak256(i.to_be_bytes()));
            fixture::decoded(&fixture::signed(k, 0, Some(to), U256::from(1u8), vec![], 21_000))
        })
        .collect();
    Fixture { genesis, txs, validator }
}

fn bench_tx(c: &mut Criterion) {
    let key = KeyPair::generate();
    let raw = fixture::signed(&key, 0, Some(Address::repeat_byte(1)), U256::from(1u8), vec![], 21_000);
    let limits = fixture::limits();
    c.bench_function("tx/decode_and_recover_sender", |b| {
        b.iter(|| SignedTransaction::decode(black_box(&raw), &limits).expect("valid"))
    });
}

fn bench_block(c: &mut Criterion) {
    let fx = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = Chain::open(dir.path(), fx.genesis.clone()).expect("chain");
    let rules = chain.next_rules().expect("rules");
    let env = BlockEnv {
        number: 1,
        timestamp: 1,
        proposer: fx.validator.address(),
        base_fee: 0,
        gas_limit: rules.config.block_gas_limit,
        system_writes: Vec::new(),
        rules,
    };

    let mut g = c.benchmark_group("block_1000_transfers");
    g.sample_size(20);
    g.bench_function("execute", |b| {
        b.iter(|| {
            chain
                .executor()
                .execute(Arc::new(chain.state().latest()), &env, fx.txs.clone(), InvalidTxPolicy::Reject)
                .expect("executes")
        })
    });
    let out = chain
        .executor()
        .execute(Arc::new(chain.state().latest()), &env, fx.txs.clone(), InvalidTxPolicy::Reject)
        .expect("executes");
    g.bench_function("state_root", |b| b.iter(|| chain.state().apply(1, black_box(&out.changes)).expect("root")));
    g.bench_function("rocksdb_write_synced", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().expect("tempdir");
                let ch = Chain::open(d.path(), fx.genesis.clone()).expect("chain");
                let executed = ch.build_block(fx.txs.clone(), 1, fx.validator.address()).expect("build");
                (d, ch, executed)
            },
            |(d, ch, executed)| {
                let cert = CommitCertificate::sign(&fx.validator, &executed.block.header, 0).expect("sign");
                ch.commit(executed, cert).expect("commit");
                (d, ch)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("build_and_commit_total", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().expect("tempdir");
                let ch = Chain::open(d.path(), fx.genesis.clone()).expect("chain");
                (d, ch)
            },
            |(d, ch)| {
                let executed = ch.build_block(fx.txs.clone(), 1, fx.validator.address()).expect("build");
                let cert = CommitCertificate::sign(&fx.validator, &executed.block.header, 0).expect("sign");
                ch.commit(executed, cert).expect("commit");
                (d, ch)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_tx, bench_block);
criterion_main!(benches);
