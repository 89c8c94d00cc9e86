//! The genesis: everything a consortium agrees on before the first block.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::block::{Validator, ValidatorSet};
use crate::crypto::CryptoSuite;

/// Chain parameters fixed at genesis (later changeable by governance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainParams {
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Largest accepted transaction encoding in bytes.
    pub max_tx_bytes: usize,
    /// Base fee per gas; 0 runs the chain without gas prices (gas still bounds work).
    pub base_fee: u64,
    /// Most seconds a block's timestamp may run ahead of a validator's clock.
    pub max_future_block_seconds: u64,
    /// Largest contract module (wasm bytes) that may be deployed.
    #[serde(default = "default_max_code_bytes")]
    pub max_code_bytes: u64,
    /// Largest linear memory a contract may use, in bytes.
    #[serde(default = "default_max_contract_memory_bytes")]
    pub max_contract_memory_bytes: u64,
    /// Deepest chain of contract calls.
    #[serde(default = "default_max_call_depth")]
    pub max_call_depth: u32,
    /// Largest encoded block (header and transactions) in bytes. Gas does not bound bytes (calldata is cheap), and
    /// every consensus message and sync response is sized from this bound, so a block can never be too large to
    /// travel.
    #[serde(default = "default_max_block_bytes")]
    pub max_block_bytes: usize,
    /// Most transactions in one block (each node's `producer.max_block_txs` may fill fewer); governance may change
    /// it (`set-param maxBlockTransactions`). Unset, a governed chain starts at [`DEFAULT_MAX_BLOCK_TRANSACTIONS`]
    /// and an ungoverned one has no bound but its gas limit, as chains had before the parameter existed (a stored
    /// block above a new bound would no longer replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_transactions: Option<u64>,
}

/// `maxBlockTransactions` of a governed chain whose genesis does not set it.
pub const DEFAULT_MAX_BLOCK_TRANSACTIONS: u64 = 10_000;

impl ChainParams {
    /// The transaction-count bound of a block: the genesis value, else [`DEFAULT_MAX_BLOCK_TRANSACTIONS`] on a
    /// governed chain, else none (`u64::MAX`).
    pub fn block_transactions_bound(&self, governed: bool) -> u64 {
        self.max_block_transactions.unwrap_or(if governed { DEFAULT_MAX_BLOCK_TRANSACTIONS } else { u64::MAX })
    }
}

fn default_max_block_bytes() -> usize {
    8 * 1024 * 1024
}

fn default_max_code_bytes() -> u64 {
    256 * 1024
}
fn default_max_contract_memory_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_max_call_depth() -> u32 {
    64
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            block_gas_limit: 300_000_000,
            max_tx_bytes: 128 * 1024,
            base_fee: 0,
            max_future_block_seconds: 15,
            max_code_bytes: default_max_code_bytes(),
            max_contract_memory_bytes: default_max_contract_memory_bytes(),
            max_call_depth: default_max_call_depth(),
            max_block_bytes: default_max_block_bytes(),
            max_block_transactions: None,
        }
    }
}

/// Bytes of an encoded block set aside for its header and list framing when a block is filled to
/// `maxBlockBytes`.
pub const BLOCK_HEADER_ALLOWANCE: usize = 1024;
/// Upper bound of `maxBlockBytes`: a sync response carries at least one block and is capped at 96 MiB.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;

/// The genesis document (`genesis.json`), identical on every node of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Genesis {
    /// EIP-155 chain id every transaction must carry.
    pub chain_id: u64,
    /// Timestamp of the genesis block (seconds).
    pub timestamp: u64,
    /// Hash and signature scheme of the chain.
    #[serde(default)]
    pub crypto: CryptoSuite,
    /// Validators, in leader-rotation order.
    pub validators: Vec<Validator>,
    /// Member nodes that follow the chain and serve reads without voting (regulators, auditors, RPC frontends).
    /// Together with the validators they are the consortium's node list: nobody else may connect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observers: Vec<Validator>,
    /// Initial balances in wei.
    #[serde(default)]
    pub alloc: BTreeMap<Address, U256>,
    /// Chain parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// The governance committee; without one the chain's membership, parameters and permissions are fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee: Option<crate::governance::Committee>,
    /// The contract engine every member must run. Contracts execute identically only on the same engine, build
    /// target, configuration and gas schedule; a node whose engine has another fingerprint refuses to start instead
    /// of forking at the first block that tells them apart. Absent on chains created before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmIdentity>,
}

/// What names a contract engine (`accord_vm::identity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VmIdentity {
    /// For people: the Accord VM's ABI version and the wasmtime release.
    pub engine: String,
    /// Keccak-256 over everything that decides execution results: the host ABI version, the gas schedule, the
    /// metering rewrite, and wasmtime's own compatibility hash (its version, target, CPU features, compiler flags
    /// and enabled proposals).
    pub fingerprint: B256,
}

/// Why a genesis document is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// Not valid JSON of the expected shape.
    #[error("genesis is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// A semantic rule is broken.
    #[error("genesis is not valid: {0}")]
    Invalid(String),
}

impl Genesis {
    /// Parses and checks a genesis document.
    pub fn from_json(s: &str) -> Result<Self, GenesisError> {
        let g: Self = serde_json::from_str(s)?;
        g.validate()?;
        Ok(g)
    }

    /// Checks the rules a running chain relies on.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |m: String| Err(GenesisError::Invalid(m));
        if self.chain_id == 0 {
            return bad("chainId must be non-zero (EIP-155)".into());
        }
        if self.validators.is_empty() {
            return bad("at least one validator is required".into());
        }
        if let Some(c) = &self.committee {
            c.validate().map_err(|e| GenesisError::Invalid(format!("committee: {e}")))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in self.validators.iter().chain(&self.observers) {
            if !seen.insert(v.address) {
                return bad(format!("node {} listed twice (validators and observers must be distinct)", v.address));
            }
            v.check_key().map_err(|e| GenesisError::Invalid(format!("validator {}: {e}", v.name)))?;
        }
        if self.params.block_gas_limit < crate::tx::TX_BASE_GAS {
            return bad("params.blockGasLimit is below one transfer".into());
        }
        if self.params.max_tx_bytes == 0 {
            return bad("params.maxTxBytes must be positive".into());
        }
        if self.params.max_code_bytes == 0 || self.params.max_code_bytes > 16 * 1024 * 1024 {
            return bad("params.maxCodeBytes must be between 1 and 16777216".into());
        }
        if self.params.max_contract_memory_bytes < 64 * 1024 || self.params.max_contract_memory_bytes > 256 << 20 {
            return bad("params.maxContractMemoryBytes must be between 65536 (one page) and 268435456".into());
        }
        if self.params.max_block_bytes < self.params.max_tx_bytes.saturating_add(BLOCK_HEADER_ALLOWANCE)
            || self.params.max_block_bytes > MAX_BLOCK_BYTES
        {
            return bad(format!(
                "params.maxBlockBytes must hold at least one maximal transaction (maxTxBytes + {BLOCK_HEADER_ALLOWANCE}) \
                 and be at most {MAX_BLOCK_BYTES}"
            ));
        }
        let txs = crate::governance::Param::MaxBlockTransactions.range();
        if self.params.max_block_transactions.is_some_and(|m| !txs.contains(&m)) {
            return bad(format!("params.maxBlockTransactions must be between {} and {}", txs.start(), txs.end()));
        }
        if self.committee.is_some() {
            // A governed chain keeps these in its system config, where proposals may change them within these
            // ranges: the genesis values must lie in them too.
            for (param, value) in [
                (crate::governance::Param::BlockGasLimit, self.params.block_gas_limit),
                (crate::governance::Param::MaxTxBytes, self.params.max_tx_bytes as u64),
            ] {
                let r = param.range();
                if !r.contains(&value) {
                    return bad(format!(
                        "params.{} must be between {} and {} on a governed chain",
                        param.key(),
                        r.start(),
                        r.end()
                    ));
                }
            }
        }
        if self.params.max_call_depth == 0 || self.params.max_call_depth > 1024 {
            return bad("params.maxCallDepth must be between 1 and 1024".into());
        }
        Ok(())
    }

    /// Every member node: validators, then observers.
    pub fn members(&self) -> impl Iterator<Item = &Validator> {
        self.validators.iter().chain(&self.observers)
    }

    /// The validator set that certifies block 1.
    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet { validators: self.validators.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn genesis_with(committee: Option<serde_json::Value>) -> String {
        let v = Validator::from_key("v", &KeyPair::generate(), "");
        let mut g = serde_json::json!({ "chainId": 7, "timestamp": 0, "validators": [v] });
        if let Some(c) = committee {
            g["committee"] = c;
        }
        g.to_string()
    }

    #[test]
    fn the_committee_is_optional_and_checked_when_named() {
        assert!(Genesis::from_json(&genesis_with(None)).expect("valid").committee.is_none());
        let governor = Address::repeat_byte(1);
        let ok = serde_json::json!({
            "governors": { governor.to_string(): 2 },
            "participationThreshold": 50, "winThreshold": 67, "proposalLifetime": 100
        });
        let c = Genesis::from_json(&genesis_with(Some(ok))).expect("valid").committee.expect("named");
        assert_eq!((c.governors[&governor], c.participation_pct, c.win_pct, c.lifetime_blocks), (2, 50, 67, 100));
        let zero_threshold = serde_json::json!({
            "governors": { governor.to_string(): 1 },
            "participationThreshold": 0, "winThreshold": 50, "proposalLifetime": 100
        });
        let err = Genesis::from_json(&genesis_with(Some(zero_threshold))).expect_err("refused").to_string();
        assert!(err.contains("committee: invalid committee: thresholds are percentages from 1 to 100"), "{err}");
        let no_governors = serde_json::json!({
            "governors": {}, "participationThreshold": 50, "winThreshold": 50, "proposalLifetime": 100
        });
        assert!(Genesis::from_json(&genesis_with(Some(no_governors))).is_err());
        let typo = serde_json::json!({
            "governors": { governor.to_string(): 1 },
            "participation": 50, "winThreshold": 50, "proposalLifetime": 100
        });
        assert!(Genesis::from_json(&genesis_with(Some(typo))).is_err(), "unknown keys are refused");
    }
}
