//! Issue 3, must-shows 2 and 3, on the node's real execution path (`Chain` over RocksDB in a temp dir, the contract
//! VM on wasmtime) with the contracts built from `contracts/` (their artifacts in `contracts/out/`):
//!
//! - every adversarial contract ends in a failed receipt whose gas is exactly its limit, with no state change but
//!   the sender's nonce, and the chain carries on; the float/NaN contract succeeds with canonical NaN bits;
//! - a block of all of them executed again gives byte-identical receipts and the same header (state root included);
//! - nested calls roll back exactly as `contracts/examples/nested` documents.

use accord_node::chain::{Chain, ExecutedBlock};
use accord_sdk::account::StateKey;
use accord_sdk::block::CommitCertificate;
use accord_sdk::keys::KeyPair;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue, sol};

sol! {
    function run();
    function spinHost();
    function allocate();
    function grow() returns (uint256);
    function recurse();
    function recurseShadow();
    function hugeAlloc() returns (bytes);
    function recurseStrict(uint256 depth) returns (uint256);
    function compute();
    function writeThenCall(address target, bool innerReverts) returns (uint8);
    function writeThenCallTrap(address target) returns (uint8);
    function writeThenRevert();
    function transfer(address to, uint256 value) returns (bool);
    event Inner(address indexed instance, bool shouldRevert);
    event Outer(address indexed target, uint8 status);
}

mod fixture;

use fixture::bytecode;

struct Fx {
    _dir: tempfile::TempDir,
    chain: Chain,
    validator: KeyPair,
    alice: KeyPair,
    nonce: u64,
    time: u64,
}

impl Fx {
    fn new() -> Self {
        let validator = KeyPair::generate();
        let alice = KeyPair::generate();
        let genesis = fixture::genesis(&validator, [alice.address()]);
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Chain::open(dir.path(), genesis).expect("chain");
        Self { _dir: dir, chain, validator, alice, nonce: 0, time: 1_000 }
    }

    fn tx(&mut self, to: Option<Address>, input: Vec<u8>, gas: u64) -> SignedTransaction {
        let raw = fixture::signed(&self.alice, self.nonce, to, U256::ZERO, input, gas);
        self.nonce += 1;
        fixture::decoded(&raw)
    }

    /// Builds a block of `txs`, checks a replica re-executes it to byte-identical receipts and header, commits it.
    /// Returns the block and the state keys it changed.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> (ExecutedBlock, Vec<StateKey>) {
        self.time += 1;
        let built = self.chain.build_block(txs.clone(), self.time, self.validator.address()).expect("builds");
        assert!(built.skipped.is_empty(), "every transaction is included: {:?}", built.skipped);
        for _ in 0..2 {
            let again = self.chain.verify_block(&built.block.header, txs.clone()).expect("a replica reproduces it");
            let bytes = |r: &[Receipt]| r.iter().map(Receipt::encode).collect::<Vec<_>>();
            assert_eq!(bytes(&again.block.receipts), bytes(&built.block.receipts), "byte-identical receipts");
            assert_eq!(again.block.header, built.block.header, "identical header and state root");
        }
        let changed = built.writes.latest.iter().filter_map(|(k, _)| StateKey::from_bytes(k)).collect();
        let summary = ExecutedBlock { block: built.block.clone(), writes: Default::default(), skipped: Vec::new() };
        let cert = CommitCertificate::sign(&self.validator, &built.block.header, 0).expect("sign");
        self.chain.commit(built, cert).expect("commit");
        (summary, changed)
    }

    fn deploy(&mut self, name: &str, args: Vec<u8>) -> Address {
        let mut data = bytecode(name);
        data.extend(args);
        let tx = self.tx(None, data, 20_000_000);
        let (b, _) = self.block(vec![tx]);
        let r = &b.block.receipts[0];
        assert!(r.success, "{name} deploys");
        r.contract_address.expect("address")
    }

    fn slot(&self, contract: Address, slot: u8) -> U256 {
        let v = self.chain.state().latest().get(&StateKey::Storage(contract, B256::with_last_byte(slot)));
        v.expect("read").map(|b| U256::from_be_slice(&b)).unwrap_or_default()
    }
}

use accord_node::state::StateView as _;

#[test]
fn adversarial_contracts_fail_deterministically_and_harmlessly() {
    let mut f = Fx::new();
    let contracts: Vec<(&str, Address)> =
        ["infinite_loop", "memory_bomb", "deep_recursion", "huge_return", "reentrancy", "float_nan"]
            .into_iter()
            .map(|n| (n, f.deploy(n, vec![])))
            .collect();
    let at = |name: &str| contracts.iter().find(|(n, _)| *n == name).map(|(_, a)| *a).expect("deployed");
    let gas = 5_000_000;
    // (what, contract, input, exceptional halt: all gas consumed; otherwise a revert that charges what it used)
    let hostile: Vec<(&str, Address, Vec<u8>, bool)> = vec![
        ("tight loop", at("infinite_loop"), runCall {}.abi_encode(), true),
        ("host-call loop", at("infinite_loop"), spinHostCall {}.abi_encode(), true),
        ("memory bomb", at("memory_bomb"), allocateCall {}.abi_encode(), true),
        ("stack exhaustion", at("deep_recursion"), recurseCall {}.abi_encode(), true),
        ("shadow-stack exhaustion", at("deep_recursion"), recurseShadowCall {}.abi_encode(), true),
        ("huge allocation", at("huge_return"), hugeAllocCall {}.abi_encode(), true),
        (
            "reentrancy past the depth limit, reverting up the chain",
            at("reentrancy"),
            recurseStrictCall { depth: U256::from(100) }.abi_encode(),
            false,
        ),
    ];
    let txs: Vec<SignedTransaction> =
        hostile.iter().map(|(_, to, input, _)| f.tx(Some(*to), input.clone(), gas)).collect();
    let (b, changed) = f.block(txs);
    for ((what, _, _, halts), r) in hostile.iter().zip(&b.block.receipts) {
        assert!(!r.success, "{what}: failed receipt");
        assert!(r.logs.is_empty(), "{what}: no logs");
        if *halts {
            assert_eq!(r.gas_used, gas, "{what}: an exceptional halt consumes exactly its gas limit");
        } else {
            assert!(r.gas_used < gas, "{what}: a revert charges what it used");
        }
        println!("{what}: failed, {} gas (identical on re-execution)", r.gas_used);
    }
    // Nothing but the sender's account (its nonce) changed: the contracts' state is untouched.
    assert_eq!(changed, vec![StateKey::Account(f.alice.address())]);
    assert_eq!(f.slot(at("reentrancy"), 0), U256::ZERO, "the strict chain's counters were rolled back");

    // Floats run, and NaNs come out canonical, so every node stores the same bits.
    let tx = f.tx(Some(at("float_nan")), computeCall {}.abi_encode(), gas);
    let (b, _) = f.block(vec![tx]);
    assert!(b.block.receipts[0].success, "float arithmetic is allowed");
    let canonical_f64 = U256::from(0x7ff8_0000_0000_0000u64);
    for slot in 0..4 {
        assert_eq!(f.slot(at("float_nan"), slot), canonical_f64, "f64 NaN at slot {slot} is canonical");
    }
    let canonical_f32 = U256::from(0x7fc0_0000u32);
    assert_eq!(f.slot(at("float_nan"), 8), canonical_f32, "f32 NaN is canonical");

    // Memory growth to the cap succeeds and reports the cap; the node carries on with ordinary work.
    let tx = f.tx(Some(at("memory_bomb")), growCall {}.abi_encode(), gas);
    assert!(f.block(vec![tx]).0.block.receipts[0].success);
    let mut token_args = ("T".to_string(), "T".to_string(), U256::from(1_000u64)).abi_encode_params();
    let token = f.deploy("token", std::mem::take(&mut token_args));
    let tx =
        f.tx(Some(token), transferCall { to: Address::repeat_byte(7), value: U256::from(1u8) }.abi_encode(), 200_000);
    assert!(f.block(vec![tx]).0.block.receipts[0].success, "the chain is unharmed");
}

#[test]
fn nested_calls_roll_back_only_what_failed() {
    // (call, expected receipt success, X.A, X.B, X.C, Y.B, expected log kinds)
    type Row = (fn(Address, Address) -> Vec<u8>, bool, u64, u64, u64, u64, &'static [&'static str]);
    let rows: Vec<(&str, Row)> = vec![
        (
            "inner succeeds",
            (
                |_, y| writeThenCallCall { target: y, innerReverts: false }.abi_encode(),
                true,
                1,
                0,
                1,
                1,
                &["Inner", "Outer"],
            ),
        ),
        (
            "inner reverts",
            (|_, y| writeThenCallCall { target: y, innerReverts: true }.abi_encode(), true, 1, 0, 2, 0, &["Outer"]),
        ),
        ("inner traps", (|_, y| writeThenCallTrapCall { target: y }.abi_encode(), true, 1, 0, 3, 0, &["Outer"])),
        (
            "re-entering itself, reverting",
            (|x, _| writeThenCallCall { target: x, innerReverts: true }.abi_encode(), true, 1, 0, 2, 0, &["Outer"]),
        ),
        (
            "re-entering itself",
            (
                |x, _| writeThenCallCall { target: x, innerReverts: false }.abi_encode(),
                true,
                1,
                1,
                1,
                0,
                &["Inner", "Outer"],
            ),
        ),
        ("outer reverts", (|_, _| writeThenRevertCall {}.abi_encode(), false, 0, 0, 0, 0, &[])),
    ];
    for (what, (input, ok, xa, xb, xc, yb, logs)) in rows {
        let mut f = Fx::new();
        let x = f.deploy("nested", vec![]);
        let y = f.deploy("nested", vec![]);
        let tx = f.tx(Some(x), input(x, y), 2_000_000);
        let (b, _) = f.block(vec![tx]);
        let r = &b.block.receipts[0];
        assert_eq!(r.success, ok, "{what}: receipt status");
        assert_eq!(
            [f.slot(x, 0), f.slot(x, 1), f.slot(x, 2), f.slot(y, 1)],
            [xa, xb, xc, yb].map(U256::from),
            "{what}: X.A, X.B, X.C, Y.B"
        );
        let kinds: Vec<&str> = r
            .logs
            .iter()
            .map(|l| match l.topics().first() {
                Some(t) if *t == Inner::SIGNATURE_HASH => "Inner",
                Some(t) if *t == Outer::SIGNATURE_HASH => "Outer",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, logs, "{what}: logs");
        if !ok {
            assert!(r.gas_used < 2_000_000, "{what}: a revert charges only what it used");
        }
    }
}

use alloy_sol_types::SolEvent as _;
