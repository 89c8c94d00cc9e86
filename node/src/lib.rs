//! The Accord node: storage, state, mempool, execution, block production, JSON-RPC, metrics and the CLI's
//! building blocks. The `accord` binary (`main.rs`) is a thin shell over this library, which the tests and
//! benchmarks also drive.

pub mod archive;
pub mod bench;
pub mod chain;
pub mod cli;
pub mod config;
pub mod console;
pub mod dispatch;
pub mod executor;
pub mod framing;
pub mod genesis_assembly;
pub mod governance;
pub mod home;
pub mod import;
pub mod membership;
pub mod mempool;
pub mod metrics;
pub mod network;
pub mod pbft;
pub mod probe;
pub mod producer;
pub mod replay;
pub mod rpc;
pub mod service;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod storage;
pub mod sync;
#[cfg(test)]
mod test_genesis;
pub mod testnet;
pub mod txpool;
