//! Limits of contract execution and the deterministic wasmtime configuration.

/// Limits fixed by chain parameters; every node of a chain must use the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmConfig {
    /// Largest linear memory a contract may have, in bytes.
    pub max_memory_bytes: u64,
    /// Most linear memory all live frames of one transaction may hold together (nested calls share it).
    pub max_tx_memory_bytes: u64,
    /// Largest module that may be deployed, in bytes.
    pub max_code_bytes: usize,
    /// Deepest chain of contract calls (the transaction's own call is depth 1).
    pub max_call_depth: u32,
    /// Native stack available to wasm code; exceeding it traps (a failure, charged all the call's gas). Sized so
    /// that `max_stack_units` is always reached first: the metered count, not the native stack, decides.
    pub max_wasm_stack_bytes: usize,
    /// Most stack units (one wasm value each, plus `stack_meter::FRAME_UNITS` per frame) the live frames of one
    /// contract call may hold: where a recursion stops, the same on every build (`stack_meter.rs`).
    pub max_stack_units: u32,
    /// Compiled modules kept in memory.
    pub module_cache_entries: usize,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self {
            max_memory_bytes: 16 * 1024 * 1024,
            max_tx_memory_bytes: 64 * 1024 * 1024,
            max_code_bytes: 256 * 1024,
            max_call_depth: 64,
            max_wasm_stack_bytes: 512 * 1024,
            max_stack_units: 16 * 1024,
            module_cache_entries: 256,
        }
    }
}

/// The wasm features the stack-height rewrite validates with: wasmparser's defaults, a superset of what the engine
/// enables (the engine validates the rewritten module again and refuses what it leaves out).
pub fn rewrite_features() -> wasmparser::WasmFeatures {
    wasmparser::WasmFeatures::default()
}

/// The target the engine compiles for: the host's architecture and OS, named explicitly so that wasmtime does not
/// infer CPU features (AVX, BMI, …) from the machine. Code generation, and with it the size of stack frames and so
/// whether a deep recursion fits the wasm stack, then depend on the Accord release and the architecture only, not
/// on which CPU model a validator happens to run on.
fn pinned_target() -> Option<String> {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => Some(format!("{arch}-unknown-linux-gnu")),
        "macos" => Some(format!("{arch}-apple-darwin")),
        _ => None,
    }
}

/// The engine configuration: fuel metering, NaN canonicalisation, baseline CPU features, and every proposal with
/// nondeterministic or unneeded behaviour off. Changing any of it changes consensus results, so it is part of the
/// module cache key.
pub fn engine_config(vm: &VmConfig) -> wasmtime::Config {
    let mut c = wasmtime::Config::new();
    if let Some(target) = pinned_target()
        && let Err(e) = c.target(&target)
    {
        tracing::warn!(%target, error = %e, "cannot pin the compilation target; using the host's CPU features");
    }
    c.consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed)
        .max_wasm_stack(vm.max_wasm_stack_bytes)
        // What Rust's wasm32-unknown-unknown emits, all deterministic (reference types are on by default).
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        // Off: threads (shared memory), SIMD (relaxed SIMD is nondeterministic by design), 64-bit and multiple
        // memories, tail calls, GC, exceptions, function references, wide arithmetic, stack switching.
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_gc(false)
        .wasm_wide_arithmetic(false);
    // Proposals whose setters depend on wasmtime features this build leaves out: off explicitly all the same.
    for f in [
        wasmtime::WasmFeatures::THREADS,
        wasmtime::WasmFeatures::SHARED_EVERYTHING_THREADS,
        wasmtime::WasmFeatures::FUNCTION_REFERENCES,
        wasmtime::WasmFeatures::EXCEPTIONS,
        wasmtime::WasmFeatures::LEGACY_EXCEPTIONS,
        wasmtime::WasmFeatures::STACK_SWITCHING,
        wasmtime::WasmFeatures::CUSTOM_PAGE_SIZES,
        wasmtime::WasmFeatures::COMPONENT_MODEL,
    ] {
        c.wasm_features(f, false);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compilation_target_is_pinned_and_the_engine_builds() {
        let target = pinned_target().expect("a pinned target on Linux and macOS");
        wasmtime::Config::new().target(&target).expect("wasmtime accepts the host triple");
        wasmtime::Engine::new(&engine_config(&VmConfig::default())).expect("the deterministic engine builds");
    }
}
