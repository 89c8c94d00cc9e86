//! Gas calibration: what one unit of gas costs in wall time for every priced operation, on this machine, through the
//! node's real path (a transaction built into a block: execution over the RocksDB-backed state overlay, then the
//! state root). Each operation runs in a loop inside a contract; the same loop without the operation is subtracted,
//! so the figure is the operation's own time over its own gas.
//!
//! Prints one row per operation: gas and ns per operation, ns per gas, and the ratio to the target rate
//! ([`TARGET_NS_PER_GAS`], the rate the gas schedule is set for: `docs/contract-abi.md`, "Gas schedule"). A row
//! outside 2× of the target is marked DRIFT and the run ends with a FAIL line naming them: a price no longer matches
//! its cost on this machine. Rows are ratios within one run, so a machine twice as fast or slow moves every row
//! together and the instruction row shows it.
//!
//! Run: `cargo bench -p accord-node --bench gas`. Results are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use accord_node::chain::Chain;
use accord_sdk::block::CommitCertificate;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, B256, U256};
use accord_vm::envelope;

#[path = "../tests/fixture/mod.rs"]
mod fixture;

/// The rate the schedule targets: nanoseconds of a validator's time per unit of gas on the reference machine (this
/// project's 2-core machine). See `docs/contract-abi.md`.
const TARGET_NS_PER_GAS: f64 = 1.0;

/// Imports and memory every calibration contract shares. Memory: 0 key, 32 value, 256 topics (4 × 32), 512 log
/// data, 1024 scratch, 2048 ecrecover hash + signature, 4096 callee address, 4128 zero value, 8192+ bulk area.
const PRELUDE: &str = r#"
  (import "accord" "input_len" (func $input_len (result i32)))
  (import "accord" "input_read" (func $input_read (param i32)))
  (import "accord" "storage_read" (func $sr (param i32 i32)))
  (import "accord" "storage_write" (func $sw (param i32 i32)))
  (import "accord" "storage_remove" (func $srm (param i32)))
  (import "accord" "caller" (func $caller (param i32)))
  (import "accord" "origin" (func $origin (param i32)))
  (import "accord" "self_address" (func $self (param i32)))
  (import "accord" "value" (func $value (param i32)))
  (import "accord" "block_number" (func $number (result i64)))
  (import "accord" "block_timestamp" (func $timestamp (result i64)))
  (import "accord" "emit_log" (func $log (param i32 i32 i32 i32)))
  (import "accord" "call" (func $call (param i32 i32 i32 i32 i64) (result i32)))
  (import "accord" "return_data_len" (func $rdl (result i32)))
  (import "accord" "return_data_read" (func $rdr (param i32)))
  (import "accord" "keccak256" (func $keccak (param i32 i32 i32)))
  (import "accord" "ecrecover" (func $ecrecover (param i32 i32 i32) (result i32)))
  (import "accord" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 40)
  (global $acc (mut i32) (i32.const 0))
  (func (export "deploy"))
"#;

/// One calibrated operation: a loop body run `iterations` times, and the gas one operation is priced at today.
struct Op {
    name: &'static str,
    body: String,
    iterations: u32,
    /// Extra WAT (data segments) the body needs.
    data: String,
    /// Reads, updates or removes slots 0..iterations, which the contract writes first (committed, so reads go to
    /// RocksDB).
    on_written_slots: bool,
}

fn op(name: &'static str, body: &str, iterations: u32) -> Op {
    Op { name, body: body.to_string(), iterations, data: String::new(), on_written_slots: false }
}

/// [`op`] on slots the contract has written first.
fn op_on_slots(name: &'static str, body: &str, iterations: u32) -> Op {
    Op { on_written_slots: true, ..op(name, body, iterations) }
}

fn module(op: &Op) -> Vec<u8> {
    let wat = format!(
        r#"(module {PRELUDE} {data}
  (func (export "call")
    (local $i i32)
    ;; Without input: write slots 0..n (value 7), so that the measured run finds them committed.
    (if (i32.eqz (call $input_len))
      (then
        (block $written
          (loop $write
            (br_if $written (i32.ge_u (local.get $i) (i32.const {n})))
            (i32.store (i32.const 0) (local.get $i))
            (call $sw (i32.const 0) (i32.const 32))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $write)))
        (return)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
        (i32.store (i32.const 0) (local.get $i))
        {body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))))"#,
        data = op.data,
        n = op.iterations,
        body = op.body
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{}: {e}", op.name))
}

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

struct Bench {
    chain: Chain,
    validator: KeyPair,
    alice: KeyPair,
    nonce: u64,
    height: u64,
}

impl Bench {
    /// Commits one block with `raw` in it; returns the receipt's contract address (for creations) and gas.
    fn commit(&mut self, raw: Vec<u8>) -> (Option<Address>, u64) {
        self.height += 1;
        let built =
            self.chain.build_block(vec![fixture::decoded(&raw)], self.height, self.validator.address()).expect("build");
        let r = built.block.receipts.first().cloned().expect("included");
        assert!(r.success, "setup transaction failed: {r:?}");
        let cert = CommitCertificate::sign(&self.validator, &built.block.header, 0).expect("sign");
        self.chain.commit(built, cert).expect("commit");
        self.nonce += 1;
        (r.contract_address, r.gas_used)
    }

    fn deploy(&mut self, module: &[u8]) -> Address {
        let raw = fixture::signed(&self.alice, self.nonce, None, U256::ZERO, envelope::wrap(module), 250_000_000);
        self.commit(raw).0.expect("deployed")
    }

    /// Median wall time of building (executing and rooting, not committing) a block with one call of `to`, and the
    /// gas it used.
    fn time_call(&self, to: Address, runs: usize) -> (Duration, u64) {
        let raw = fixture::signed(&self.alice, self.nonce, Some(to), U256::ZERO, vec![0u8; 32], 290_000_000);
        let tx = fixture::decoded(&raw);
        let mut times = Vec::new();
        let mut gas = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let built =
                self.chain.build_block(vec![tx.clone()], self.height + 1, self.validator.address()).expect("build");
            times.push(t.elapsed());
            let r = &built.block.receipts[0];
            assert!(r.success, "calibration call failed: {r:?}");
            gas = r.gas_used;
        }
        times.sort();
        (times[runs / 2], gas)
    }
}

fn main() {
    let validator = KeyPair::generate();
    let alice = KeyPair::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = Chain::open(dir.path(), fixture::genesis(&validator, [alice.address()])).expect("chain");
    let mut b = Bench { chain, validator, alice, nonce: 0, height: 0 };

    // A callee that does nothing: a nested call's cost is the frame (store, instance, checkpoint), not its work.
    let callee = b.deploy(
        &wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#)
            .expect("wat"),
    );
    // A real signature for ecrecover.
    let signer = KeyPair::generate();
    let hash = B256::repeat_byte(0x42);
    let sig = signer.sign_prehash(&hash).expect("sign");
    let mut sig_bytes = sig.r().to_be_bytes::<32>().to_vec();
    sig_bytes.extend_from_slice(&sig.s().to_be_bytes::<32>());
    sig_bytes.push(27 + u8::from(sig.v()));
    let ecrecover_data =
        format!(r#"(data (i32.const 2048) "{}{}")"#, wat_bytes(hash.as_slice()), wat_bytes(&sig_bytes));
    let callee_data = format!(r#"(data (i32.const 4096) "{}")"#, wat_bytes(callee.as_slice()));
    let value_data = r#"(data (i32.const 32) "\07")"#.to_string();

    const N: u32 = 20_000;
    let mut ops = vec![
        op("wasm instructions (the loop itself)", "", 200_000),
        op(
            "wasm dependent arithmetic and loads",
            "(global.set $acc (i32.xor (i32.mul (global.get $acc) (i32.const 0x9e3779b1)) (i32.load (i32.and (global.get $acc) (i32.const 0xfffc)))))",
            200_000,
        ),
        op(
            "wasm random loads over 2 MiB",
            "(global.set $acc (i32.add (i32.mul (global.get $acc) (i32.const 0x41c64e6d)) (i32.load (i32.and (global.get $acc) (i32.const 0x1ffffc)))))",
            200_000,
        ),
        op("input_len", "(drop (call $input_len))", N),
        op("input_read (32 bytes)", "(call $input_read (i32.const 1024))", N),
        op("caller", "(call $caller (i32.const 1024))", N),
        op("origin", "(call $origin (i32.const 1024))", N),
        op("self_address", "(call $self (i32.const 1024))", N),
        op("value", "(call $value (i32.const 1024))", N),
        op("block_number", "(drop (call $number))", N),
        op("block_timestamp", "(drop (call $timestamp))", N),
        op("return_data_len", "(drop (call $rdl))", N),
        op("return_data_read (empty)", "(call $rdr (i32.const 1024))", N),
        op("gas_left", "(drop (call $gas_left))", N),
        op_on_slots("storage_read (hit)", "(call $sr (i32.const 0) (i32.const 1024))", N / 4),
        op(
            "storage_read (miss)",
            "(i32.store (i32.const 4) (i32.const 1)) (call $sr (i32.const 0) (i32.const 1024))",
            N / 4,
        ),
        op(
            "storage_write (new slot)",
            "(i32.store (i32.const 4) (i32.const 2)) (call $sw (i32.const 0) (i32.const 32))",
            N / 4,
        ),
        op_on_slots(
            "storage_write (update)",
            "(i32.store8 (i32.const 33) (local.get $i)) (call $sw (i32.const 0) (i32.const 32))",
            N / 4,
        ),
        op_on_slots("storage_remove", "(call $srm (i32.const 0))", N / 4),
        op(
            "emit_log (4 topics, 64 bytes)",
            "(call $log (i32.const 256) (i32.const 4) (i32.const 512) (i32.const 64))",
            N,
        ),
        op(
            "emit_log data (4 KiB, per byte)",
            "(call $log (i32.const 256) (i32.const 0) (i32.const 8192) (i32.const 4096))",
            N / 10,
        ),
        op("keccak256 (32 bytes)", "(call $keccak (i32.const 0) (i32.const 32) (i32.const 1024))", N),
        op("keccak256 (4 KiB, per word)", "(call $keccak (i32.const 8192) (i32.const 4096) (i32.const 1024))", N / 10),
        op("ecrecover", "(drop (call $ecrecover (i32.const 2048) (i32.const 2080) (i32.const 1024)))", 500),
        op(
            "call (nested, empty callee)",
            "(drop (call $call (i32.const 4096) (i32.const 4128) (i32.const 0) (i32.const 0) (i64.const 1000000)))",
            2_000,
        ),
        op("memory.fill (64 KiB, per byte)", "(memory.fill (i32.const 8192) (local.get $i) (i32.const 65536))", 2_000),
        op(
            "memory.copy (64 KiB, per byte)",
            "(memory.copy (i32.const 8192) (i32.const 139264) (i32.const 65536))",
            2_000,
        ),
        op("memory.grow (per 64 KiB page)", "(drop (memory.grow (i32.const 1)))", 200),
    ];
    for o in &mut ops {
        o.data = value_data.clone();
        if o.name.starts_with("ecrecover") {
            o.data.push_str(&ecrecover_data);
        }
        if o.name.starts_with("call") {
            o.data.push_str(&callee_data);
        }
    }

    // The loop without any operation, per iteration count: subtracted from each row.
    let empty = |n: u32| Op { data: value_data.clone(), ..op("empty", "", n) };
    println!(
        "calibration: a transaction's block build (execution + state root), median of 5; target {TARGET_NS_PER_GAS} ns/gas"
    );
    println!("{:<40} {:>12} {:>12} {:>10} {:>8}", "operation", "gas/op", "ns/op", "ns/gas", "×target");
    let mut drifted = Vec::new();
    // The operation with the most time per gas: the worst block is full of it.
    let mut worst: Option<(&Op, f64, u64)> = None;
    let mut worst_rate = 0f64;
    for o in &ops {
        let address = b.deploy(&module(o));
        // Storage rows read, update and remove existing slots: written first by the contract itself (committed, so
        // the measured reads go to RocksDB).
        if o.on_written_slots {
            let raw = fixture::signed(&b.alice, b.nonce, Some(address), U256::ZERO, Vec::new(), 290_000_000);
            b.commit(raw);
        }
        let (t_op, g_op) = b.time_call(address, 5);
        let base = b.deploy(&module(&empty(o.iterations)));
        let (t_base, g_base) = b.time_call(base, 5);
        let name = o.name;
        if name.starts_with("wasm instructions") {
            // This row is the loop itself: the transaction's fixed costs are the base here.
            let fixed = b.deploy(&module(&empty(0)));
            let (t_fixed, g_fixed) = b.time_call(fixed, 5);
            report(name, (t_op.saturating_sub(t_fixed), g_op - g_fixed), o.iterations, &mut drifted);
            continue;
        }
        let ns_gas =
            report(name, (t_op.saturating_sub(t_base), g_op.saturating_sub(g_base)), o.iterations, &mut drifted);
        let gas_op = g_op.saturating_sub(g_base) / u64::from(o.iterations);
        worst_rate = worst_rate.max(ns_gas);
        // A full block of an operation on pre-written slots would need more slots than one setup transaction can
        // write: those rows count in the extrapolation only.
        if !o.on_written_slots && worst.as_ref().is_none_or(|(_, w, _)| ns_gas > *w) {
            worst = Some((o, ns_gas, gas_op));
        }
    }
    // Deploying: validation, compilation and the code deposit of a real contract (the token), a new module each
    // run (a custom section makes the bytes, and so the cache key, unique), against the deposit's gas per byte.
    {
        use alloy_sol_types::SolValue;
        let token = fixture::bytecode("token");
        let (module, _) = envelope::split(&token).expect("envelope");
        let args = ("Calibration".to_string(), "CAL".to_string(), U256::from(1_000u64)).abi_encode_params();
        let mut times = Vec::new();
        let mut gas = 0;
        let runs = 5;
        for i in 0..runs {
            let mut unique = module.to_vec();
            let name = format!("nonce{i}");
            unique.push(0);
            unique.push((1 + name.len()) as u8);
            unique.push(name.len() as u8);
            unique.extend_from_slice(name.as_bytes());
            let mut data = envelope::wrap(&unique);
            data.extend_from_slice(&args);
            let raw = fixture::signed(&b.alice, b.nonce, None, U256::ZERO, data, 290_000_000);
            let tx = fixture::decoded(&raw);
            let t = Instant::now();
            let built = b.chain.build_block(vec![tx], b.height + 1, b.validator.address()).expect("build");
            times.push(t.elapsed());
            assert!(built.block.receipts[0].success, "deploys");
            gas = built.block.receipts[0].gas_used;
        }
        times.sort();
        let bytes = module.len() as u32;
        println!("(deploy of the token: {bytes} bytes, {gas} gas in all, constructor included)");
        report("deploy: validate + compile, per byte", (times[runs / 2], gas), bytes, &mut drifted);
    }
    // The worst block: one transaction at the block gas limit looping the operation with the most time per gas.
    if let Some((o, _, gas_op)) = worst {
        let limit = b.chain.next_rules().expect("rules").config.block_gas_limit;
        let iterations = u32::try_from((limit - 1_000_000) / gas_op.max(1)).unwrap_or(u32::MAX);
        let address =
            b.deploy(&module(&Op { iterations, body: o.body.clone(), data: o.data.clone(), ..op(o.name, "", 0) }));
        let raw = fixture::signed(&b.alice, b.nonce, Some(address), U256::ZERO, vec![0u8; 32], limit);
        let tx = fixture::decoded(&raw);
        let mut times = Vec::new();
        let mut gas = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let built = b.chain.build_block(vec![tx.clone()], b.height + 1, b.validator.address()).expect("build");
            times.push(t.elapsed());
            gas = built.block.header.gas_used;
        }
        times.sort();
        let timeout = Duration::from_millis(4_000);
        println!(
            "worst block: {} × {iterations} = {gas} gas of the {limit} limit, executed and rooted in {:.3} s: {:.1} % of the {} s consensus timeout",
            o.name,
            times[1].as_secs_f64(),
            100.0 * times[1].as_secs_f64() / timeout.as_secs_f64(),
            timeout.as_secs()
        );
        println!(
            "any block at the limit, at the slowest rate measured above ({worst_rate:.3} ns/gas): {:.3} s, {:.1} % of the timeout",
            limit as f64 * worst_rate / 1e9,
            100.0 * limit as f64 * worst_rate / 1e9 / timeout.as_secs_f64()
        );
    }
    if drifted.is_empty() {
        println!("OK: every operation within 2× of {TARGET_NS_PER_GAS} ns/gas");
    } else {
        println!("FAIL: {} operations outside 2× of {TARGET_NS_PER_GAS} ns/gas: {}", drifted.len(), drifted.join(", "));
    }
}

fn report(name: &str, (time, gas): (Duration, u64), iterations: u32, drifted: &mut Vec<String>) -> f64 {
    let n = f64::from(iterations);
    let ns_op = time.as_secs_f64() * 1e9 / n;
    let gas_op = gas as f64 / n;
    let ns_gas = if gas == 0 { f64::INFINITY } else { time.as_secs_f64() * 1e9 / gas as f64 };
    let ratio = ns_gas / TARGET_NS_PER_GAS;
    let flag = if (0.5..=2.0).contains(&ratio) { "" } else { "  DRIFT" };
    if !flag.is_empty() {
        drifted.push(name.to_string());
    }
    println!("{name:<40} {gas_op:>12.1} {ns_op:>12.1} {ns_gas:>10.3} {ratio:>8.2}{flag}");
    ns_gas
}
