//! The ceiling a run is judged against, measured in the same run: how many senders one core recovers per second
//! with k256's own `recover_from_prehash` (recover, then verify), the unit every node pays per transaction.

use std::time::{Duration, Instant};

use accord_sdk::crypto::{Secp256k1, SignatureScheme};
use accord_sdk::keys::KeyPair;
use accord_sdk::{B256, keccak256};
use alloy_primitives::Signature;

/// Recoveries per second on one thread, with k256's recovery and with Accord's.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryRates {
    /// k256's `recover_from_prehash` (it verifies the recovered key again): the ceiling's unit.
    pub k256_per_sec: f64,
    /// Accord's recovery without the redundant verification.
    pub accord_per_sec: f64,
}

fn signed(n: usize) -> Vec<(B256, Signature)> {
    let key = KeyPair::generate();
    (0..n)
        .filter_map(|i| {
            let prehash = keccak256(i.to_be_bytes());
            key.sign_prehash(&prehash).ok().map(|s| (prehash, s))
        })
        .collect()
}

fn rate(samples: &[(B256, Signature)], budget: Duration, recover: impl Fn(&B256, &Signature) -> bool) -> f64 {
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < budget {
        for (h, s) in samples {
            std::hint::black_box(recover(h, s));
        }
        done += samples.len() as u64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// Measures both rates for about `budget` each, on the calling thread.
pub fn measure(budget: Duration) -> RecoveryRates {
    let samples = signed(64);
    let k256_per_sec = rate(&samples, budget, |h, s| Secp256k1::recover_with_verification(h, s).is_ok());
    let accord_per_sec = rate(&samples, budget, |h, s| Secp256k1::recover(h, s).is_ok());
    RecoveryRates { k256_per_sec, accord_per_sec }
}
