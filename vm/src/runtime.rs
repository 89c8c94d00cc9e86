//! `Vm`: runs contract calls and deployments on wasmtime against a [`Host`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_sdk::B256;
use alloy_primitives::{Address, Log, LogData, Signature, U256, keccak256};
use wasmtime::{Caller, Engine, InstancePre, Linker, Memory, Module, ResourceLimiter, Store, Trap};

use crate::abi::{self, Export, Import, ModuleError, ValType};
use crate::cache::ModuleCache;
use crate::config::{VmConfig, engine_config};
use crate::envelope::{self, EnvelopeError};
use crate::gas;
use crate::host::{BlockInfo, Host, HostError};
use crate::native::{NativeCall, NativeContracts};

/// Why a call failed (the exceptional halts: all the call's gas is consumed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Ran out of gas (fuel).
    #[error("out of gas")]
    OutOfGas,
    /// Exhausted the wasm stack (e.g. unbounded recursion).
    #[error("stack exhausted")]
    StackExhausted,
    /// Call chain deeper than the limit.
    #[error("call depth limit exceeded")]
    CallDepth,
    /// The contract trapped (unreachable, division by zero, out-of-bounds access, memory limit at instantiation …).
    #[error("trap: {0}")]
    Trap(String),
    /// The caller cannot pay the value sent.
    #[error("insufficient balance for value transfer")]
    InsufficientBalance,
    /// Creation data is not a deploy envelope.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The module breaks the deploy rules.
    #[error(transparent)]
    Module(#[from] ModuleError),
    /// A contract or account already lives at the creation address.
    #[error("contract address collision")]
    AddressCollision,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Completed; its effects stand.
    Success,
    /// Reverted by the contract; effects undone, gas used charged.
    Revert,
    /// Failed; effects undone, all gas consumed.
    Failure(Failure),
}

/// The result of a call or deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Gas consumed (all of it on failure).
    pub gas_used: u64,
    /// Output (`return` data, or revert data).
    pub output: Vec<u8>,
    /// Logs, in order (empty unless successful).
    pub logs: Vec<Log>,
    /// The new contract, for a successful deployment.
    pub created: Option<Address>,
}

impl Outcome {
    /// A revert with Solidity's `Error(string)` reason (selector `0x08c379a0`), so clients show `reason`.
    pub fn reverted(reason: &str) -> Self {
        let mut output = vec![0x08, 0xc3, 0x79, 0xa0];
        output.extend_from_slice(&U256::from(32u8).to_be_bytes::<32>());
        output.extend_from_slice(&U256::from(reason.len()).to_be_bytes::<32>());
        output.extend_from_slice(reason.as_bytes());
        output.resize(4 + 64 + reason.len().div_ceil(32) * 32, 0);
        Self { status: Status::Revert, gas_used: 0, output, logs: Vec::new(), created: None }
    }

    fn failed(failure: Failure, gas_limit: u64) -> Self {
        Self {
            status: Status::Failure(failure),
            gas_used: gas_limit,
            output: Vec::new(),
            logs: Vec::new(),
            created: None,
        }
    }

    /// True when the call succeeded.
    pub fn is_success(&self) -> bool {
        self.status == Status::Success
    }
}

/// Errors that abort the block instead of producing a receipt.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The node's state failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The engine could not be set up.
    #[error("contract engine: {0}")]
    Engine(String),
}

/// A call of a contract (or a value transfer to an account without code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParams {
    /// Immediate caller.
    pub caller: Address,
    /// Transaction signer.
    pub origin: Address,
    /// Callee.
    pub address: Address,
    /// Wei sent.
    pub value: U256,
    /// Calldata.
    pub input: Vec<u8>,
    /// Gas available to the call.
    pub gas_limit: u64,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployParams {
    /// Deployer.
    pub caller: Address,
    /// Transaction signer.
    pub origin: Address,
    /// Address of the new contract (the node derives it as Ethereum's CREATE does).
    pub address: Address,
    /// Wei endowed.
    pub value: U256,
    /// Deploy envelope followed by constructor arguments.
    pub data: Vec<u8>,
    /// Gas available.
    pub gas_limit: u64,
}

/// How a frame ended, set by host functions before they unwind the wasm stack.
enum Exit {
    Return(Vec<u8>),
    Revert(Vec<u8>),
    Fail(Failure),
    Host(HostError),
}

/// Memory bound plus the gas owed for growth (charged at the next host call and at the end of the call).
struct MemoryLimiter {
    max_bytes: u64,
    /// Linear memory of every frame of this transaction alive now, shared by all of them: nested calls cannot each
    /// take the per-contract maximum.
    tx_memory: Arc<AtomicU64>,
    max_tx_bytes: u64,
    /// This frame's share of `tx_memory`, returned when the frame ends.
    mine: u64,
    unpaid_gas: u64,
    /// The host itself could not provide memory the contract was entitled to: not the contract's fault, and not
    /// something other nodes would see, so the block is aborted instead of producing a receipt.
    host_failure: Option<String>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_bytes {
            return Ok(false);
        }
        let delta = (desired as u64).saturating_sub(current as u64);
        if self.tx_memory.load(Ordering::Relaxed).saturating_add(delta) > self.max_tx_bytes {
            return Ok(false);
        }
        self.tx_memory.fetch_add(delta, Ordering::Relaxed);
        self.mine += delta;
        let page = 64 * 1024;
        self.unpaid_gas =
            self.unpaid_gas.saturating_add(gas::memory_growth((current / page) as u64, (desired / page) as u64));
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 65_536)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.host_failure = Some(format!("{error:#}"));
        Err(error)
    }
}

/// One executing call: the store's data.
struct Frame<H: Host> {
    host: Option<H>,
    vm: Arc<Inner<H>>,
    block: BlockInfo,
    caller: Address,
    origin: Address,
    address: Address,
    value: U256,
    input: Vec<u8>,
    depth: u32,
    logs: Vec<Log>,
    return_data: Vec<u8>,
    exit: Option<Exit>,
    memory: Option<Memory>,
    limiter: MemoryLimiter,
    /// The call trapped in the metered stack check (`stack_meter.rs`).
    stack_exhausted: bool,
}

struct Inner<H: Host> {
    engine: Engine,
    linker: Linker<Frame<H>>,
    cache: ModuleCache<Frame<H>>,
    config: VmConfig,
    natives: Option<Arc<dyn NativeContracts<H>>>,
}

/// The contract runtime. Cheap to share: clones refer to the same engine and module cache.
pub struct Vm<H: Host> {
    inner: Arc<Inner<H>>,
}

impl<H: Host> Clone for Vm<H> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<H: Host> std::fmt::Debug for Vm<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("config", &self.inner.config)
            .field("cached_modules", &self.inner.cache.len())
            .finish()
    }
}

struct CallCtx {
    /// Memory of the transaction's live frames (see `MemoryLimiter`).
    tx_memory: Arc<AtomicU64>,
    caller: Address,
    origin: Address,
    address: Address,
    value: U256,
    input: Vec<u8>,
}

impl CallCtx {
    /// The outermost call of a transaction: it starts the transaction's memory budget.
    fn transaction(caller: Address, origin: Address, address: Address, value: U256, input: Vec<u8>) -> Self {
        Self { tx_memory: Arc::default(), caller, origin, address, value, input }
    }
}

impl<H: Host> Vm<H> {
    /// A runtime with the deterministic engine configuration and the given limits.
    pub fn new(config: VmConfig) -> Result<Self, VmError> {
        Self::build(config, None)
    }

    /// A runtime whose calls to `natives`' addresses run them instead of wasm.
    pub fn with_natives(config: VmConfig, natives: Arc<dyn NativeContracts<H>>) -> Result<Self, VmError> {
        Self::build(config, Some(natives))
    }

    fn build(config: VmConfig, natives: Option<Arc<dyn NativeContracts<H>>>) -> Result<Self, VmError> {
        let engine = Engine::new(&engine_config(&config)).map_err(|e| VmError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        define_host_functions(&mut linker).map_err(|e| VmError::Engine(e.to_string()))?;
        let cache = ModuleCache::new(config.module_cache_entries);
        Ok(Self { inner: Arc::new(Inner { engine, linker, cache, config, natives }) })
    }

    /// The limits.
    pub fn config(&self) -> VmConfig {
        self.inner.config
    }

    /// True when the module with this code hash is compiled and cached (what a call looks up first).
    pub fn is_cached(&self, code_hash: &B256) -> bool {
        self.inner.cache.get(code_hash).is_some()
    }

    /// Checks a module against the deploy rules (size, features, imports, exports) without deploying it.
    pub fn validate(&self, module: &[u8]) -> Result<(), ModuleError> {
        crate::structure::check(module)?;
        self.inner.prepare(&keccak256(module), module).map(|_| ())
    }

    /// Calls `params.address` with `params.input`, moving `params.value` first. An account without code just
    /// receives the value.
    pub fn call(&self, host: H, block: BlockInfo, params: CallParams) -> Result<(H, Outcome), VmError> {
        let ctx = CallCtx::transaction(params.caller, params.origin, params.address, params.value, params.input);
        run_call(&self.inner, host, block, ctx, params.gas_limit, 1)
    }

    /// Deploys the module in `params.data`'s envelope at `params.address` and runs its `deploy` export with the
    /// constructor arguments.
    pub fn deploy(&self, mut host: H, block: BlockInfo, params: DeployParams) -> Result<(H, Outcome), VmError> {
        let gas_limit = params.gas_limit;
        let cp = host.checkpoint();
        let fail = |mut host: H, f: Failure| {
            host.revert_to(cp);
            Ok((host, Outcome::failed(f, gas_limit)))
        };
        let (module, args) = match envelope::split(&params.data) {
            Ok(parts) => parts,
            Err(e) => return fail(host, e.into()),
        };
        // Compilation and storage are paid before either happens (and whether or not the module is cached).
        let deposit = gas::deploy(module.len() as u64);
        if deposit > gas_limit {
            return fail(host, Failure::OutOfGas);
        }
        if host.account_exists(params.address)? || self.inner.is_native(params.address) {
            return fail(host, Failure::AddressCollision);
        }
        // New code only (stored code keeps running under the rules it was deployed with), whether or not the
        // same module is already compiled in the cache.
        if let Err(e) = crate::structure::check(module) {
            return fail(host, e.into());
        }
        let hash = keccak256(module);
        let pre = match self.inner.prepare(&hash, module) {
            Ok(pre) => pre,
            Err(e) => return fail(host, e.into()),
        };
        host.set_code(params.address, hash, module)?;
        if !params.value.is_zero() && !host.transfer(params.caller, params.address, params.value)? {
            return fail(host, Failure::InsufficientBalance);
        }
        let ctx = CallCtx::transaction(params.caller, params.origin, params.address, params.value, args.to_vec());
        let (mut host, mut outcome) = execute(&self.inner, host, block, ctx, &pre, "deploy", gas_limit - deposit, 1)?;
        if outcome.is_success() {
            outcome.gas_used += deposit;
            outcome.created = Some(params.address);
        } else {
            host.revert_to(cp);
            if matches!(outcome.status, Status::Failure(_)) {
                outcome.gas_used = gas_limit;
            } else {
                outcome.gas_used += deposit;
            }
        }
        Ok((host, outcome))
    }
}

impl<H: Host> Inner<H> {
    fn is_native(&self, address: Address) -> bool {
        self.natives.as_ref().is_some_and(|n| n.is_native(address))
    }

    /// A compiled, checked, linked module: from the cache, or compiled now.
    fn prepare(&self, hash: &B256, module: &[u8]) -> Result<InstancePre<Frame<H>>, ModuleError> {
        if let Some(pre) = self.cache.get(hash) {
            return Ok(pre);
        }
        if module.len() > self.config.max_code_bytes {
            return Err(ModuleError::TooLarge { size: module.len(), limit: self.config.max_code_bytes });
        }
        // wasmtime 47 charges bulk memory operations 1 fuel per byte before doing them, so modules compile as they
        // are (Accord once rewrote each into a metering call, when wasmtime charged them 1 per instruction).
        let metered =
            crate::stack_meter::instrument(module, self.config.max_stack_units, crate::config::rewrite_features())?;
        let compiled = Module::new(&self.engine, &metered).map_err(|e| ModuleError::Invalid(format!("{e:#}")))?;
        abi::check_imports(compiled.imports().map(|i| match i.ty() {
            wasmtime::ExternType::Func(f) => Import::Func {
                module: i.module().to_string(),
                name: i.name().to_string(),
                params: f.params().map(val_type).collect(),
                results: f.results().map(val_type).collect(),
            },
            _ => Import::Other { module: i.module().to_string(), name: i.name().to_string() },
        }))?;
        abi::check_exports(compiled.exports().map(|e| match e.ty() {
            wasmtime::ExternType::Func(f) => {
                Export::Func { name: e.name().to_string(), nullary: f.params().len() == 0 && f.results().len() == 0 }
            }
            wasmtime::ExternType::Memory(_) => Export::Memory(e.name().to_string()),
            _ => Export::Other(e.name().to_string()),
        }))?;
        let pre = self.linker.instantiate_pre(&compiled).map_err(|e| ModuleError::Invalid(format!("{e:#}")))?;
        self.cache.insert(*hash, pre.clone());
        Ok(pre)
    }
}

fn val_type(t: wasmtime::ValType) -> Option<ValType> {
    match t {
        wasmtime::ValType::I32 => Some(ValType::I32),
        wasmtime::ValType::I64 => Some(ValType::I64),
        _ => None,
    }
}

/// A call at `depth`: value transfer, then the callee's code (if any), all undone unless it succeeds.
fn run_call<H: Host>(
    inner: &Arc<Inner<H>>,
    mut host: H,
    block: BlockInfo,
    ctx: CallCtx,
    gas_limit: u64,
    depth: u32,
) -> Result<(H, Outcome), VmError> {
    let cp = host.checkpoint();
    if depth > inner.config.max_call_depth {
        return Ok((host, Outcome::failed(Failure::CallDepth, gas_limit)));
    }
    if let Some(natives) = inner.natives.as_ref()
        && let Some(reason) = natives.refuse_call(&mut host, ctx.caller, ctx.address, &ctx.input, block.number)?
    {
        return Ok((host, Outcome::reverted(&reason)));
    }
    if !ctx.value.is_zero() && !host.transfer(ctx.caller, ctx.address, ctx.value)? {
        host.revert_to(cp);
        return Ok((host, Outcome::failed(Failure::InsufficientBalance, gas_limit)));
    }
    if let Some(natives) = inner.natives.as_ref().filter(|n| n.is_native(ctx.address)) {
        let call = NativeCall {
            caller: ctx.caller,
            origin: ctx.origin,
            address: ctx.address,
            value: ctx.value,
            input: &ctx.input,
            gas_limit,
            block,
        };
        let mut outcome = natives.call(&mut host, call)?;
        outcome.gas_used = outcome.gas_used.min(gas_limit);
        outcome.created = None;
        if let Status::Failure(_) = outcome.status {
            // As for wasm: a failure consumes all the gas and returns nothing.
            outcome.gas_used = gas_limit;
            outcome.output.clear();
        }
        if !outcome.is_success() {
            outcome.logs.clear();
            host.revert_to(cp);
        }
        return Ok((host, outcome));
    }
    let Some(hash) = host.code_hash(ctx.address)? else {
        let ok = Outcome { status: Status::Success, gas_used: 0, output: Vec::new(), logs: Vec::new(), created: None };
        return Ok((host, ok));
    };
    let prepared = match inner.cache.get(&hash) {
        Some(pre) => Ok(pre),
        None => match host.code(hash)? {
            Some(code) => inner.prepare(&hash, &code),
            None => Err(ModuleError::Invalid(format!("code {hash} is missing from state"))),
        },
    };
    // Deployed code passed these checks, so a refusal here means missing state or a changed engine: never a receipt
    // (a node with the module cached would not even look), always an aborted block.
    let pre =
        prepared.map_err(|e| VmError::Engine(format!("contract {} code {hash} cannot be loaded: {e}", ctx.address)))?;
    let (mut host, outcome) = execute(inner, host, block, ctx, &pre, "call", gas_limit, depth)?;
    if !outcome.is_success() {
        host.revert_to(cp);
    }
    Ok((host, outcome))
}

/// Instantiates and runs one entry point. The caller rolls back on anything but success.
#[allow(clippy::too_many_arguments)]
fn execute<H: Host>(
    inner: &Arc<Inner<H>>,
    host: H,
    block: BlockInfo,
    ctx: CallCtx,
    pre: &InstancePre<Frame<H>>,
    entry: &str,
    gas_limit: u64,
    depth: u32,
) -> Result<(H, Outcome), VmError> {
    let frame = Frame {
        host: Some(host),
        vm: inner.clone(),
        block,
        caller: ctx.caller,
        origin: ctx.origin,
        address: ctx.address,
        value: ctx.value,
        input: ctx.input,
        depth,
        logs: Vec::new(),
        return_data: Vec::new(),
        exit: None,
        memory: None,
        limiter: MemoryLimiter {
            max_bytes: if block.max_memory_bytes == 0 { inner.config.max_memory_bytes } else { block.max_memory_bytes },
            tx_memory: ctx.tx_memory,
            max_tx_bytes: if block.max_memory_bytes == 0 {
                inner.config.max_tx_memory_bytes
            } else {
                block.max_memory_bytes.saturating_mul(4)
            },
            mine: 0,
            unpaid_gas: 0,
            host_failure: None,
        },
        stack_exhausted: false,
    };
    // Every call level gets a fresh wasm stack budget (wasmtime measures it from where the store is entered), so a
    // chain of nested calls needs depth × budget of native stack: run each level where that much is left, switching
    // to a new stack segment when the thread's is running out.
    let budget = inner.config.max_wasm_stack_bytes;
    stacker::maybe_grow(budget + HOST_STACK_RESERVE, budget + 2 * HOST_STACK_RESERVE, move || {
        run_store(inner, frame, pre, entry, gas_limit)
    })
}

/// Native stack kept for host frames around a wasm call (VM, host functions, wasmtime's entry trampolines).
const HOST_STACK_RESERVE: usize = 256 * 1024;

fn run_store<H: Host>(
    inner: &Arc<Inner<H>>,
    frame: Frame<H>,
    pre: &InstancePre<Frame<H>>,
    entry: &str,
    gas_limit: u64,
) -> Result<(H, Outcome), VmError> {
    let mut store = Store::new(&inner.engine, frame);
    store.limiter(|f| &mut f.limiter);
    let result = store.set_fuel(gas_limit).and_then(|()| {
        let instance = pre.instantiate(&mut store)?;
        let memory = instance.get_memory(&mut store, "memory");
        store.data_mut().memory = memory;
        let f = instance.get_typed_func::<(), ()>(&mut store, entry)?;
        let result = f.call(&mut store, ());
        if result.is_err()
            && let Some(wasmtime::Val::I32(units)) =
                instance.get_global(&mut store, crate::stack_meter::COUNTER_EXPORT).map(|g| g.get(&mut store))
        {
            // The count only passes the limit in the metered check, which traps right there.
            store.data_mut().stack_exhausted = units as u32 > inner.config.max_stack_units;
        }
        result
    });
    let fuel_left = store.get_fuel().unwrap_or(0);
    let frame = store.into_data();
    // The store (and its memory) is gone: give this frame's memory back to the transaction's budget.
    frame.limiter.tx_memory.fetch_sub(frame.limiter.mine, Ordering::Relaxed);
    if let Some(Exit::Host(e)) = frame.exit {
        return Err(e.into());
    }
    if let Some(e) = frame.limiter.host_failure {
        return Err(VmError::Engine(format!("the node could not allocate contract memory: {e}")));
    }
    let Some(host) = frame.host else {
        return Err(VmError::Engine("a nested call did not hand the state back".into()));
    };
    let unpaid = frame.limiter.unpaid_gas;
    let (status, output) = match (frame.exit, result) {
        (Some(Exit::Return(out)), _) => (Status::Success, out),
        (None, Ok(())) => (Status::Success, Vec::new()),
        (Some(Exit::Revert(out)), _) => (Status::Revert, out),
        (Some(Exit::Fail(f)), _) => (Status::Failure(f), Vec::new()),
        (Some(Exit::Host(_)), _) => unreachable!("handled above"),
        (None, Err(_)) if frame.stack_exhausted => (Status::Failure(Failure::StackExhausted), Vec::new()),
        (None, Err(e)) => (Status::Failure(classify(&e)), Vec::new()),
    };
    let outcome = match status {
        Status::Failure(f) => Outcome::failed(f, gas_limit),
        _ if unpaid > fuel_left => Outcome::failed(Failure::OutOfGas, gas_limit),
        status => {
            let logs = if status == Status::Success { frame.logs } else { Vec::new() };
            Outcome { status, gas_used: gas_limit - (fuel_left - unpaid), output, logs, created: None }
        }
    };
    Ok((host, outcome))
}

fn classify(e: &wasmtime::Error) -> Failure {
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfGas,
        Some(Trap::StackOverflow) => Failure::StackExhausted,
        Some(t) => Failure::Trap(t.to_string()),
        None => Failure::Trap(format!("{e}")),
    }
}

// ---- host functions ----

type Ctx<'a, H> = Caller<'a, Frame<H>>;

/// Ends the frame: records how, and unwinds the wasm stack.
fn exit<H: Host>(caller: &mut Ctx<'_, H>, how: Exit) -> wasmtime::Error {
    caller.data_mut().exit = Some(how);
    wasmtime::Error::msg("contract frame ended")
}

fn charge<H: Host>(caller: &mut Ctx<'_, H>, cost: u64) -> wasmtime::Result<()> {
    let owed = std::mem::take(&mut caller.data_mut().limiter.unpaid_gas);
    let cost = cost.saturating_add(owed);
    let fuel = caller.get_fuel()?;
    if fuel < cost {
        caller.set_fuel(0)?;
        return Err(exit(caller, Exit::Fail(Failure::OutOfGas)));
    }
    caller.set_fuel(fuel - cost)
}

fn range(ptr: i32, len: usize, mem_len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= mem_len).then_some(start..end)
}

fn read<H: Host>(caller: &mut Ctx<'_, H>, ptr: i32, len: usize) -> wasmtime::Result<Vec<u8>> {
    let Some(memory) = caller.data().memory else {
        return Err(exit(caller, Exit::Fail(Failure::Trap("no memory".into()))));
    };
    let data = memory.data(&*caller);
    match range(ptr, len, data.len()) {
        Some(r) => Ok(data[r].to_vec()),
        None => Err(exit(caller, Exit::Fail(Failure::Trap("host call reads out of bounds".into())))),
    }
}

fn read_array<const N: usize, H: Host>(caller: &mut Ctx<'_, H>, ptr: i32) -> wasmtime::Result<[u8; N]> {
    let v = read(caller, ptr, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&v);
    Ok(out)
}

fn write<H: Host>(caller: &mut Ctx<'_, H>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let Some(memory) = caller.data().memory else {
        return Err(exit(caller, Exit::Fail(Failure::Trap("no memory".into()))));
    };
    let data = memory.data_mut(&mut *caller);
    match range(ptr, bytes.len(), data.len()) {
        Some(r) => {
            data[r].copy_from_slice(bytes);
            Ok(())
        }
        None => Err(exit(caller, Exit::Fail(Failure::Trap("host call writes out of bounds".into())))),
    }
}

fn length(len: i32) -> usize {
    len as u32 as usize
}

fn host_result<T, H: Host>(caller: &mut Ctx<'_, H>, r: Result<T, HostError>) -> wasmtime::Result<T> {
    r.map_err(|e| exit(caller, Exit::Host(e)))
}

fn with_host<T, H: Host>(
    caller: &mut Ctx<'_, H>,
    f: impl FnOnce(&mut H, Address) -> Result<T, HostError>,
) -> wasmtime::Result<T> {
    let address = caller.data().address;
    let r = match caller.data_mut().host.as_mut() {
        Some(h) => f(h, address),
        None => Err(HostError("state is unavailable".into())),
    };
    host_result(caller, r)
}

fn define_host_functions<H: Host>(l: &mut Linker<Frame<H>>) -> wasmtime::Result<()> {
    let m = abi::MODULE;
    // Every host function charges first, before it reads contract memory or state: a frame that cannot pay has
    // made the node do nothing but the check. `HOST_CALL` is the crossing itself; the rest is the work's price.
    l.func_wrap(m, "input_len", |mut c: Ctx<'_, H>| -> wasmtime::Result<i32> {
        charge(&mut c, gas::HOST_CALL)?;
        Ok(c.data().input.len() as i32)
    })?;
    l.func_wrap(m, "input_read", |mut c: Ctx<'_, H>, dst: i32| copy_out(&mut c, |f| &mut f.input, dst))?;
    l.func_wrap(m, "storage_read", |mut c: Ctx<'_, H>, key: i32, dst: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL + gas::STORAGE_READ)?;
        let key = B256::from(read_array::<32, H>(&mut c, key)?);
        let value = with_host(&mut c, |h, me| h.storage_read(me, key))?;
        write(&mut c, dst, value.as_slice())
    })?;
    l.func_wrap(m, "storage_write", |mut c: Ctx<'_, H>, key: i32, value: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL)?;
        let key = B256::from(read_array::<32, H>(&mut c, key)?);
        let value = B256::from(read_array::<32, H>(&mut c, value)?);
        store_slot(&mut c, key, value)
    })?;
    l.func_wrap(m, "storage_remove", |mut c: Ctx<'_, H>, key: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL)?;
        let key = B256::from(read_array::<32, H>(&mut c, key)?);
        store_slot(&mut c, key, B256::ZERO)
    })?;
    l.func_wrap(m, "caller", |mut c: Ctx<'_, H>, dst: i32| {
        charge(&mut c, gas::HOST_CALL)?;
        let a = c.data().caller;
        write(&mut c, dst, a.as_slice())
    })?;
    l.func_wrap(m, "origin", |mut c: Ctx<'_, H>, dst: i32| {
        charge(&mut c, gas::HOST_CALL)?;
        let a = c.data().origin;
        write(&mut c, dst, a.as_slice())
    })?;
    l.func_wrap(m, "self_address", |mut c: Ctx<'_, H>, dst: i32| {
        charge(&mut c, gas::HOST_CALL)?;
        let a = c.data().address;
        write(&mut c, dst, a.as_slice())
    })?;
    l.func_wrap(m, "value", |mut c: Ctx<'_, H>, dst: i32| {
        charge(&mut c, gas::HOST_CALL)?;
        let v = c.data().value.to_be_bytes::<32>();
        write(&mut c, dst, &v)
    })?;
    l.func_wrap(m, "block_number", |mut c: Ctx<'_, H>| -> wasmtime::Result<i64> {
        charge(&mut c, gas::HOST_CALL)?;
        Ok(c.data().block.number as i64)
    })?;
    l.func_wrap(m, "block_timestamp", |mut c: Ctx<'_, H>| -> wasmtime::Result<i64> {
        charge(&mut c, gas::HOST_CALL)?;
        Ok(c.data().block.timestamp as i64)
    })?;
    l.func_wrap(
        m,
        "emit_log",
        |mut c: Ctx<'_, H>, topics: i32, n: i32, data: i32, len: i32| -> wasmtime::Result<()> {
            charge(&mut c, gas::HOST_CALL)?;
            let n = n as u32;
            if n > gas::MAX_TOPICS {
                return Err(exit(&mut c, Exit::Fail(Failure::Trap(format!("a log has at most 4 topics, not {n}")))));
            }
            charge(&mut c, gas::log(n as u64, length(len) as u64))?;
            let raw = read(&mut c, topics, 32 * n as usize)?;
            let data = read(&mut c, data, length(len))?;
            let topics: Vec<B256> = raw.chunks_exact(32).map(B256::from_slice).collect();
            let address = c.data().address;
            c.data_mut().logs.push(Log { address, data: LogData::new_unchecked(topics, data.into()) });
            Ok(())
        },
    )?;
    l.func_wrap(
        m,
        "call",
        |mut c: Ctx<'_, H>, to: i32, value: i32, input: i32, len: i32, gas_asked: i64| -> wasmtime::Result<i32> {
            // The base price first; the value surcharge once the value is read.
            charge(&mut c, gas::HOST_CALL + gas::CALL_BASE)?;
            let to = Address::from(read_array::<20, H>(&mut c, to)?);
            let value = U256::from_be_bytes(read_array::<32, H>(&mut c, value)?);
            let surcharge = if value.is_zero() { 0 } else { gas::CALL_VALUE };
            charge(&mut c, surcharge.saturating_add(gas::copy(length(len) as u64)))?;
            let input = read(&mut c, input, length(len))?;
            let available = c.get_fuel()?;
            // Read as unsigned: -1 asks for "all that may be forwarded".
            let give = gas::forwarded(gas_asked as u64, available);
            c.set_fuel(available - give)?;
            let Some(host) = c.data_mut().host.take() else {
                return Err(exit(&mut c, Exit::Host(HostError("state is unavailable".into()))));
            };
            let frame = c.data();
            let (vm, block, depth) = (frame.vm.clone(), frame.block, frame.depth);
            let ctx = CallCtx {
                tx_memory: frame.limiter.tx_memory.clone(),
                caller: frame.address,
                origin: frame.origin,
                address: to,
                value,
                input,
            };
            match run_call(&vm, host, block, ctx, give, depth + 1) {
                Ok((host, outcome)) => {
                    let refund = give.saturating_sub(outcome.gas_used);
                    let fuel = c.get_fuel()?;
                    c.set_fuel(fuel.saturating_add(refund))?;
                    let frame = c.data_mut();
                    frame.host = Some(host);
                    frame.return_data = outcome.output;
                    Ok(match outcome.status {
                        Status::Success => {
                            frame.logs.extend(outcome.logs);
                            0
                        }
                        Status::Revert => 1,
                        Status::Failure(_) => 2,
                    })
                }
                Err(VmError::Host(e)) => Err(exit(&mut c, Exit::Host(e))),
                Err(VmError::Engine(e)) => Err(exit(&mut c, Exit::Host(HostError(e)))),
            }
        },
    )?;
    l.func_wrap(m, "return_data_len", |mut c: Ctx<'_, H>| -> wasmtime::Result<i32> {
        charge(&mut c, gas::HOST_CALL)?;
        Ok(c.data().return_data.len() as i32)
    })?;
    l.func_wrap(m, "return_data_read", |mut c: Ctx<'_, H>, dst: i32| copy_out(&mut c, |f| &mut f.return_data, dst))?;
    l.func_wrap(m, "return", |mut c: Ctx<'_, H>, ptr: i32, len: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL + gas::copy(length(len) as u64))?;
        let out = read(&mut c, ptr, length(len))?;
        Err(exit(&mut c, Exit::Return(out)))
    })?;
    l.func_wrap(m, "revert", |mut c: Ctx<'_, H>, ptr: i32, len: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL + gas::copy(length(len) as u64))?;
        let out = read(&mut c, ptr, length(len))?;
        Err(exit(&mut c, Exit::Revert(out)))
    })?;
    l.func_wrap(m, "keccak256", |mut c: Ctx<'_, H>, ptr: i32, len: i32, dst: i32| -> wasmtime::Result<()> {
        charge(&mut c, gas::HOST_CALL + gas::keccak(length(len) as u64))?;
        let data = read(&mut c, ptr, length(len))?;
        write(&mut c, dst, keccak256(&data).as_slice())
    })?;
    l.func_wrap(m, "ecrecover", |mut c: Ctx<'_, H>, hash: i32, sig: i32, dst: i32| -> wasmtime::Result<i32> {
        charge(&mut c, gas::HOST_CALL + gas::ECRECOVER)?;
        let hash = B256::from(read_array::<32, H>(&mut c, hash)?);
        let sig = read_array::<65, H>(&mut c, sig)?;
        match recover(&hash, &sig) {
            Some(a) => {
                write(&mut c, dst, a.as_slice())?;
                Ok(1)
            }
            None => Ok(0),
        }
    })?;
    l.func_wrap(m, "gas_left", |mut c: Ctx<'_, H>| -> wasmtime::Result<i64> {
        charge(&mut c, gas::HOST_CALL)?;
        Ok(c.get_fuel()? as i64)
    })?;
    Ok(())
}

/// Copies a frame buffer (the input, the last call's output) into contract memory, charging for it first.
fn copy_out<H: Host>(c: &mut Ctx<'_, H>, buffer: fn(&mut Frame<H>) -> &mut Vec<u8>, dst: i32) -> wasmtime::Result<()> {
    let data = std::mem::take(buffer(c.data_mut()));
    let r = charge(c, gas::HOST_CALL + gas::copy(data.len() as u64)).and_then(|()| write(c, dst, &data));
    *buffer(c.data_mut()) = data;
    r
}

fn store_slot<H: Host>(c: &mut Ctx<'_, H>, key: B256, value: B256) -> wasmtime::Result<()> {
    // Charge the cheaper price first so a frame that cannot afford even that fails before touching state.
    charge(c, gas::STORAGE_UPDATE)?;
    let old = with_host(c, |h, me| h.storage_write(me, key, value))?;
    let extra = gas::storage_write(old.is_zero(), value.is_zero()) - gas::STORAGE_UPDATE;
    charge(c, extra)
}

/// `ecrecover` as Ethereum's precompile: r ‖ s ‖ v with v in {0, 1, 27, 28}.
pub(crate) fn recover(hash: &B256, sig: &[u8; 65]) -> Option<Address> {
    let parity = match sig[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => return None,
    };
    let r = U256::from_be_slice(&sig[..32]);
    let s = U256::from_be_slice(&sig[32..64]);
    Signature::new(r, s, parity).recover_address_from_prehash(hash).ok()
}
