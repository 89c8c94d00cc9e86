//! The gas schedule of host functions (`docs/contract-abi.md`). Executed wasm instructions cost 1 fuel each; fuel
//! and gas are the same unit.

/// Copying data in or out of contract memory, per 32-byte word.
pub const COPY_PER_WORD: u64 = 3;
/// Reading a storage slot.
pub const STORAGE_READ: u64 = 200;
/// Setting a zero slot to a non-zero value.
pub const STORAGE_SET: u64 = 20_000;
/// Any other storage write, deletes included.
pub const STORAGE_UPDATE: u64 = 5_000;
/// A log.
pub const LOG_BASE: u64 = 375;
/// Per log topic.
pub const LOG_PER_TOPIC: u64 = 375;
/// Per log data byte.
pub const LOG_PER_BYTE: u64 = 8;
/// Keccak-256 base cost.
pub const KECCAK_BASE: u64 = 30;
/// Keccak-256 per word.
pub const KECCAK_PER_WORD: u64 = 6;
/// Signature recovery.
pub const ECRECOVER: u64 = 3_000;
/// Calling another contract.
pub const CALL_BASE: u64 = 700;
/// Extra for a call that sends value.
pub const CALL_VALUE: u64 = 9_000;
/// Memory pages (64 KiB) every call gets without charge: Rust's default stack and data fit.
pub const FREE_MEMORY_PAGES: u64 = 32;
/// Each page beyond the free ones.
pub const MEMORY_PER_PAGE: u64 = 1_000;
/// Storing deployed code, per byte.
pub const CODE_DEPOSIT_PER_BYTE: u64 = 200;
/// Most log topics.
pub const MAX_TOPICS: u32 = 4;

/// Words (32 bytes, rounded up) in `len` bytes.
pub fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

/// Cost of copying `len` bytes across the host boundary.
pub fn copy(len: u64) -> u64 {
    COPY_PER_WORD.saturating_mul(words(len))
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
        assert_eq!(log(3, 32), 375 + 3 * 375 + 256);
        assert_eq!(keccak(33), 30 + 12);
        assert_eq!(forwarded(u64::MAX, 6400), 6300);
        assert_eq!(forwarded(100, 6400), 100);
        assert_eq!(forwarded(10, 0), 0);
        assert_eq!(memory_growth(0, 17), 0, "Rust's default memory is free");
        assert_eq!(memory_growth(17, 34), 2 * MEMORY_PER_PAGE);
        assert_eq!(memory_growth(40, 41), MEMORY_PER_PAGE);
    }
}
