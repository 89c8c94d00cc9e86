//! Shapes of Accord's own JSON-RPC responses (the `accord_` namespace), shared by node and clients.

use alloy_primitives::{B256, U64};
use serde::{Deserialize, Serialize};

use crate::block::{CommitCertificate, Header};
use crate::proof::StateProof;

/// Response of `accord_getProof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProofResponse {
    /// Block whose state was proven.
    pub block_number: U64,
    /// Hash of that block.
    pub block_hash: B256,
    /// The header, so the client can check the root against a certified block hash.
    pub header: Header,
    /// The account's state entry.
    pub account_proof: StateProof,
    /// One entry per requested storage slot.
    pub storage_proof: Vec<StateProof>,
}

/// Response of `accord_getBlockCertificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertifiedHeader {
    /// The header.
    pub header: Header,
    /// The quorum's signatures over it (none for genesis).
    pub certificate: Option<CommitCertificate>,
}
