//! The guest library of Accord contracts: WebAssembly modules that callers see as Ethereum contracts
//! (`docs/contract-abi.md`).
//!
//! - [`env`](mod@env): safe wrappers over every host function of module `accord` ([`sys`] has the raw imports).
//! - [`Address`], [`U256`], [`FixedBytes`]/[`B256`], [`Bytes`]: the Ethereum value types.
//! - [`abi`]: the Solidity ABI codec; [`erc20`]: collecting payment in an ERC-20 token.
//! - [`StorageValue`], [`Mapping`]: typed storage with Solidity's slot layout.
//! - [`Event`], [`event`](mod@event): Solidity-compatible logs.
//! - [`revert`], [`Error`], [`Result`], [`ensure!`]: reverting with `Error(string)` or custom errors.
//! - [`contract`], [`storage`](macro@storage), [`event`](macro@event), [`selector!`]: the macros that generate the `deploy`/`call` entry points,
//!   the dispatcher, the storage layout and the ABI JSON embedded in the module's `accord:abi` custom section.
//!
//! On wasm32 the library also installs a bump allocator (feature `allocator`) and a panic handler that reverts
//! (feature `panic-handler`). On other targets the host functions are provided by `testing`, an in-memory
//! chain for unit tests.
//!
//! ```ignore
//! #![no_std]
//! use accord_contract::prelude::*;
//!
//! #[storage]
//! pub struct Counter {
//!     count: StorageValue<U256>,
//! }
//!
//! #[contract]
//! impl Counter {
//!     #[message]
//!     pub fn increment(&mut self) -> Result<U256> {
//!         let n = self.count.get().checked_add(U256::ONE).ok_or("overflow")?;
//!         self.count.set(&n);
//!         Ok(n)
//!     }
//!
//!     #[message]
//!     pub fn count(&self) -> U256 {
//!         self.count.get()
//!     }
//! }
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod abi;
pub mod env;
pub mod erc20;
mod error;
pub mod event;
pub mod storage;
pub mod sys;
mod types;

#[cfg(target_arch = "wasm32")]
pub mod allocator;
#[cfg(all(target_arch = "wasm32", feature = "panic-handler"))]
mod panic;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{ERROR_SELECTOR, Error, PANIC_SELECTOR, Result, RevertReason, error_string, revert};
pub use event::{Event, Topic, emit};
pub use storage::{Entry, Mapping, MappingKey, Slot, Storage, StorageLayout, StorageType, StorageValue};
pub use types::{Address, B256, Bytes, FixedBytes, TryFromU256Error, U256};

/// Generates a contract's entry points from an `impl` block of its storage struct.
///
/// ```ignore
/// #[contract(events = [Transfer, Approval])]
/// impl Token {
///     #[constructor]
///     pub fn init(&mut self, name: String, symbol: String, initial_supply: U256) { /* … */ }
///     #[message]
///     pub fn transfer(&mut self, to: Address, value: U256) -> Result<bool> { /* … */ }
///     #[message]
///     pub fn balance_of(&self, owner: Address) -> U256 { /* … */ }
/// }
/// ```
///
/// - `#[constructor]` (at most one, `&mut self`): runs in `deploy` with the constructor arguments.
/// - `#[message]`: a public function. `&self` makes it `view`, `&mut self` `nonpayable`; `#[message(payable)]`
///   accepts value (`&mut self` only). Its Solidity name is the method name in camelCase (`balance_of` →
///   `balanceOf`), or `#[message(name = "…")]`; its selector is the first 4 bytes of
///   `keccak256("name(type1,type2,…)")`, computed at compile time.
/// - `#[fallback]` (at most one, no arguments): runs when no selector matches (or the input is shorter than 4
///   bytes); without it such a call reverts.
/// - Arguments and return values use the types of [`abi`]; a tuple return value is several outputs. A method
///   may return [`Result<T, E>`](Result), whose `Err` reverts with `E`'s [`RevertReason`].
/// - Methods without these attributes are ordinary methods, not callable from outside.
/// - `events = [A, B]` lists the `#[event]` types the contract emits, for its ABI JSON.
///
/// Non-payable methods revert when called with value; malformed arguments revert. The generated code exports
/// `deploy` and `call`, implements [`Contract`], and stores the ABI JSON (constructor, functions, fallback,
/// events) in the wasm custom section `accord:abi`. One `#[contract]` per crate.
pub use accord_contract_macros::contract;

/// Declares a Solidity event on a struct with named fields; `#[indexed]` fields (at most 3) become topics.
///
/// ```ignore
/// #[event]
/// pub struct Transfer {
///     #[indexed]
///     pub from: Address,
///     #[indexed]
///     pub to: Address,
///     pub value: U256,
/// }
/// // Transfer { from, to, value }.emit();
/// ```
///
/// The event's name is the struct's (or `#[event(name = "…")]`), its fields' names are camelCased like
/// `#[message]` arguments. It implements [`Event`].
pub use accord_contract_macros::event;

/// Lays out a contract's storage struct: each field (a [`StorageValue`], a [`Mapping`], or another `#[storage]`
/// struct) is given the next slot, in declaration order from 0, or the slot `#[slot(N)]` names (following fields
/// continue from there). It implements [`Storage`] and [`StorageLayout`] (so the struct can also be a mapping's
/// value, like a Solidity struct).
pub use accord_contract_macros::storage;

/// The 4-byte selector of a canonical Solidity signature, computed at compile time:
/// `selector!("transfer(address,uint256)") == [0xa9, 0x05, 0x9c, 0xbb]`.
pub use accord_contract_macros::selector;

/// `keccak256` of a string literal, computed at compile time (`[u8; 32]`), e.g. an event topic.
pub use accord_contract_macros::keccak256;

/// A deployable contract; implemented by [`contract`].
pub trait Contract: Storage {
    /// The contract's ABI JSON (an Ethereum ABI array), also embedded in the `accord:abi` custom section.
    const ABI_JSON: &'static str;
    /// The body of the exported `deploy`.
    #[doc(hidden)]
    fn __accord_deploy();
    /// The body of the exported `call`.
    #[doc(hidden)]
    fn __accord_call();
}

/// The common imports of a contract.
pub mod prelude {
    pub use crate::abi::{AbiDecode, AbiEncode};
    pub use crate::env::{self, CallStatus};
    pub use crate::{
        Address, B256, Bytes, Contract, Error, Event, FixedBytes, Mapping, Result, Slot, Storage, StorageValue, U256,
        contract, ensure, event, revert, selector, storage,
    };
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}
