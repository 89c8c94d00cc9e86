//! The contract runtime on wasmtime: host ABI, fuel metering, memory and stack limits, deterministic engine
//! configuration and the compiled-module cache (DESIGN.md §5).
//!
//! Until the VM issue lands the node executes native value transfers only and refuses contract creation at its
//! mempool with a clear error.
