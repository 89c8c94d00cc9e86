//! Adversarial: floating-point arithmetic that produces NaNs, whose bit patterns (sign, payload) differ between
//! CPUs unless the VM canonicalises them. The results' bits are stored and returned, so two nodes disagree on the
//! state root unless every NaN is canonical.
//!
//! - `compute() -> (uint64 × 8, uint32 × 4, int64)`: the bits of
//!   `0/0`, `sqrt(-1)`, `inf - inf`, `0 * inf`, `NaN(payload) + 1`, `-NaN * 2`, `min(NaN, 1)` (NaN-propagating),
//!   `promote(f32 NaN(payload))` (f64), then `0/0`, `sqrt(-1)`, `demote(f64 NaN(payload))`, `NaN(payload) + 1`
//!   (f32), then `NaN as i64` (saturating: 0). Result `i` is also stored at slot `i` (as a `uint256`).
//! - `computeWith(uint64 x, uint64 y) -> (uint64 × 6, uint32)`: the bits of `x / y`, `x * y`, `x + y`,
//!   `sqrt(x)`, `min(x, y)`, `max(x, y)` on the f64 values with those bits, and `(f32)x / (f32)y`; a view.
//!
//! Every operand goes through `black_box`, so the arithmetic happens in the VM, not at compile time.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;
use core::hint::black_box;

/// Results of `compute()`, at slots 0..13.
#[storage]
pub struct FloatNan {}

// `sqrt`/`sqrtf` are the C math functions that `compiler_builtins` defines on wasm32 (as `f64.sqrt` / `f32.sqrt`),
// so the module imports nothing for them; `core` has no stable `sqrt` without `std`. Natively, the C library's.
unsafe extern "C" {
    safe fn sqrt(x: f64) -> f64;
    safe fn sqrtf(x: f32) -> f32;
}

fn sqrt64(x: f64) -> f64 {
    sqrt(x)
}

fn sqrt32(x: f32) -> f32 {
    sqrtf(x)
}

/// `min` with NaN propagation (Rust's `f64::min` ignores a NaN operand).
fn min64(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() { x + y } else { x.min(y) }
}

/// `max` with NaN propagation.
fn max64(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() { x + y } else { x.max(y) }
}

#[contract]
impl FloatNan {
    /// Computes NaNs, stores their bits at slots 0..13 and returns them.
    #[message]
    #[allow(clippy::eq_op, clippy::type_complexity)] // `0/0`, `inf - inf` are the point.
    pub fn compute(&mut self) -> (u64, u64, u64, u64, u64, u64, u64, u64, u32, u32, u32, u32, i64) {
        let zero = black_box(0.0f64);
        let one = black_box(1.0f64);
        let inf = black_box(f64::INFINITY);
        let payload = black_box(f64::from_bits(0x7ff4_0000_dead_beef)); // a signalling NaN with a payload
        let neg_nan = black_box(f64::from_bits(0xfff8_0000_0000_0001));
        let zero32 = black_box(0.0f32);
        let payload32 = black_box(f32::from_bits(0x7fa0_beef));

        let r = (
            (zero / zero).to_bits(),
            sqrt64(black_box(-1.0)).to_bits(),
            (inf - inf).to_bits(),
            (zero * inf).to_bits(),
            (payload + one).to_bits(),
            (neg_nan * black_box(2.0)).to_bits(),
            min64(zero / zero, one).to_bits(),
            (payload32 as f64).to_bits(),
            (zero32 / zero32).to_bits(),
            sqrt32(black_box(-1.0f32)).to_bits(),
            (payload as f32).to_bits(),
            (payload32 + black_box(1.0f32)).to_bits(),
            black_box(zero / zero) as i64,
        );
        let words: [U256; 13] = [
            U256::from(r.0),
            U256::from(r.1),
            U256::from(r.2),
            U256::from(r.3),
            U256::from(r.4),
            U256::from(r.5),
            U256::from(r.6),
            U256::from(r.7),
            U256::from(r.8),
            U256::from(r.9),
            U256::from(r.10),
            U256::from(r.11),
            U256::from(r.12 as u64),
        ];
        for (i, w) in words.iter().enumerate() {
            Slot::new(i as u64).write(&w.to_be_bytes());
        }
        r
    }

    /// f64/f32 arithmetic on caller-chosen bit patterns.
    #[message]
    pub fn compute_with(&self, x: u64, y: u64) -> (u64, u64, u64, u64, u64, u64, u32) {
        let (a, b) = (black_box(f64::from_bits(x)), black_box(f64::from_bits(y)));
        (
            (a / b).to_bits(),
            (a * b).to_bits(),
            (a + b).to_bits(),
            sqrt64(a).to_bits(),
            min64(a, b).to_bits(),
            max64(a, b).to_bits(),
            (black_box(a as f32) / black_box(b as f32)).to_bits(),
        )
    }
}
