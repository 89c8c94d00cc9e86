//! A native test host, so contracts can be unit-tested with `cargo test` without a VM (non-wasm targets only).
//!
//! It implements every host function over an in-memory chain: per-contract storage, logs, nested calls between
//! contracts deployed with [`deploy`] (with rollback of a reverted or failed call's storage and logs, and the
//! call-depth limit of 64), `return`/`revert` (as unwinding). It meters no gas ([`crate::env::gas_left`] is a
//! constant), moves no value, and its `ecrecover` always reports an invalid signature.
//!
//! ```ignore
//! use accord_contract::testing;
//! testing::reset();
//! let alice = testing::account(1);
//! let (token, out) = testing::deploy::<Token>(alice, &abi::encode(&("Name".to_string(), "SYM".to_string(), U256::from(100u64))));
//! assert!(out.is_success());
//! let out = testing::call(alice, token, &abi::encode_with_selector(selector!("totalSupply()"), &()));
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::string::String;
use std::sync::Once;
use std::vec::Vec;

use crate::Contract;
use crate::abi::{self, AbiDecode, AbiParams};
use crate::env::CallStatus;
use crate::storage::Slot;
use crate::types::{Address, U256};

/// A log emitted during a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<[u8; 32]>,
    /// Its data.
    pub data: Vec<u8>,
}

/// How a call ended and its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Success, reverted or failed.
    pub status: CallStatus,
    /// Return data, or revert data.
    pub output: Vec<u8>,
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        self.status == CallStatus::Success
    }

    /// The message of an `Error(string)` revert.
    pub fn revert_message(&self) -> Option<String> {
        if self.status != CallStatus::Reverted || self.output.get(..4) != Some(&crate::ERROR_SELECTOR[..]) {
            return None;
        }
        abi::decode::<(String,)>(&self.output[4..]).ok().map(|(m,)| m)
    }

    /// Decodes the output as the parameter list `P`.
    pub fn decode<P: AbiParams + AbiDecode>(&self) -> Result<P, abi::DecodeError> {
        abi::decode(&self.output)
    }

    /// Panics (at the caller's line) unless the call succeeded, showing the revert reason; returns the outcome.
    #[track_caller]
    pub fn expect_success(self) -> Self {
        assert!(
            self.is_success(),
            "call {:?}: reason {:?}, output {:?}",
            self.status,
            self.revert_message(),
            self.output
        );
        self
    }

    /// Panics (at the caller's line) unless the call reverted with `Error(reason)`.
    #[track_caller]
    pub fn expect_revert(&self, reason: &str) {
        assert_eq!(self.revert_message().as_deref(), Some(reason), "status {:?}", self.status);
    }

    /// The single return value of a successful call; panics (at the caller's line) otherwise.
    #[track_caller]
    pub fn value<T>(self) -> T
    where
        (T,): AbiParams + AbiDecode,
    {
        match self.expect_success().decode::<(T,)>() {
            Ok((v,)) => v,
            Err(e) => panic!("output does not decode: {e:?}"),
        }
    }
}

/// How a frame ended early: unwinds out of the contract code to the frame runner.
enum Exit {
    Return(Vec<u8>),
    Revert(Vec<u8>),
    Fail,
}

struct Frame {
    address: Address,
    caller: Address,
    value: [u8; 32],
    input: Vec<u8>,
}

#[derive(Default)]
struct Chain {
    storage: BTreeMap<Address, BTreeMap<[u8; 32], [u8; 32]>>,
    code: BTreeMap<Address, fn()>,
    frames: Vec<Frame>,
    origin: Address,
    block_number: u64,
    block_timestamp: u64,
    logs: Vec<Log>,
    return_data: Vec<u8>,
    next_address: u64,
}

std::thread_local! {
    static CHAIN: RefCell<Chain> = RefCell::new(Chain::default());
}

fn with<R>(f: impl FnOnce(&mut Chain) -> R) -> R {
    CHAIN.with(|c| f(&mut c.borrow_mut()))
}

fn frame<R>(f: impl FnOnce(&Frame) -> R) -> R {
    with(|c| f(c.frames.last().expect("host function called outside a contract call")))
}

/// The deepest allowed call nesting.
pub const MAX_CALL_DEPTH: usize = 64;

/// Clears all state: storage, contracts, logs, block.
pub fn reset() {
    with(|c| *c = Chain::default());
}

/// A test account address ending in `n`.
pub fn account(n: u64) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0xaa;
    a[12..].copy_from_slice(&n.to_be_bytes());
    Address(a)
}

/// Sets the block number and timestamp seen by contracts.
pub fn set_block(number: u64, timestamp: u64) {
    with(|c| {
        c.block_number = number;
        c.block_timestamp = timestamp;
    });
}

/// The logs emitted so far (those of reverted calls are removed).
pub fn logs() -> Vec<Log> {
    with(|c| c.logs.clone())
}

/// Returns and clears the logs emitted so far.
pub fn take_logs() -> Vec<Log> {
    with(|c| std::mem::take(&mut c.logs))
}

/// The raw word in `slot` of `address`'s storage.
pub fn storage_at(address: Address, slot: &Slot) -> [u8; 32] {
    with(|c| c.storage.get(&address).and_then(|s| s.get(&slot.0)).copied().unwrap_or([0; 32]))
}

/// Number of non-zero slots of `address`.
pub fn storage_len(address: Address) -> usize {
    with(|c| c.storage.get(&address).map_or(0, BTreeMap::len))
}

/// Runs `f` as code of the contract at `address` (called by the zero address, with empty input), so host
/// functions (storage, logs, `self_address`, …) act on that contract. Nothing is rolled back; a `return` or
/// `revert` inside `f` propagates as a panic.
pub fn in_contract<R>(address: Address, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            with(|c| c.frames.pop());
        }
    }
    with(|c| c.frames.push(Frame { address, caller: Address::ZERO, value: [0; 32], input: Vec::new() }));
    let _pop = Pop;
    f()
}

/// Runs `f` as a call to the contract at `address` from the zero address: like [`call`] (a `revert` or a panic in
/// `f` undoes its storage writes and logs), but with `f` as the code.
pub fn execute(address: Address, f: impl FnOnce()) -> Outcome {
    run_frame(address, Address::ZERO, [0; 32], Vec::new(), f)
}

/// Deploys `C` from `from` with constructor arguments `args` (ABI-encoded) at a fresh address.
pub fn deploy<C: Contract>(from: Address, args: &[u8]) -> (Address, Outcome) {
    deploy_with_value::<C>(from, U256::ZERO, args)
}

/// [`deploy`] with `value` wei attached to the creation.
pub fn deploy_with_value<C: Contract>(from: Address, value: U256, args: &[u8]) -> (Address, Outcome) {
    let address = with(|c| {
        c.next_address += 1;
        let mut a = [0u8; 20];
        a[0] = 0xcc;
        a[12..].copy_from_slice(&c.next_address.to_be_bytes());
        let a = Address(a);
        c.code.insert(a, C::__accord_call);
        c.origin = from;
        a
    });
    let out = run_frame(address, from, value.to_be_bytes(), args.to_vec(), C::__accord_deploy);
    if !out.is_success() {
        with(|c| c.code.remove(&address));
    }
    (address, out)
}

/// Calls `selector` of `to` from the account `from` with the ABI-encoded `args`.
pub fn send(from: Address, to: Address, selector: [u8; 4], args: &impl AbiParams) -> Outcome {
    call(from, to, &abi::encode_with_selector(selector, args))
}

/// Calls `to` from the account `from` (which becomes the origin) with `input`.
pub fn call(from: Address, to: Address, input: &[u8]) -> Outcome {
    call_with_value(from, to, U256::ZERO, input)
}

/// Calls `to` from the account `from` with `input`, `value` wei attached.
pub fn call_with_value(from: Address, to: Address, value: U256, input: &[u8]) -> Outcome {
    with(|c| c.origin = from);
    match with(|c| c.code.get(&to).copied()) {
        Some(entry) => run_frame(to, from, value.to_be_bytes(), input.to_vec(), entry),
        None => Outcome { status: CallStatus::Success, output: Vec::new() },
    }
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(std::boxed::Box::new(move |info| {
            if !info.payload().is::<Exit>() {
                previous(info);
            }
        }));
    });
}

fn panic_outcome(payload: std::boxed::Box<dyn Any + Send>) -> Outcome {
    match payload.downcast::<Exit>() {
        Ok(exit) => match *exit {
            Exit::Return(output) => Outcome { status: CallStatus::Success, output },
            Exit::Revert(output) => Outcome { status: CallStatus::Reverted, output },
            Exit::Fail => Outcome { status: CallStatus::Failed, output: Vec::new() },
        },
        // Like the wasm panic handler: a panic reverts with no data (with `panic-message`, a literal message
        // reverts with `Error(message)`).
        Err(other) => match other.downcast::<&'static str>() {
            Ok(m) if cfg!(feature = "panic-message") => {
                Outcome { status: CallStatus::Reverted, output: crate::error::error_string(&m) }
            }
            _ => Outcome { status: CallStatus::Reverted, output: Vec::new() },
        },
    }
}

/// Runs `entry` as a call frame; a reverted or failed frame's storage writes and logs are undone.
fn run_frame(address: Address, caller: Address, value: [u8; 32], input: Vec<u8>, entry: impl FnOnce()) -> Outcome {
    install_quiet_hook();
    let (snapshot, log_len) = with(|c| {
        c.frames.push(Frame { address, caller, value, input });
        (c.storage.clone(), c.logs.len())
    });
    let out = match panic::catch_unwind(AssertUnwindSafe(entry)) {
        Ok(()) => Outcome { status: CallStatus::Success, output: Vec::new() },
        Err(payload) => panic_outcome(payload),
    };
    with(|c| {
        c.frames.pop();
        if !out.is_success() {
            c.storage = snapshot;
            c.logs.truncate(log_len);
        }
    });
    out
}

/// The host functions of [`crate::sys`] on the test chain.
#[allow(clippy::missing_safety_doc, missing_docs)]
pub mod host {
    use super::*;

    unsafe fn read<'a>(p: *const u8, len: usize) -> &'a [u8] {
        if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(p, len) } }
    }

    unsafe fn write(p: *mut u8, data: &[u8]) {
        if !data.is_empty() {
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        }
    }

    unsafe fn word(p: *const u8) -> [u8; 32] {
        let mut w = [0u8; 32];
        w.copy_from_slice(unsafe { read(p, 32) });
        w
    }

    pub unsafe fn input_len() -> i32 {
        frame(|f| f.input.len() as i32)
    }
    pub unsafe fn input_read(dst: *mut u8) {
        let input = frame(|f| f.input.clone());
        unsafe { write(dst, &input) };
    }
    pub unsafe fn storage_read(key: *const u8, dst: *mut u8) {
        let key = unsafe { word(key) };
        let addr = frame(|f| f.address);
        let v = with(|c| c.storage.get(&addr).and_then(|s| s.get(&key)).copied().unwrap_or([0; 32]));
        unsafe { write(dst, &v) };
    }
    pub unsafe fn storage_write(key: *const u8, value: *const u8) {
        let (key, value) = unsafe { (word(key), word(value)) };
        let addr = frame(|f| f.address);
        with(|c| {
            let s = c.storage.entry(addr).or_default();
            if value == [0; 32] {
                s.remove(&key);
            } else {
                s.insert(key, value);
            }
        });
    }
    pub unsafe fn storage_remove(key: *const u8) {
        let key = unsafe { word(key) };
        let addr = frame(|f| f.address);
        with(|c| c.storage.entry(addr).or_default().remove(&key));
    }
    pub unsafe fn caller(dst: *mut u8) {
        let a = frame(|f| f.caller);
        unsafe { write(dst, &a.0) };
    }
    pub unsafe fn origin(dst: *mut u8) {
        let a = with(|c| c.origin);
        unsafe { write(dst, &a.0) };
    }
    pub unsafe fn self_address(dst: *mut u8) {
        let a = frame(|f| f.address);
        unsafe { write(dst, &a.0) };
    }
    pub unsafe fn value(dst: *mut u8) {
        let v = frame(|f| f.value);
        unsafe { write(dst, &v) };
    }
    pub unsafe fn block_number() -> i64 {
        with(|c| c.block_number as i64)
    }
    pub unsafe fn block_timestamp() -> i64 {
        with(|c| c.block_timestamp as i64)
    }
    pub unsafe fn emit_log(topics: *const u8, n_topics: i32, data: *const u8, data_len: i32) {
        if !(0..=4).contains(&n_topics) {
            panic::panic_any(Exit::Fail);
        }
        let raw = unsafe { read(topics, n_topics as usize * 32) };
        let topics = raw.chunks(32).map(|c| c.try_into().expect("32-byte chunk")).collect();
        let data = unsafe { read(data, data_len as usize) }.to_vec();
        let address = frame(|f| f.address);
        with(|c| c.logs.push(Log { address, topics, data }));
    }
    pub unsafe fn call(address: *const u8, value: *const u8, input: *const u8, input_len: i32, _gas: i64) -> i32 {
        let mut to = [0u8; 20];
        to.copy_from_slice(unsafe { read(address, 20) });
        let to = Address(to);
        let value = unsafe { word(value) };
        let input = unsafe { read(input, input_len as usize) }.to_vec();
        let (me, depth, entry) =
            with(|c| (c.frames.last().map(|f| f.address), c.frames.len(), c.code.get(&to).copied()));
        let me = me.expect("call outside a contract call");
        let out = if depth >= MAX_CALL_DEPTH {
            Outcome { status: CallStatus::Failed, output: Vec::new() }
        } else {
            match entry {
                Some(entry) => run_frame(to, me, value, input, entry),
                None => Outcome { status: CallStatus::Success, output: Vec::new() },
            }
        };
        with(|c| c.return_data = out.output);
        out.status.code() as i32
    }
    pub unsafe fn return_data_len() -> i32 {
        with(|c| c.return_data.len() as i32)
    }
    pub unsafe fn return_data_read(dst: *mut u8) {
        let d = with(|c| c.return_data.clone());
        unsafe { write(dst, &d) };
    }
    pub unsafe fn return_(data: *const u8, len: i32) -> ! {
        let d = unsafe { read(data, len as usize) }.to_vec();
        panic::panic_any(Exit::Return(d))
    }
    pub unsafe fn revert(data: *const u8, len: i32) -> ! {
        let d = unsafe { read(data, len as usize) }.to_vec();
        panic::panic_any(Exit::Revert(d))
    }
    pub unsafe fn keccak256(data: *const u8, len: i32, dst: *mut u8) {
        use tiny_keccak::Hasher;
        let mut k = tiny_keccak::Keccak::v256();
        k.update(unsafe { read(data, len as usize) });
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        unsafe { write(dst, &out) };
    }
    pub unsafe fn ecrecover(_hash: *const u8, _sig: *const u8, _dst: *mut u8) -> i32 {
        0
    }
    pub unsafe fn gas_left() -> i64 {
        1_000_000_000
    }
}
