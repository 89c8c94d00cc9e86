//! Reverting: `Error(string)` messages, custom errors and the [`Result`] type of `#[message]` methods.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi::{self, AbiEncode, AbiParams};
use crate::env;

/// Selector of Solidity's `Error(string)`, the revert data of `require(cond, "message")`.
pub const ERROR_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];

/// Selector of Solidity's `Panic(uint256)`.
pub const PANIC_SELECTOR: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

/// Longest message [`revert`] encodes without allocating.
const STACK_MESSAGE: usize = 256;

/// Reverts the call with `Error(message)`, the revert data Solidity's `require(cond, "message")` produces and
/// that web3/ethers show as the revert reason.
pub fn revert(message: &str) -> ! {
    if message.len() <= STACK_MESSAGE {
        // selector ‖ offset (0x20) ‖ length ‖ bytes padded to 32.
        let mut buf = [0u8; 4 + 64 + STACK_MESSAGE];
        let len = 4 + 32 + message.encoded_size();
        buf[..4].copy_from_slice(&ERROR_SELECTOR);
        buf[4..4 + 32].copy_from_slice(&abi::usize_word(32));
        message.encode_to(&mut buf[4 + 32..len]);
        env::revert(&buf[..len])
    }
    env::revert(&abi::encode_with_selector(ERROR_SELECTOR, &(message,)))
}

/// The `Error(string)` revert data of `message`.
pub fn error_string(message: &str) -> Vec<u8> {
    abi::encode_with_selector(ERROR_SELECTOR, &(message,))
}

/// Why a `#[message]` failed: what it reverts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `Error(string)` with this message.
    Message(Cow<'static, str>),
    /// Raw revert data (a custom error's encoding, or empty).
    Raw(Vec<u8>),
}

impl Error {
    /// `Error(string)` with `message`.
    pub fn message(message: impl Into<Cow<'static, str>>) -> Self {
        Error::Message(message.into())
    }

    /// A Solidity custom error: `selector` (of its signature, see [`selector!`](crate::selector)) followed by the
    /// ABI-encoded `params`.
    pub fn custom<P: AbiParams>(selector: [u8; 4], params: &P) -> Self {
        Error::Raw(abi::encode_with_selector(selector, params))
    }

    /// Revert with no data (what Solidity's bare `revert()` does).
    pub const fn empty() -> Self {
        Error::Raw(Vec::new())
    }

    /// The revert data.
    pub fn to_revert_data(&self) -> Vec<u8> {
        match self {
            Error::Message(m) => error_string(m),
            Error::Raw(d) => d.clone(),
        }
    }
}

impl From<&'static str> for Error {
    fn from(m: &'static str) -> Self {
        Error::Message(Cow::Borrowed(m))
    }
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::Message(Cow::Owned(m))
    }
}

/// The error type of a `#[message]`'s `Result`: how it reverts.
pub trait RevertReason {
    /// Reverts the call with this reason.
    fn revert(self) -> !;
}

impl RevertReason for Error {
    fn revert(self) -> ! {
        match self {
            Error::Message(m) => revert(&m),
            Error::Raw(d) => env::revert(&d),
        }
    }
}

impl RevertReason for &str {
    fn revert(self) -> ! {
        revert(self)
    }
}

impl RevertReason for String {
    fn revert(self) -> ! {
        revert(&self)
    }
}

/// The result of a `#[message]`: `Err` reverts the call (undoing its effects) with the error's revert data.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Returns `Err(err.into())` from the enclosing function unless `cond` holds, like Solidity's `require`.
///
/// ```ignore
/// ensure!(balance >= value, "ERC20: transfer amount exceeds balance");
/// ```
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $err:expr $(,)?) => {
        if !$cond {
            return ::core::result::Result::Err(::core::convert::Into::into($err));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::U256;
    use crate::testing;
    use alloc::string::ToString;

    #[test]
    fn error_string_encoding() {
        let e = error_string("Not enough Ether provided.");
        // The example of the Solidity documentation.
        let expected = "08c379a0\
            0000000000000000000000000000000000000000000000000000000000000020\
            000000000000000000000000000000000000000000000000000000000000001a\
            4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";
        let hex: alloc::string::String = e.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn stack_and_heap_paths_agree() {
        testing::reset();
        for len in [0, 1, 31, 32, 33, 255, 256, 257, 1000] {
            let msg = "m".repeat(len);
            let out = testing::execute(testing::account(1), || revert(&msg));
            assert_eq!(out.output, error_string(&msg), "length {len}");
            assert_eq!(out.revert_message().as_deref(), Some(msg.as_str()));
        }
        let out = testing::execute(testing::account(1), || Error::custom([1, 2, 3, 4], &(U256::ONE,)).revert());
        assert_eq!(out.output.len(), 36);
        let out = testing::execute(testing::account(1), || "plain".to_string().revert());
        assert_eq!(out.revert_message().as_deref(), Some("plain"));
    }
}
