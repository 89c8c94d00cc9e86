//! The runtime on a real wasmtime engine, with hand-written WAT modules and an in-memory `Host` (the node's host is
//! its journaled state overlay; this double implements the same trait over a `BTreeMap`).

use std::collections::BTreeMap;
use std::sync::Arc;

use accord_vm::envelope;
use accord_vm::{BlockInfo, CallParams, DeployParams, Failure, Host, HostError, Outcome, Status, Vm, VmConfig};
use alloy_primitives::{Address, B256, U256, keccak256};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Slot(Address, B256),
    Code(Address),
    Balance(Address),
}

#[derive(Default)]
struct MemHost {
    state: BTreeMap<Key, Vec<u8>>,
    journal: Vec<(Key, Option<Vec<u8>>)>,
    /// State reads and writes of any kind (not journal checkpoints and rollbacks), so a test can see whether a host
    /// function touched state.
    accesses: usize,
}

impl MemHost {
    fn set(&mut self, k: Key, v: Option<Vec<u8>>) {
        let old = match v {
            Some(v) => self.state.insert(k.clone(), v),
            None => self.state.remove(&k),
        };
        self.journal.push((k, old));
    }
    fn slot(&self, a: Address, k: u8) -> B256 {
        self.state.get(&Key::Slot(a, B256::with_last_byte(k))).map(|v| B256::from_slice(v)).unwrap_or_default()
    }
    fn balance(&self, a: Address) -> U256 {
        self.state.get(&Key::Balance(a)).map(|v| U256::from_be_slice(v)).unwrap_or_default()
    }
}

impl Host for MemHost {
    fn storage_read(&mut self, a: Address, k: B256) -> Result<B256, HostError> {
        self.accesses += 1;
        Ok(self.state.get(&Key::Slot(a, k)).map(|v| B256::from_slice(v)).unwrap_or_default())
    }
    fn storage_write(&mut self, a: Address, k: B256, v: B256) -> Result<B256, HostError> {
        self.accesses += 1;
        let old = self.storage_read(a, k)?;
        self.set(Key::Slot(a, k), (!v.is_zero()).then(|| v.to_vec()));
        Ok(old)
    }
    fn code_hash(&mut self, a: Address) -> Result<Option<B256>, HostError> {
        self.accesses += 1;
        Ok(self.state.get(&Key::Code(a)).map(keccak256))
    }
    fn code(&mut self, hash: B256) -> Result<Option<Arc<[u8]>>, HostError> {
        self.accesses += 1;
        Ok(self
            .state
            .iter()
            .find(|(k, v)| matches!(k, Key::Code(_)) && keccak256(v) == hash)
            .map(|(_, v)| Arc::from(v.as_slice())))
    }
    fn account_exists(&mut self, a: Address) -> Result<bool, HostError> {
        self.accesses += 1;
        Ok(self.state.contains_key(&Key::Code(a)))
    }
    fn set_code(&mut self, a: Address, _hash: B256, code: &[u8]) -> Result<(), HostError> {
        self.accesses += 1;
        self.set(Key::Code(a), Some(code.to_vec()));
        Ok(())
    }
    fn transfer(&mut self, from: Address, to: Address, value: U256) -> Result<bool, HostError> {
        self.accesses += 1;
        let fb = self.balance(from);
        if fb < value {
            return Ok(false);
        }
        self.set(Key::Balance(from), Some((fb - value).to_be_bytes::<32>().to_vec()));
        let tb = self.balance(to);
        self.set(Key::Balance(to), Some((tb + value).to_be_bytes::<32>().to_vec()));
        Ok(true)
    }
    fn checkpoint(&mut self) -> usize {
        self.journal.len()
    }
    fn revert_to(&mut self, cp: usize) {
        while self.journal.len() > cp {
            let Some((k, old)) = self.journal.pop() else { break };
            match old {
                Some(v) => self.state.insert(k, v),
                None => self.state.remove(&k),
            };
        }
    }
}

const ALICE: Address = Address::repeat_byte(0xa1);

/// Imports every test module may use, and a data segment with 32-byte keys/values at fixed offsets:
/// 0: key 1, 32: key 2, 64: value 7, 96: key 3.
const PRELUDE: &str = r#"
  (import "accord" "storage_write" (func $sw (param i32 i32)))
  (import "accord" "storage_read" (func $sr (param i32 i32)))
  (import "accord" "emit_log" (func $log (param i32 i32 i32 i32)))
  (import "accord" "return" (func $ret (param i32 i32)))
  (import "accord" "revert" (func $revert (param i32 i32)))
  (import "accord" "input_len" (func $input_len (result i32)))
  (import "accord" "input_read" (func $input_read (param i32)))
  (import "accord" "call" (func $call (param i32 i32 i32 i32 i64) (result i32)))
  (import "accord" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 31) "\01")
  (data (i32.const 63) "\02")
  (data (i32.const 95) "\07")
  (data (i32.const 127) "\03")
  (func (export "deploy"))
"#;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {PRELUDE} {body})")).expect("valid wat")
}

fn vm() -> Vm<MemHost> {
    Vm::new(VmConfig { max_memory_bytes: 4 * 1024 * 1024, ..Default::default() }).expect("engine")
}

fn deploy(vm: &Vm<MemHost>, host: MemHost, at: Address, code: &[u8]) -> MemHost {
    let params = DeployParams {
        caller: ALICE,
        origin: ALICE,
        address: at,
        value: U256::ZERO,
        data: envelope::wrap(code),
        gas_limit: 100_000_000,
    };
    let (host, outcome) = vm.deploy(host, BlockInfo::default(), params).expect("no host error");
    assert_eq!(outcome.status, Status::Success, "deploys");
    assert_eq!(outcome.created, Some(at));
    host
}

fn call(vm: &Vm<MemHost>, host: MemHost, to: Address, input: Vec<u8>, gas: u64) -> (MemHost, Outcome) {
    let p = CallParams { caller: ALICE, origin: ALICE, address: to, value: U256::ZERO, input, gas_limit: gas };
    vm.call(host, BlockInfo { number: 5, timestamp: 99, max_memory_bytes: 0 }, p).expect("no host error")
}

#[test]
fn success_keeps_writes_and_logs_revert_undoes_them() {
    let vm = vm();
    let c = Address::repeat_byte(1);
    let code = module(
        r#"(func (export "call")
             (call $sw (i32.const 0) (i32.const 64))
             (call $log (i32.const 32) (i32.const 1) (i32.const 64) (i32.const 32))
             (if (i32.eqz (call $input_len)) (then (call $ret (i32.const 64) (i32.const 32))))
             (call $revert (i32.const 96) (i32.const 32)))"#,
    );
    let host = deploy(&vm, MemHost::default(), c, &code);
    let (host, ok) = call(&vm, host, c, vec![], 1_000_000);
    assert_eq!(ok.status, Status::Success);
    assert_eq!(ok.output, B256::with_last_byte(7).to_vec());
    assert_eq!(ok.logs.len(), 1);
    assert_eq!(ok.logs[0].topics(), &[B256::with_last_byte(2)]);
    assert_eq!(host.slot(c, 1), B256::with_last_byte(7));
    assert!(ok.gas_used > 20_000 && ok.gas_used < 30_000, "storage set + log + instructions: {}", ok.gas_used);

    let host = deploy(&vm, MemHost::default(), c, &code);
    let (host, reverted) = call(&vm, host, c, vec![1], 1_000_000);
    assert_eq!(reverted.status, Status::Revert);
    assert_eq!(reverted.output, B256::with_last_byte(3).to_vec());
    assert!(reverted.logs.is_empty());
    assert_eq!(host.slot(c, 1), B256::ZERO, "the revert undid the write");
    assert!(reverted.gas_used < 1_000_000, "a revert charges only what it used");
}

#[test]
fn hostile_modules_fail_with_all_gas_and_no_effects() {
    let vm = vm();
    let cases = [
        (
            "loop",
            r#"(func (export "call") (call $sw (i32.const 0) (i32.const 64)) (loop $l (br $l)))"#,
            Failure::OutOfGas,
        ),
        (
            "recursion",
            r#"(func $r (param i64) (result i64) (call $r (i64.add (local.get 0) (i64.const 1))))
               (func (export "call") (call $sw (i32.const 0) (i32.const 64)) (drop (call $r (i64.const 0))))"#,
            Failure::StackExhausted,
        ),
        (
            "trap",
            r#"(func (export "call") (call $sw (i32.const 0) (i32.const 64)) (drop (i32.div_u (i32.const 1) (i32.const 0))))"#,
            Failure::Trap("wasm trap: integer divide by zero".into()),
        ),
    ];
    for (name, body, want) in cases {
        let c = Address::repeat_byte(2);
        let host = deploy(&vm, MemHost::default(), c, &module(body));
        let (host, out) = call(&vm, host, c, vec![], 5_000_000);
        assert_eq!(out.status, Status::Failure(want.clone()), "{name}");
        assert_eq!(out.gas_used, 5_000_000, "{name}: a failure consumes all its gas");
        assert_eq!(host.slot(c, 1), B256::ZERO, "{name}: no effect survives");
        // Deterministic: the same call again gives the same outcome.
        let (_, again) = call(&vm, host, c, vec![], 5_000_000);
        assert_eq!(again, out, "{name}");
    }
}

#[test]
fn memory_is_capped_and_growth_is_charged() {
    let vm = vm();
    let c = Address::repeat_byte(3);
    // Grow one page at a time until refused; return the number of pages reached.
    let code = module(
        r#"(func (export "call") (local $n i32)
             (block $done (loop $l
               (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
               (br $l)))
             (i32.store (i32.const 200) (memory.size))
             (call $ret (i32.const 200) (i32.const 4)))"#,
    );
    let host = deploy(&vm, MemHost::default(), c, &code);
    let (_, out) = call(&vm, host, c, vec![], 10_000_000);
    assert_eq!(out.status, Status::Success);
    assert_eq!(u32::from_le_bytes(out.output[..4].try_into().expect("4 bytes")), 64, "4 MiB cap = 64 pages");
    assert!(out.gas_used >= (64 - 32) * 1_000, "pages beyond the free 32 are paid for: {}", out.gas_used);
}

#[test]
fn nested_revert_undoes_only_the_inner_call() {
    let vm = vm();
    let (outer, inner) = (Address::repeat_byte(0x10), Address::repeat_byte(0x20));
    // Inner writes slot 2 and reverts. Outer writes slot 1, calls inner (address stored at offset 300),
    // stores the status in slot 3 and succeeds.
    let inner_code = module(
        r#"(func (export "call") (call $sw (i32.const 32) (i32.const 64)) (call $revert (i32.const 0) (i32.const 0)))"#,
    );
    let outer_code = module(&format!(
        r#"(data (i32.const 300) "{}")
           (func (export "call")
             (call $sw (i32.const 0) (i32.const 64))
             (i32.store8 (i32.const 255)
               (call $call (i32.const 300) (i32.const 400) (i32.const 0) (i32.const 0) (i64.const 1000000)))
             (call $sw (i32.const 96) (i32.const 224)))"#,
        inner.0.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
    ));
    let host = deploy(&vm, MemHost::default(), inner, &inner_code);
    let host = deploy(&vm, host, outer, &outer_code);
    let (host, out) = call(&vm, host, outer, vec![], 2_000_000);
    assert_eq!(out.status, Status::Success);
    assert_eq!(host.slot(outer, 1), B256::with_last_byte(7), "outer write kept");
    assert_eq!(host.slot(inner, 2), B256::ZERO, "inner write undone");
    assert_eq!(host.slot(outer, 3), B256::with_last_byte(1), "outer saw status 1 (reverted)");
}

#[test]
fn deploy_rules() {
    let vm = vm();
    let at = Address::repeat_byte(9);
    let try_deploy = |data: Vec<u8>| {
        let p =
            DeployParams { caller: ALICE, origin: ALICE, address: at, value: U256::ZERO, data, gas_limit: 50_000_000 };
        let (host, out) = vm.deploy(MemHost::default(), BlockInfo::default(), p).expect("no host error");
        assert!(host.state.is_empty(), "a refused deployment leaves nothing behind");
        assert_eq!(out.gas_used, 50_000_000);
        out.status
    };
    let wasi = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                   (memory (export "memory") 1) (func (export "call")) (func (export "deploy")))"#,
    )
    .expect("wat");
    assert!(matches!(try_deploy(envelope::wrap(&wasi)), Status::Failure(Failure::Module(_))));
    let no_call = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")))"#).expect("wat");
    assert!(matches!(try_deploy(envelope::wrap(&no_call)), Status::Failure(Failure::Module(_))));
    let simd = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "deploy"))
                   (func (export "call") (drop (v128.const i64x2 0 0))))"#,
    )
    .expect("wat");
    assert!(matches!(try_deploy(envelope::wrap(&simd)), Status::Failure(Failure::Module(_))), "SIMD is off");
    assert!(matches!(try_deploy(b"\0asm\x01\0\0\0".to_vec()), Status::Failure(Failure::Envelope(_))));
    assert!(matches!(try_deploy(envelope::wrap(b"not wasm")), Status::Failure(Failure::Module(_))));
}

#[test]
fn call_depth_is_bounded() {
    let vm = vm();
    let me = Address::repeat_byte(0x33);
    // Calls itself forever, counting in slot 1; each level forwards all it may.
    let code = module(&format!(
        r#"(data (i32.const 300) "{}")
           (func (export "call")
             (call $sr (i32.const 0) (i32.const 400))
             (i32.store8 (i32.const 431) (i32.add (i32.load8_u (i32.const 431)) (i32.const 1)))
             (call $sw (i32.const 0) (i32.const 400))
             (drop (call $call (i32.const 300) (i32.const 500) (i32.const 0) (i32.const 0) (i64.const -1))))"#,
        me.0.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
    ));
    let host = deploy(&vm, MemHost::default(), me, &code);
    let (host, out) = call(&vm, host, me, vec![], 100_000_000);
    assert_eq!(out.status, Status::Success);
    assert_eq!(host.slot(me, 1), B256::with_last_byte(64), "64 levels ran; the 65th was refused");
}

#[test]
fn nested_calls_deep_in_the_stack_do_not_overflow_the_thread() {
    // Each level recurses 600 frames (within the metered stack limit) before calling itself again: 64 levels of
    // that need MiBs of native stack, more than a 2 MiB thread has. The VM must switch stacks rather than crash.
    let vm = vm();
    let me = Address::repeat_byte(0x44);
    let code = module(&format!(
        r#"(data (i32.const 300) "{}")
           (func $rec (param $n i32)
             (if (i32.eqz (local.get $n))
               (then
                 (call $sr (i32.const 0) (i32.const 400))
                 (i32.store8 (i32.const 431) (i32.add (i32.load8_u (i32.const 431)) (i32.const 1)))
                 (call $sw (i32.const 0) (i32.const 400))
                 (drop (call $call (i32.const 300) (i32.const 500) (i32.const 0) (i32.const 0) (i64.const -1))))
               (else (call $rec (i32.sub (local.get $n) (i32.const 1))))))
           (func (export "call") (call $rec (i32.const 600)))"#,
        me.0.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
    ));
    let run = move || {
        let host = deploy(&vm, MemHost::default(), me, &code);
        let (host, out) = call(&vm, host, me, vec![], 200_000_000);
        (host.slot(me, 1), out)
    };
    // On a thread with the default 2 MiB stack, as the node's blocking pool has.
    let (levels, out) =
        std::thread::Builder::new().stack_size(2 << 20).spawn(run).expect("thread").join().expect("no crash");
    assert_eq!(out.status, Status::Success);
    assert_eq!(levels, B256::with_last_byte(64), "all 64 levels ran");
}

#[test]
fn bulk_memory_is_charged_per_byte() {
    let vm = vm();
    let c = Address::repeat_byte(0x55);
    // One fill of 64 KiB, then (with input) fill forever.
    let code = module(
        r#"(func (export "call")
             (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536))
             (if (i32.eqz (call $input_len)) (then (return)))
             (loop $l (memory.copy (i32.const 0) (i32.const 100) (i32.const 65000)) (br $l)))"#,
    );
    let host = deploy(&vm, MemHost::default(), c, &code);
    let (host, once) = call(&vm, host, c, vec![], 1_000_000);
    assert_eq!(once.status, Status::Success);
    assert!(once.gas_used >= 65_536, "64 KiB filled costs a gas per byte: {}", once.gas_used);
    let (_, forever) = call(&vm, host, c, vec![1], 1_000_000);
    assert_eq!(forever.status, Status::Failure(Failure::OutOfGas), "about 160 copies of 64 KB, not a billion");
}

#[test]
fn nested_frames_share_one_memory_budget() {
    // Each level grows as far as it can (16 MiB per contract here), records the pages it got, then calls itself.
    let vm: Vm<MemHost> =
        Vm::new(VmConfig { max_memory_bytes: 16 << 20, max_tx_memory_bytes: 40 << 20, ..Default::default() })
            .expect("engine");
    let me = Address::repeat_byte(0x66);
    let code = module(&format!(
        r#"(data (i32.const 300) "{}")
           (func (export "call") (local $level i32)
             (block $done (loop $l
               (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
               (br $l)))
             ;; slot[level] = pages; level = slot 0 counter
             (call $sr (i32.const 0) (i32.const 400))
             (local.set $level (i32.load8_u (i32.const 431)))
             (i32.store8 (i32.const 431) (i32.add (local.get $level) (i32.const 1)))
             (call $sw (i32.const 0) (i32.const 400))
             (i32.store8 (i32.const 511) (i32.add (local.get $level) (i32.const 10)))
             (i32.store (i32.const 540) (memory.size))
             (i32.store8 (i32.const 575) (i32.load8_u (i32.const 540)))
             (i32.store8 (i32.const 574) (i32.load8_u (i32.const 541)))
             (call $sw (i32.const 480) (i32.const 544))
             (if (i32.lt_u (local.get $level) (i32.const 3))
               (then (drop (call $call (i32.const 300) (i32.const 600) (i32.const 0) (i32.const 0) (i64.const -1))))))"#,
        me.0.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
    ));
    let host = deploy(&vm, MemHost::default(), me, &code);
    let (host, out) = call(&vm, host, me, vec![], 100_000_000);
    assert_eq!(out.status, Status::Success);
    let pages = |level: u8| u16::from_be_bytes(host.slot(me, 10 + level)[30..32].try_into().expect("2 bytes"));
    assert_eq!(pages(0), 256, "the first frame gets the contract maximum");
    assert_eq!(pages(1), 256);
    assert_eq!(pages(2), 128, "the third only what is left of the transaction's 40 MiB");
}

/// A native contract for the tests: empty input writes slot 1 = 9 and succeeds, input [2] writes slot 1 and
/// reverts, input [3] claims more gas than it was given, input [4] fails claiming little gas.
struct Registry;

const REGISTRY: Address = Address::with_last_byte(0x42);

impl accord_vm::NativeContracts<MemHost> for Registry {
    fn is_native(&self, address: Address) -> bool {
        address == REGISTRY
    }
    fn call(&self, host: &mut MemHost, call: accord_vm::NativeCall<'_>) -> Result<Outcome, HostError> {
        host.storage_write(call.address, B256::with_last_byte(1), B256::with_last_byte(9))?;
        let (status, gas_used) = match call.input {
            [] => (Status::Success, 5_000),
            [2] => (Status::Revert, 5_000),
            [4] => (Status::Failure(Failure::OutOfGas), 10),
            _ => (Status::Success, u64::MAX),
        };
        Ok(Outcome { status, gas_used, output: b"ok".to_vec(), logs: Vec::new(), created: None })
    }
}

fn vm_with_registry() -> Vm<MemHost> {
    Vm::with_natives(VmConfig { max_memory_bytes: 4 * 1024 * 1024, ..Default::default() }, Arc::new(Registry))
        .expect("engine")
}

#[test]
fn native_contracts_run_in_place_of_wasm_with_the_same_rollback_rules() {
    let vm = vm_with_registry();
    let (host, out) = call(&vm, MemHost::default(), REGISTRY, vec![], 100_000);
    assert_eq!((out.status.clone(), out.gas_used, out.output.as_slice()), (Status::Success, 5_000, &b"ok"[..]));
    assert_eq!(host.slot(REGISTRY, 1), B256::with_last_byte(9), "its write stands");

    // A revert undoes its writes and the value sent with the call.
    let mut host = MemHost::default();
    host.set(Key::Balance(ALICE), Some(U256::from(100u8).to_be_bytes::<32>().to_vec()));
    let p = CallParams {
        caller: ALICE,
        origin: ALICE,
        address: REGISTRY,
        value: U256::from(40u8),
        input: vec![2],
        gas_limit: 100_000,
    };
    let (host, out) = vm.call(host, BlockInfo::default(), p).expect("no host error");
    assert_eq!(out.status, Status::Revert);
    assert_eq!(host.slot(REGISTRY, 1), B256::ZERO, "write undone");
    assert_eq!((host.balance(ALICE), host.balance(REGISTRY)), (U256::from(100u8), U256::ZERO), "value returned");

    // It cannot report more gas than it was given.
    let (_, out) = call(&vm, MemHost::default(), REGISTRY, vec![3], 70_000);
    assert_eq!(out.gas_used, 70_000);
    // A failure consumes all the gas and returns nothing, as a wasm failure does.
    let (host, out) = call(&vm, MemHost::default(), REGISTRY, vec![4], 70_000);
    assert_eq!((out.gas_used, out.output.len()), (70_000, 0));
    assert_eq!(host.slot(REGISTRY, 1), B256::ZERO, "and its write is undone");

    // Nothing can be deployed at its address.
    let params = DeployParams {
        caller: ALICE,
        origin: ALICE,
        address: REGISTRY,
        value: U256::ZERO,
        data: envelope::wrap(&module(r#"(func (export "call"))"#)),
        gas_limit: 10_000_000,
    };
    let (_, out) = vm.deploy(MemHost::default(), BlockInfo::default(), params).expect("no host error");
    assert_eq!(out.status, Status::Failure(Failure::AddressCollision));
}

#[test]
fn contracts_call_native_contracts_like_any_other() {
    let vm = vm_with_registry();
    // Calls the registry (address at offset 300, zero value at 400) with `input` (at offset 500) and stores the
    // status in slot 3.
    let caller_of = |input: &[u8]| {
        module(&format!(
            r#"(data (i32.const 300) "{}")
               (data (i32.const 500) "{}")
               (func (export "call")
                 (i32.store8 (i32.const 255)
                   (call $call (i32.const 300) (i32.const 400) (i32.const 500) (i32.const {}) (i64.const 1000000)))
                 (call $sw (i32.const 96) (i32.const 224)))"#,
            REGISTRY.0.iter().map(|b| format!("\\{b:02x}")).collect::<String>(),
            input.iter().map(|b| format!("\\{b:02x}")).collect::<String>(),
            input.len()
        ))
    };
    let (ok, reverts) = (Address::repeat_byte(0x10), Address::repeat_byte(0x11));
    let host = deploy(&vm, MemHost::default(), ok, &caller_of(&[]));
    let host = deploy(&vm, host, reverts, &caller_of(&[2]));

    let (host, out) = call(&vm, host, reverts, vec![], 2_000_000);
    assert_eq!(out.status, Status::Success);
    assert_eq!(host.slot(reverts, 3), B256::with_last_byte(1), "the contract saw status 1 (reverted)");
    assert_eq!(host.slot(REGISTRY, 1), B256::ZERO, "the reverted native call's write is undone");

    let (host, out) = call(&vm, host, ok, vec![], 2_000_000);
    assert_eq!(out.status, Status::Success);
    assert_eq!(host.slot(REGISTRY, 1), B256::with_last_byte(9), "a successful native call's write stands");
}

/// Every host function charges gas before it does any work. Each is called once from a module that pushes its
/// arguments and calls it, next to a twin module that pushes the same arguments and drops them. With ample gas the
/// call costs at least `HOST_CALL` more than its twin; with the twin's gas plus less than `HOST_CALL`, the call
/// fails out of gas having touched no more state than the twin did (no read, write, transfer or nested frame).
#[test]
fn every_host_function_charges_before_it_works() {
    use accord_vm::abi::{HOST_FUNCTIONS, ValType};
    use accord_vm::gas;
    let vm = vm();
    let ty = |t: &ValType| match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
    };
    for (name, params, results) in HOST_FUNCTIONS {
        let sig = format!(
            "(param {}) (result {})",
            params.iter().map(ty).collect::<Vec<_>>().join(" "),
            results.iter().map(ty).collect::<Vec<_>>().join(" ")
        );
        // Arguments: pointers and lengths 0 (in bounds, empty), a nested call's gas 1,000.
        let args: String = params.iter().map(|t| format!("({}.const 0)", ty(t))).collect::<Vec<_>>().join(" ");
        let args = if *name == "call" { args.replacen("(i64.const 0)", "(i64.const 1000)", 1) } else { args };
        let drops = "(drop)".repeat(results.len());
        let with_call = format!(
            r#"(module (import "accord" "{name}" (func $f {sig})) (memory (export "memory") 1) (func (export "deploy"))
                 (func (export "call") {args} (call $f) {drops}))"#
        );
        let arg_drops = "(drop)".repeat(params.len());
        let results_pushed: String = results.iter().map(|t| format!("({}.const 0) (drop)", ty(t))).collect();
        let twin = format!(
            r#"(module (import "accord" "{name}" (func $f {sig})) (memory (export "memory") 1) (func (export "deploy"))
                 (func (export "call") {args} {arg_drops} (nop) {results_pushed}))"#
        );
        let (with_call, twin) = (wat::parse_str(&with_call).expect("wat"), wat::parse_str(&twin).expect("wat"));
        let run = |code: &[u8], gas: u64| {
            let c = Address::repeat_byte(0xc4);
            let mut host = deploy(&vm, MemHost::default(), c, code);
            host.accesses = 0;
            call(&vm, host, c, vec![], gas)
        };
        let (twin_host, twin_out) = run(&twin, 1_000_000);
        assert!(twin_out.is_success(), "{name}: twin runs: {twin_out:?}");
        let (_, full) = run(&with_call, 1_000_000);
        assert!(matches!(full.status, Status::Success | Status::Revert), "{name}: with gas it works: {full:?}");
        assert!(
            full.gas_used >= twin_out.gas_used + gas::HOST_CALL,
            "{name}: charges at least HOST_CALL ({} vs twin {})",
            full.gas_used,
            twin_out.gas_used
        );
        let (short_host, short) = run(&with_call, twin_out.gas_used + gas::HOST_CALL - 1);
        assert_eq!(short.status, Status::Failure(Failure::OutOfGas), "{name}: cannot pay, so fails");
        assert_eq!(
            short_host.accesses, twin_host.accesses,
            "{name}: failed for gas without touching state beyond what the twin touched"
        );
    }
}

/// Recursion `n + 1` calls deep (input length `n`), each frame holding a value: where it stops must be decided by
/// the metered count, the same whatever native stack the build gives wasm.
fn recursion_module() -> Vec<u8> {
    module(
        r#"(func $r (param $n i32) (result i64)
             (if (result i64) (i32.eqz (local.get $n))
               (then (i64.const 0))
               (else (i64.add (call $r (i32.sub (local.get $n) (i32.const 1))) (i64.const 1)))))
           (func (export "call") (drop (call $r (call $input_len))))"#,
    )
}

#[test]
fn recursion_stops_at_the_metered_depth_whatever_the_native_stack() {
    let code = recursion_module();
    let costs = accord_vm::stack_meter::function_costs(&code, accord_vm::config::rewrite_features()).expect("costs");
    // Defined functions: `deploy`, `$r`, `call`.
    let cost = costs[1];
    let limit = VmConfig::default().max_stack_units;
    // n + 1 nested calls of $r fit while (n + 1) × cost ≤ limit.
    let deepest = (limit / cost) as usize - 1;
    println!("$r costs {cost} units: depth {} fits in {limit}", deepest + 1);
    let c = Address::repeat_byte(0x66);
    for native in [512 * 1024, 3 << 19] {
        let vm: Vm<MemHost> = Vm::new(VmConfig { max_wasm_stack_bytes: native, ..Default::default() }).expect("engine");
        let host = deploy(&vm, MemHost::default(), c, &code);
        let (host, fits) = call(&vm, host, c, vec![0; deepest], 50_000_000);
        assert_eq!(fits.status, Status::Success, "{native} bytes of native stack: {deepest} fits");
        let (_, over) = call(&vm, host, c, vec![0; deepest + 1], 50_000_000);
        assert_eq!(over.status, Status::Failure(Failure::StackExhausted), "{native} bytes: one more does not");
        assert_eq!(over.gas_used, 50_000_000, "stack exhaustion consumes the call's gas");
    }
    // The native stack is not what stops it: with the count lifted far above, the same native stack goes deeper.
    let vm: Vm<MemHost> = Vm::new(VmConfig { max_stack_units: 1 << 30, ..Default::default() }).expect("engine");
    let host = deploy(&vm, MemHost::default(), c, &code);
    let (_, deeper) = call(&vm, host, c, vec![0; 2 * deepest], 50_000_000);
    assert_eq!(deeper.status, Status::Success, "twice as deep fits the default native stack");
}

#[test]
fn the_largest_frames_hit_the_metered_limit_before_the_native_stack() {
    // The most locals a function may have, recursing: each frame is as large as the structure limits allow.
    let locals = "(local i64) ".repeat(9_999);
    let code = module(&format!(
        r#"(func $big (param $n i32) {locals}
             (local.set 1 (i64.extend_i32_u (local.get $n)))
             (if (i32.eqz (local.get $n)) (then (return)))
             (call $big (i32.sub (local.get $n) (i32.const 1)))
             (call $sw (i32.const 0) (i32.const 64)))
           (func (export "call") (call $big (call $input_len)))"#
    ));
    let vm = vm();
    let c = Address::repeat_byte(0x67);
    let host = deploy(&vm, MemHost::default(), c, &code);
    let (host, one) = call(&vm, host, c, vec![], 50_000_000);
    assert_eq!(one.status, Status::Success, "one frame of 10,000 locals fits");
    let (_, two) = call(&vm, host, c, vec![0], 50_000_000);
    assert_eq!(two.status, Status::Failure(Failure::StackExhausted), "a second one is over the metered limit");
}
