//! The gas schedule of host functions (`docs/contract-abi.md`, "Gas schedule"). Executed wasm instructions cost 1
//! fuel each, and `memory.fill`/`memory.copy`/`memory.init` 1 more per byte of their length (wasmtime charges that
//! before doing them); fuel and gas are the same unit.
//!
//! Prices follow one target rate: **1 gas ≈ 1 ns** of a validator's time on the reference machine (this project's
//! 2-core machine), measured by `cargo bench -p accord-node --bench gas`, which flags any price more than 2× off.
//! A block at the default 300,000,000 gas limit then executes in 0.2–0.6 s there, at most about a seventh of the 4 s
//! consensus timeout, leaving room for a machine several times slower.

/// Crossing into the host at all: every host function charges it first (the trampoline, the store's data, the
/// frame's bookkeeping), so no host function is free however little it does.
pub const HOST_CALL: u64 = 8;
/// Copying data in or out of contract memory, per 32-byte word.
pub const COPY_PER_WORD: u64 = 3;
/// Reading a storage slot (a RocksDB read when the slot is not in the block's overlay).
pub const STORAGE_READ: u64 = 500;
/// Setting a zero slot to a non-zero value.
pub const STORAGE_SET: u64 = 20_000;
/// Any other storage write, deletes included (the state tree's update, not only the write, is the cost).
pub const STORAGE_UPDATE: u64 = 18_000;
/// A log.
pub const LOG_BASE: u64 = 375;
/// Per log topic.
pub const LOG_PER_TOPIC: u64 = 375;
/// Per log data byte.
pub const LOG_PER_BYTE: u64 = 3;
/// Keccak-256 base cost.
pub const KECCAK_BASE: u64 = 300;
/// Keccak-256 per word.
pub const KECCAK_PER_WORD: u64 = 70;
/// Signature recovery (a secp256k1 recovery is ~150 µs).
pub const ECRECOVER: u64 = 150_000;
/// Calling another contract: a new store and instance, a journal checkpoint.
pub const CALL_BASE: u64 = 15_000;
/// Extra for a call that sends value (two balances change in the state tree).
pub const CALL_VALUE: u64 = 20_000;
/// Memory pages (64 KiB) every call gets without charge: Rust's default stack and data fit.
pub const FREE_MEMORY_PAGES: u64 = 32;
/// Each page beyond the free ones.
pub const MEMORY_PER_PAGE: u64 = 1_000;
/// Storing deployed code, per byte.
pub const CODE_DEPOSIT_PER_BYTE: u64 = 200;
/// Validating and compiling deployed code, per byte, charged before compiling (compile time is linear in size
/// within the structure limits, `structure.rs`).
pub const COMPILE_PER_BYTE: u64 = 700;
/// Most log topics.
pub const MAX_TOPICS: u32 = 4;

/// Every price above by name. Part of the engine fingerprint (`crate::identity`): a node with other prices would
/// compute other receipts, so it must not run a chain whose genesis names these.
pub const SCHEDULE: &[(&str, u64)] = &[
    ("HOST_CALL", HOST_CALL),
    ("COPY_PER_WORD", COPY_PER_WORD),
    ("STORAGE_READ", STORAGE_READ),
    ("STORAGE_SET", STORAGE_SET),
    ("STORAGE_UPDATE", STORAGE_UPDATE),
    ("LOG_BASE", LOG_BASE),
    ("LOG_PER_TOPIC", LOG_PER_TOPIC),
    ("LOG_PER_BYTE", LOG_PER_BYTE),
    ("KECCAK_BASE", KECCAK_BASE),
    ("KECCAK_PER_WORD", KECCAK_PER_WORD),
    ("ECRECOVER", ECRECOVER),
    ("CALL_BASE", CALL_BASE),
    ("CALL_VALUE", CALL_VALUE),
    ("FREE_MEMORY_PAGES", FREE_MEMORY_PAGES),
    ("MEMORY_PER_PAGE", MEMORY_PER_PAGE),
    ("CODE_DEPOSIT_PER_BYTE", CODE_DEPOSIT_PER_BYTE),
    ("COMPILE_PER_BYTE", COMPILE_PER_BYTE),
    ("MAX_TOPICS", MAX_TOPICS as u64),
];

/// Words (32 bytes, rounded up) in `len` bytes.
pub fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

/// Cost of copying `len` bytes across the host boundary.
pub fn copy(len: u64) -> u64 {
    COPY_PER_WORD.saturating_mul(words(len))
}

/// Cost of deploying a module of `len` bytes: compiling it and storing it.
pub fn deploy(len: u64) -> u64 {
    (CODE_DEPOSIT_PER_BYTE + COMPILE_PER_BYTE).saturating_mul(len)
}

/// Cost of writing `new` over `old`.
pub fn storage_write(old_is_zero: bool, new_is_zero: bool) -> u64 {
    if old_is_zero && !new_is_zero { STORAGE_SET } else { STORAGE_UPDATE }
}

/// Cost of a log.
pub fn log(topics: u64, data_len: u64) -> u64 {
    LOG_BASE.saturating_add(LOG_PER_TOPIC.saturating_mul(topics)).saturating_add(LOG_PER_BYTE.saturating_mul(data_len))
}

/// Cost of hashing `len` bytes.
pub fn keccak(len: u64) -> u64 {
    KECCAK_BASE.saturating_add(KECCAK_PER_WORD.saturating_mul(words(len)))
}

/// Gas handed to a callee: what was asked for, but never more than all but 1/64 of what the caller has left
/// (Ethereum's EIP-150 rule), so a deep call chain always leaves every caller some gas to finish with.
pub fn forwarded(asked: u64, available: u64) -> u64 {
    asked.min(available - available / 64)
}

/// Cost of memory growth from `from_pages` to `to_pages`.
pub fn memory_growth(from_pages: u64, to_pages: u64) -> u64 {
    let charged = |p: u64| p.saturating_sub(FREE_MEMORY_PAGES);
    MEMORY_PER_PAGE.saturating_mul(charged(to_pages).saturating_sub(charged(from_pages)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule() {
        assert_eq!(copy(0), 0);
        assert_eq!(copy(1), 3);
        assert_eq!(copy(64), 6);
        assert_eq!(storage_write(true, false), STORAGE_SET);
        assert_eq!(storage_write(false, false), STORAGE_UPDATE);
        assert_eq!(storage_write(false, true), STORAGE_UPDATE);
        assert_eq!(storage_write(true, true), STORAGE_UPDATE);
        assert_eq!(log(3, 32), 375 + 3 * 375 + 3 * 32);
        assert_eq!(keccak(33), 300 + 2 * 70);
        assert_eq!(deploy(10), 9_000);
        assert_eq!(forwarded(u64::MAX, 6400), 6300);
        assert_eq!(forwarded(100, 6400), 100);
        assert_eq!(forwarded(10, 0), 0);
        assert_eq!(memory_growth(0, 17), 0, "Rust's default memory is free");
        assert_eq!(memory_growth(17, 34), 2 * MEMORY_PER_PAGE);
        assert_eq!(memory_growth(40, 41), MEMORY_PER_PAGE);
    }
}
