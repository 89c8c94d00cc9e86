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

impl RecoveryRates {
    /// Cores this machine gives the nodes: the ceiling's multiplier.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map(usize::from).unwrap_or(1)
    }

    /// Committed transactions per second if every node recovered every transaction once with k256, on all of
    /// this machine's cores, and did nothing else.
    pub fn ceiling_tps(&self, validators: usize) -> f64 {
        self.k256_per_sec * Self::cores() as f64 / validators.max(1) as f64
    }
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

/// Runs `recover` over `samples` until `budget` passes; returns (recoveries, seconds).
fn slice(samples: &[(B256, Signature)], budget: Duration, recover: impl Fn(&B256, &Signature) -> bool) -> (u64, f64) {
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < budget {
        for (h, s) in samples {
            std::hint::black_box(recover(h, s));
        }
        done += samples.len() as u64;
    }
    (done, start.elapsed().as_secs_f64())
}

/// Measures both rates over about `budget` in all, on the calling thread, in alternating 50 ms slices: this
/// machine's speed drifts within seconds, and the two must be compared under the same conditions.
pub fn measure(budget: Duration) -> RecoveryRates {
    let samples = signed(16);
    let step = Duration::from_millis(50);
    let (mut k256, mut accord) = ((0u64, 0f64), (0u64, 0f64));
    let start = Instant::now();
    while start.elapsed() < budget {
        let (n, t) = slice(&samples, step, |h, s| Secp256k1::recover_with_verification(h, s).is_ok());
        k256 = (k256.0 + n, k256.1 + t);
        let (n, t) = slice(&samples, step, |h, s| Secp256k1::recover(h, s).is_ok());
        accord = (accord.0 + n, accord.1 + t);
    }
    RecoveryRates { k256_per_sec: k256.0 as f64 / k256.1, accord_per_sec: accord.0 as f64 / accord.1 }
}
