//! The engine's identity: a fingerprint of everything that decides what a contract computes, so a chain can name the
//! engine its members must run (`Genesis::vm`) and a node with another one refuses to start instead of forking at
//! the first block that tells the two apart.
//!
//! Determinism otherwise rests on convention ("run the same release"), and the ways to break it silently are many: a
//! wasmtime upgrade that changes code generation, a build that infers the host's CPU features, a price changed in
//! the gas schedule, a new host function.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use alloy_primitives::{B256, Keccak256};

use crate::runtime::VmError;
use crate::{ABI_VERSION, VmConfig, abi, gas};

/// Version of the rewrites applied to modules before compilation; raised when they change. 1: bulk memory
/// operations rewritten into a metering host call; 2: none (wasmtime charges them per byte itself); 3: metered
/// stack height (`stack_meter.rs`).
pub const METER_VERSION: u32 = 3;

/// Name and fingerprint of this build's contract engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineIdentity {
    /// For people: "accord-vm abi 1, wasmtime 47.0.4".
    pub engine: String,
    /// Keccak-256 over the ABI version, the host function table, the gas schedule, the metering version, the stack
    /// limit and wasmtime's compatibility hash of the deterministic engine configuration.
    pub fingerprint: B256,
}

/// Feeds a `Hash` implementation's bytes into Keccak-256: `std`'s hashers are neither cryptographic nor promised to
/// stay the same across Rust releases, and this fingerprint is stored in genesis documents.
struct KeccakHasher(Keccak256);

impl Hasher for KeccakHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only `write` is used: the digest is taken from the inner hasher.
        0
    }
}

fn compute() -> Result<EngineIdentity, VmError> {
    let vm = VmConfig::default();
    let engine =
        wasmtime::Engine::new(&crate::config::engine_config(&vm)).map_err(|e| VmError::Engine(e.to_string()))?;
    let mut h = KeccakHasher(Keccak256::new());
    h.write(b"accord-vm engine fingerprint v1");
    ABI_VERSION.hash(&mut h);
    for (name, params, results) in abi::HOST_FUNCTIONS {
        name.hash(&mut h);
        format!("{params:?}->{results:?}").hash(&mut h);
    }
    for (name, price) in gas::SCHEDULE {
        name.hash(&mut h);
        price.hash(&mut h);
    }
    METER_VERSION.hash(&mut h);
    (vm.max_wasm_stack_bytes as u64).hash(&mut h);
    vm.max_stack_units.hash(&mut h);
    crate::stack_meter::FRAME_UNITS.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    Ok(EngineIdentity {
        engine: format!("accord-vm abi {ABI_VERSION}, wasmtime {}", env!("ACCORD_WASMTIME_VERSION")),
        fingerprint: B256::from(h.0.finalize()),
    })
}

/// This build's engine identity (computed once per process).
pub fn identity() -> Result<EngineIdentity, VmError> {
    static IDENTITY: OnceLock<Result<EngineIdentity, String>> = OnceLock::new();
    IDENTITY.get_or_init(|| compute().map_err(|e| e.to_string())).clone().map_err(VmError::Engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_stable_within_a_build_and_names_wasmtime() {
        let a = identity().expect("engine builds");
        let b = compute().expect("engine builds");
        assert_eq!(a, b, "the same build computes the same fingerprint");
        assert!(a.engine.contains("wasmtime ") && !a.engine.ends_with("unknown"), "{}", a.engine);
        assert_ne!(a.fingerprint, B256::ZERO);
    }

    #[test]
    fn the_fingerprint_covers_the_engine_configuration() {
        // Another engine configuration (here: a different optimisation level) hashes differently, so two nodes
        // whose engines compile differently cannot share a fingerprint.
        let hash = |config: &wasmtime::Config| {
            let engine = wasmtime::Engine::new(config).expect("engine");
            let mut h = KeccakHasher(Keccak256::new());
            engine.precompile_compatibility_hash().hash(&mut h);
            h.0.finalize()
        };
        let ours = crate::config::engine_config(&VmConfig::default());
        let mut other = crate::config::engine_config(&VmConfig::default());
        other.cranelift_opt_level(wasmtime::OptLevel::None);
        assert_eq!(hash(&ours), hash(&crate::config::engine_config(&VmConfig::default())));
        assert_ne!(hash(&ours), hash(&other));
    }
}
