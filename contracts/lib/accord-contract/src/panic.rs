//! The panic handler on wasm32: a panic reverts the call (status 1, its effects undone, the gas it used
//! charged), like a Solidity `Panic` or a failed `require`.
//!
//! By default the revert data is empty: reading the panic message would keep `core::fmt` and every panic site's
//! formatting arguments in the module, about 2.5 KiB of code per contract, paid at 200 gas per byte at deploy.
//! With the `panic-message` feature, a panic whose message is a plain string literal (`panic!("…")`,
//! `U256` overflow, …) reverts with `Error(message)` instead (other panics still revert with empty data).
//! Contracts that want a revert reason should use [`crate::revert`], [`crate::ensure!`] or an `Err` return.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    #[cfg(feature = "panic-message")]
    if let Some(message) = info.message().as_str() {
        crate::error::revert(message)
    }
    let _ = info;
    crate::env::revert(&[])
}
