//! The genesis the node's unit tests build chains from (integration tests and benchmarks use
//! `node/tests/fixture`): one validator, chain id 5, genesis time 100.

use accord_sdk::block::Validator;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::genesis::{ChainParams, Genesis};
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, U256};

/// A single-validator genesis funding `alloc`.
pub(crate) fn genesis(validator: &KeyPair, alloc: &[(Address, U256)], params: ChainParams) -> Genesis {
    Genesis {
        chain_id: 5,
        timestamp: 100,
        crypto: CryptoSuite::default(),
        validators: vec![Validator::from_key("v", validator, "")],
        observers: vec![],
        alloc: alloc.iter().copied().collect(),
        params,
        committee: None,
        vm: None,
    }
}
