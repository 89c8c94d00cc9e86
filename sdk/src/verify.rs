//! Reading the chain without trusting the node that answers: a header counts only with a commit certificate from
//! a quorum of the validator set the client trusts (from the genesis it holds), and transactions, receipts and
//! state are checked by their Merkle proofs against that header.

use alloy_primitives::{Address, B256, U64};
use jsonrpsee::rpc_params;

use crate::account::Account;
use crate::block::{Header, ValidatorSet};
use crate::client::{AccordClient, ClientError};
use crate::crypto::CryptoSuite;
use crate::genesis::Genesis;
use crate::proof::InclusionProof;
use crate::receipt::Receipt;

/// Why an answer was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The node could not be reached.
    #[error("node: {0}")]
    Node(#[from] ClientError),
    /// The node has no such block or transaction.
    #[error("the node has no {0}")]
    Missing(String),
    /// The header's certificate is missing or not a quorum of the trusted set.
    #[error("block {number} is not certified by the trusted validators: {detail}")]
    Uncertified {
        /// The block.
        number: u64,
        /// Why.
        detail: String,
    },
    /// A proof does not lead to the certified header's root.
    #[error("proof: {0}")]
    Proof(String),
}

/// The validator set a client trusts, and the chain it certifies.
#[derive(Debug, Clone)]
pub struct TrustedValidators {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The validators whose quorum certifies blocks.
    pub validators: ValidatorSet,
    /// The chain's signature scheme.
    pub crypto: CryptoSuite,
}

/// A transaction and its receipt, each proven against a certified header.
#[derive(Debug, Clone)]
pub struct VerifiedTransaction {
    /// The certified header of the block holding it.
    pub header: Header,
    /// The transaction's EIP-2718 bytes (decode with `alloy_consensus::TxEnvelope` or [`crate::tx`]).
    pub transaction: alloy_primitives::Bytes,
    /// Its receipt.
    pub receipt: Receipt,
}

impl TrustedValidators {
    /// The genesis validators of `genesis`. Headers after a governance change of the set need the new set (the
    /// `accord_validators` of a node you trust, or the genesis plus the governance history).
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self { chain_id: genesis.chain_id, validators: genesis.validator_set(), crypto: genesis.crypto }
    }

    /// Block `number`'s header, accepted only with a certificate from a quorum of the trusted validators.
    pub async fn certified_header(&self, client: &AccordClient, number: u64) -> Result<Header, VerifyError> {
        let certified =
            client.certified_header(number).await?.ok_or_else(|| VerifyError::Missing(format!("block {number}")))?;
        let certificate = certified
            .certificate
            .ok_or_else(|| VerifyError::Uncertified { number, detail: "no certificate (genesis?)".into() })?;
        certificate
            .verify(self.chain_id, &certified.header, &self.validators, self.crypto)
            .map_err(|e| VerifyError::Uncertified { number, detail: e.to_string() })?;
        Ok(certified.header)
    }

    /// The committed transaction `hash` with its receipt, proven against its block's certified header.
    pub async fn transaction(&self, client: &AccordClient, hash: B256) -> Result<VerifiedTransaction, VerifyError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            header: Header,
            transaction: InclusionProof,
            receipt: InclusionProof,
        }
        let answer: Option<Answer> = client.request("accord_getTransactionProof", rpc_params![hash]).await?;
        let answer = answer.ok_or_else(|| VerifyError::Missing(format!("transaction {hash}")))?;
        let header = self.certified_header(client, answer.header.number).await?;
        if header != answer.header {
            return Err(VerifyError::Proof("the proof's header is not the certified one".into()));
        }
        answer.transaction.verify_transaction(&header).map_err(|e| VerifyError::Proof(e.to_string()))?;
        answer.receipt.verify_receipt(&header).map_err(|e| VerifyError::Proof(e.to_string()))?;
        let proven = alloy_primitives::keccak256(&answer.transaction.item);
        if proven != hash {
            return Err(VerifyError::Proof(format!("the proven transaction is {proven}, not {hash}")));
        }
        let receipt =
            Receipt::decode(&answer.receipt.item).map_err(|e| VerifyError::Proof(format!("receipt bytes: {e}")))?;
        Ok(VerifiedTransaction { header, transaction: answer.transaction.item, receipt })
    }

    /// `address`'s account at block `number`, proven against that block's certified state root (an account
    /// that does not exist is proven absent and returned empty).
    pub async fn account(&self, client: &AccordClient, address: Address, number: u64) -> Result<Account, VerifyError> {
        let header = self.certified_header(client, number).await?;
        let block = format!("{:#x}", U64::from(number));
        let proof = client.account_proof(address, vec![], &block).await?;
        proof.account_proof.verify_account(&header.state_root, address).map_err(|e| VerifyError::Proof(e.to_string()))
    }
}
