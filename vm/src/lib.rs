//! The contract runtime on wasmtime: host ABI, fuel metering, memory and stack limits, deterministic engine
//! configuration and the compiled-module cache (DESIGN.md §5, `docs/contract-abi.md`).
//!
//! The node gives the VM a [`Host`]: its journaled view of world state. The VM owns it for the duration of a call
//! (wasmtime stores need owned data) and hands it back with the [`Outcome`]. Every call, nested ones included,
//! takes a host checkpoint first and rolls back to it unless the call succeeds, so a revert, trap or out-of-gas
//! undoes exactly that call's effects.
//!
//! Pure parts (the gas schedule, the deploy envelope, the ABI table and module checks, the 63/64 call-gas rule) are
//! separate from the engine so they can be tested without one.

pub mod abi;
mod cache;
pub mod config;
pub mod envelope;
pub mod gas;
pub mod host;
pub mod identity;
pub mod native;
mod runtime;
pub mod stack_meter;
pub mod structure;

pub use config::VmConfig;
pub use host::{BlockInfo, Host, HostError};
pub use identity::{EngineIdentity, identity};
pub use native::{NativeCall, NativeContracts};
pub use runtime::{CallParams, DeployParams, Failure, Outcome, Status, Vm, VmError};

/// Version of the host ABI (`docs/contract-abi.md`); part of the module cache key.
pub const ABI_VERSION: u32 = 1;
