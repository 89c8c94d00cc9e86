//! Calling an ERC-20 token from a contract: how a contract that settles in a tokenised deposit moves the money
//! (the payer approves the contract, which then collects with `transferFrom`).

use crate::abi;
use crate::env::{self, CallStatus};
use crate::types::{Address, U256};

/// `token.transferFrom(from, to, amount)` with all remaining gas; whether the token reported success (the call
/// succeeded and returned `true`). A token that reverts, fails, or returns anything else moved nothing, and the
/// caller should revert: a payment that did not happen must not be recorded.
pub fn transfer_from(token: &Address, from: Address, to: Address, amount: U256) -> bool {
    let input =
        abi::encode_with_selector(crate::selector!("transferFrom(address,address,uint256)"), &(from, to, amount));
    let r = env::call_with_output(token, &U256::ZERO, &input, env::ALL_GAS);
    r.status == CallStatus::Success && matches!(abi::decode::<(bool,)>(&r.output), Ok((true,)))
}
