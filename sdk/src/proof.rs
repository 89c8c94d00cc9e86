//! Checking a node's answers against a header, without trusting the node.
//!
//! A client that holds a header it trusts (certified by a quorum, see [`crate::block::CommitCertificate`]) can
//! verify that a transaction or receipt is in that block, and that a state entry has a given value (or is absent)
//! after it.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::account::{Account, StateKey};
use crate::block::Header;
use crate::merkle::MerkleProof;

/// The hasher of the state tree.
pub type StateHasher = sha3::Keccak256;

/// Why a proof does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The Merkle path does not lead to the header's root.
    #[error("{0} proof does not match the header root")]
    RootMismatch(&'static str),
    /// The proof bytes are not a proof.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The proven value does not decode.
    #[error("proven value is not a valid {0}")]
    BadValue(&'static str),
}

/// Proof that an encoded item sits at a position under one of a header's roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The item's canonical bytes (EIP-2718 transaction, or canonical receipt).
    pub item: Bytes,
    /// The Merkle path.
    pub proof: MerkleProof,
}

impl InclusionProof {
    /// Checks a transaction's inclusion against `header.transactions_root`.
    pub fn verify_transaction(&self, header: &Header) -> Result<(), ProofError> {
        if self.proof.verify(&header.transactions_root, &self.item) {
            Ok(())
        } else {
            Err(ProofError::RootMismatch("transaction"))
        }
    }

    /// Checks a receipt's inclusion against `header.receipts_root`.
    pub fn verify_receipt(&self, header: &Header) -> Result<(), ProofError> {
        if self.proof.verify(&header.receipts_root, &self.item) {
            Ok(())
        } else {
            Err(ProofError::RootMismatch("receipt"))
        }
    }
}

/// Proof of one state entry's value (or absence) under a state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateProof {
    /// Canonical bytes of the [`StateKey`].
    pub key: Bytes,
    /// The value, or `None` when the proof shows the key is absent.
    pub value: Option<Bytes>,
    /// Borsh encoding of the Jellyfish sparse Merkle proof.
    pub proof: Bytes,
}

/// The tree key of a state entry.
pub fn state_key_hash(key: &StateKey) -> jmt::KeyHash {
    jmt::KeyHash::with::<StateHasher>(key.to_bytes())
}

impl StateProof {
    /// Checks the entry against `state_root`.
    pub fn verify(&self, state_root: &B256) -> Result<(), ProofError> {
        let proof: jmt::proof::SparseMerkleProof<StateHasher> =
            borsh::from_slice(&self.proof).map_err(|e| ProofError::Malformed(e.to_string()))?;
        let key_hash = jmt::KeyHash::with::<StateHasher>(&self.key);
        proof
            .verify(jmt::RootHash(state_root.0), key_hash, self.value.as_deref())
            .map_err(|_| ProofError::RootMismatch("state"))
    }

    /// Checks the entry and decodes it as `address`'s account (absent accounts read as empty).
    pub fn verify_account(&self, state_root: &B256, address: Address) -> Result<Account, ProofError> {
        if StateKey::from_bytes(&self.key) != Some(StateKey::Account(address)) {
            return Err(ProofError::Malformed("key is not this account's key".into()));
        }
        self.verify(state_root)?;
        match &self.value {
            None => Ok(Account::default()),
            Some(v) => Account::decode(v).map_err(|_| ProofError::BadValue("account")),
        }
    }
}
