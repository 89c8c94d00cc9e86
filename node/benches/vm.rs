//! Criterion benchmarks of the contract VM against the cost of one signature recovery:
//! an ERC-20 `transfer` through the VM (instantiate + execute + host calls, over RocksDB-backed state), one
//! secp256k1 sender recovery, and compiling the token's module versus finding it in the module cache.
//!
//! Run: `cargo bench -p accord-node --bench vm`. Results are recorded in docs/benchmarks.md.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::sync::Arc;

use accord_node::chain::Chain;
use accord_node::executor::{BlockEnv, Simulation};
use accord_node::state::StateOverlay;
use accord_sdk::block::CommitCertificate;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, U256, keccak256};
use accord_vm::{Vm, VmConfig, envelope};
use alloy_sol_types::{SolCall, SolValue, sol};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

sol! {
    function transfer(address to, uint256 value) returns (bool);
}

#[path = "../tests/fixture/mod.rs"]
mod fixture;

fn bench_vm(c: &mut Criterion) {
    let validator = KeyPair::generate();
    let alice = KeyPair::generate();
    let genesis = fixture::genesis(&validator, [alice.address()]);
    let limits = fixture::limits();
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = Chain::open(dir.path(), genesis).expect("chain");
    let mut code = fixture::bytecode("token");
    code.extend(("Bench".to_string(), "B".to_string(), U256::from(10u64).pow(U256::from(24u8))).abi_encode_params());
    let deploy =
        SignedTransaction::decode(&fixture::signed(&alice, 0, None, U256::ZERO, code.clone(), 20_000_000), &limits)
            .expect("valid");
    let built = chain.build_block(vec![deploy], 1, validator.address()).expect("build");
    let token = built.block.receipts[0].contract_address.expect("deployed");
    let cert = CommitCertificate::sign(&validator, &built.block.header, 0).expect("sign");
    chain.commit(built, cert).expect("commit");

    let rules = chain.next_rules().expect("rules");
    let env = BlockEnv {
        number: 2,
        timestamp: 2,
        proposer: validator.address(),
        base_fee: 0,
        gas_limit: rules.config.block_gas_limit,
        system_writes: Vec::new(),
        rules,
    };
    let input = transferCall { to: Address::repeat_byte(7), value: U256::from(1u8) }.abi_encode();
    let sim = Simulation { from: alice.address(), to: Some(token), value: U256::ZERO, input, gas: 1_000_000 };
    let outcome = chain.executor().simulate(Arc::new(chain.state().latest()), &env, sim.clone()).expect("runs");
    assert!(outcome.is_success(), "transfer succeeds: {outcome:?}");
    println!("token transfer: {} gas in the VM", outcome.gas_used);

    let mut g = c.benchmark_group("vm");
    g.bench_function("token_transfer", |b| {
        b.iter(|| chain.executor().simulate(Arc::new(chain.state().latest()), &env, sim.clone()).expect("runs"))
    });
    let raw = fixture::signed(&alice, 1, Some(token), U256::ZERO, sim.input.clone(), 1_000_000);
    let tx = SignedTransaction::decode(&raw, &limits).expect("valid");
    let prehash = tx.envelope().signature_hash();
    let signature = *tx.envelope().signature();
    g.bench_function("k256_recover_one_sender", |b| {
        b.iter(|| CryptoSuite::default().recover(&prehash, &signature).expect("recovers"))
    });
    let (module, _) = envelope::split(&code).expect("envelope");
    let module = module.to_vec();
    g.bench_function("token_module_compile", |b| {
        b.iter_batched(
            || Vm::<StateOverlay>::new(VmConfig::default()).expect("engine"),
            |vm| vm.validate(&module).expect("valid"),
            BatchSize::PerIteration,
        )
    });
    // A call finds its module by the code hash stored in the account: this is that lookup.
    let warm = Vm::<StateOverlay>::new(VmConfig::default()).expect("engine");
    warm.validate(&module).expect("valid");
    let hash = keccak256(&module);
    g.bench_function("token_module_cache_hit", |b| b.iter(|| assert!(warm.is_cached(&hash))));
    g.finish();
}

criterion_group!(benches, bench_vm);
criterion_main!(benches);
