//! Adversarial: every call loops forever, so it can only end by running out of gas (a *failure*: status 2, all
//! the call's gas used). Deploying succeeds.
//!
//! - `run()`: a tight loop of plain wasm instructions.
//! - `spinHost()`: a loop of host calls (`storage_read`, 200 gas each, and `gas_left`), to check that host calls
//!   are charged and interrupt as well.
//! - any other input (the fallback): the same tight loop.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;
use core::hint::black_box;

/// No state.
#[storage]
pub struct InfiniteLoop {}

/// Loops forever on plain instructions; `black_box` keeps the counter (and so the loop body) from being
/// optimised out.
#[inline(never)]
fn spin() -> ! {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

#[contract]
impl InfiniteLoop {
    /// Never returns.
    #[message]
    pub fn run(&mut self) {
        spin()
    }

    /// Never returns; every iteration calls the host.
    #[message]
    pub fn spin_host(&mut self) {
        let slot = Slot::new(0);
        let mut acc = 0u64;
        loop {
            acc = acc.wrapping_add(slot.read()[31] as u64).wrapping_add(env::gas_left());
            black_box(acc);
        }
    }

    /// Any other call never returns either.
    #[fallback]
    pub fn fallback(&mut self) {
        spin()
    }
}
