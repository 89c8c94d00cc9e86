//! Adversarial: grows its linear memory without bound.
//!
//! - `grow() -> uint256`: `memory.grow` one page at a time until the host refuses (returns −1), then returns the
//!   number of 64 KiB pages the memory reached: with the default `maxContractMemoryBytes` of 16 MiB, 256. Each
//!   page costs 1,000 gas.
//! - `allocate()`: allocates and touches 1 MiB blocks forever; when the host refuses to grow, the allocator traps,
//!   so the call *fails* (status 2, all gas used).
//! - `growForever()`: keeps calling `memory.grow` even after it fails, so the call ends by running out of gas
//!   (or by whatever the VM does with repeated failed growth).
//! - any other input (the fallback): as `allocate()`.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;
use core::hint::black_box;

/// No state.
#[storage]
pub struct MemoryBomb {}

const PAGE: usize = 65536;

fn grow_pages(pages: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_grow(0, pages)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // The native test host has no linear memory to grow; pretend the limit is hit at once.
        let _ = pages;
        usize::MAX
    }
}

fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// Allocates 1 MiB blocks forever, writing one byte per page so the memory is really used.
fn allocate_forever() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        for i in (0..block.len()).step_by(PAGE) {
            block[i] = 1;
        }
        blocks.push(black_box(block));
    }
}

#[contract]
impl MemoryBomb {
    /// Grows until refused; returns the final size in pages.
    #[message]
    pub fn grow(&mut self) -> U256 {
        while grow_pages(1) != usize::MAX {}
        U256::from(memory_pages() as u64)
    }

    /// Never returns: allocation fails at the memory limit and traps.
    #[message]
    pub fn allocate(&mut self) {
        allocate_forever()
    }

    /// Never returns: keeps trying to grow after the limit.
    #[message]
    pub fn grow_forever(&mut self) {
        loop {
            black_box(grow_pages(black_box(1)));
        }
    }

    /// Any other call: as `allocate()`.
    #[fallback]
    pub fn fallback(&mut self) {
        allocate_forever()
    }
}
