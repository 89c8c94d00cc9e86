//! Solidity-compatible events (Ethereum logs).
//!
//! An event declared with [`#[event]`](macro@crate::event) is emitted as Solidity would: topic 0 is
//! `keccak256("Name(type1,type2,…)")`, each `#[indexed]` field is a further topic (at most 3), and the other
//! fields are ABI-encoded, as a parameter list, in the log's data.

use alloc::string::String;

use crate::abi::{AbiParams, AbiWord};
use crate::env;
use crate::types::Bytes;

/// An event type; implemented by [`#[event]`](macro@crate::event).
pub trait Event {
    /// The canonical signature, e.g. `Transfer(address,address,uint256)`.
    const SIGNATURE: &'static str;
    /// `keccak256(SIGNATURE)`, the log's first topic.
    const TOPIC0: [u8; 32];
    /// The event's entry of the contract's ABI JSON.
    const ABI_JSON: &'static str;
    /// Emits the event as a log of the executing contract.
    fn emit(&self);
}

/// Emits `event` as a log of the executing contract.
#[inline]
pub fn emit<E: Event>(event: &E) {
    event.emit()
}

/// A type that can be an indexed event field: how it becomes a topic.
pub trait Topic {
    /// The 32-byte topic of the value.
    fn topic(&self) -> [u8; 32];
}

impl<T: AbiWord> Topic for T {
    /// Value types: their ABI word.
    #[inline]
    fn topic(&self) -> [u8; 32] {
        self.to_word()
    }
}

impl Topic for String {
    /// `keccak256` of the UTF-8 bytes, as Solidity indexes a `string`.
    fn topic(&self) -> [u8; 32] {
        env::keccak256(self.as_bytes())
    }
}

impl Topic for str {
    /// `keccak256` of the UTF-8 bytes, as Solidity indexes a `string`.
    fn topic(&self) -> [u8; 32] {
        env::keccak256(self.as_bytes())
    }
}

impl Topic for Bytes {
    /// `keccak256` of the bytes, as Solidity indexes `bytes`.
    fn topic(&self) -> [u8; 32] {
        env::keccak256(self)
    }
}

/// Emits a log with `topics` and the ABI encoding of `data` (a parameter list), without allocating when the
/// encoding is static and at most 256 bytes.
#[inline]
pub fn emit_log_params<P: AbiParams>(topics: &[[u8; 32]], data: &P) {
    crate::abi::with_encoded(data, |out| env::emit_log(topics, out))
}
