//! Consensus message signatures with the validators' secp256k1 node keys.

use accord_consensus::{BlockId, Height, MessageCrypto, NodeIndex};
use accord_sdk::block::ValidatorSet;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::keys::KeyPair;
use alloy_primitives::Signature;

/// Signs with this node's key; verifies by recovering the signer and comparing it with the validator set.
///
/// Every signed message is prefixed with the chain id, so a vote cannot be replayed on another chain. With that
/// prefix a commit vote's digest is exactly [`accord_sdk::block::commit_digest`]: the commit votes that decide a
/// block are its certificate's signatures.
///
/// The set is shared with the driver, which replaces it as each height starts (governance changes it between
/// heights): messages of the height being decided and of the next are checked against the current one, and the
/// state machine checks next-height messages again under the new set when that height starts.
#[derive(Debug, Clone)]
pub struct NodeKeyCrypto {
    key: KeyPair,
    validators: std::sync::Arc<parking_lot::RwLock<ValidatorSet>>,
    suite: CryptoSuite,
    chain_id: u64,
}

impl NodeKeyCrypto {
    /// Crypto for the validator holding `key` in `validators` on chain `chain_id`.
    pub fn new(key: KeyPair, validators: ValidatorSet, suite: CryptoSuite, chain_id: u64) -> Self {
        Self { key, validators: std::sync::Arc::new(parking_lot::RwLock::new(validators)), suite, chain_id }
    }

    /// Replaces the set signatures are checked against (in every clone: the state machine holds one).
    pub fn set_validators(&self, validators: ValidatorSet) {
        *self.validators.write() = validators;
    }

    fn digest(&self, bytes: &[u8]) -> accord_sdk::B256 {
        let mut buf = Vec::with_capacity(8 + bytes.len());
        buf.extend_from_slice(&self.chain_id.to_be_bytes());
        buf.extend_from_slice(bytes);
        self.suite.hash(&buf)
    }
}

impl MessageCrypto for NodeKeyCrypto {
    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        match self.key.sign_prehash(&self.digest(bytes)) {
            Ok(sig) => sig.as_bytes().to_vec(),
            // Signing with a valid key cannot fail; an empty signature is refused by every verifier.
            Err(_) => Vec::new(),
        }
    }

    fn verify(&self, _height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool {
        let Some(address) = self.validators.read().validators.get(signer).map(|v| v.address) else { return false };
        let Ok(sig) = Signature::try_from(signature) else { return false };
        self.suite.recover(&self.digest(bytes), &sig).is_ok_and(|addr| addr == address)
    }

    /// A proposal's payload starts with the RLP header whose hash is the block id (the body follows it).
    fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool {
        accord_sdk::block::block_id_of(payload).is_some_and(|id| id.0 == block.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::block::Header;
    use accord_sdk::block::Validator;

    fn header(chain_id: u64, number: u64, proposer: accord_sdk::Address) -> Header {
        Header {
            version: 1,
            chain_id,
            parent_hash: Default::default(),
            number,
            timestamp: 0,
            proposer,
            transactions_root: Default::default(),
            receipts_root: Default::default(),
            state_root: Default::default(),
            logs_bloom: Default::default(),
            gas_used: 0,
            gas_limit: 1,
            base_fee: 0,
            next_validators_hash: Default::default(),
        }
    }

    #[test]
    fn only_the_named_validator_verifies() {
        let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::generate()).collect();
        let set = ValidatorSet {
            validators: keys.iter().enumerate().map(|(i, k)| Validator::from_key(format!("v{i}"), k, "")).collect(),
        };
        let c1 = NodeKeyCrypto::new(keys[1].clone(), set.clone(), CryptoSuite::default(), 1);
        let sig = c1.sign(b"prepare h1 v0");
        assert!(c1.verify(1, 1, b"prepare h1 v0", &sig));
        assert!(!c1.verify(1, 2, b"prepare h1 v0", &sig), "not another validator's");
        assert!(!c1.verify(1, 1, b"prepare h1 v1", &sig), "not other bytes");
        assert!(!c1.verify(1, 9, b"prepare h1 v0", &sig), "not an unknown index");
        assert!(!c1.verify(1, 1, b"prepare h1 v0", &sig[..10]), "not a truncated signature");
        let other_chain = NodeKeyCrypto::new(keys[1].clone(), set.clone(), CryptoSuite::default(), 2);
        assert!(!other_chain.verify(1, 1, b"prepare h1 v0", &sig), "not on another chain");

        let header = header(1, 1, keys[0].address());
        let mut payload = header.encode();
        payload.extend_from_slice(b"body bytes");
        assert!(c1.payload_matches(&BlockId(header.hash().0), &payload));
        assert!(!c1.payload_matches(&BlockId([7; 32]), &payload));
        assert!(!c1.payload_matches(&BlockId(header.hash().0), b"junk"));
    }

    #[test]
    fn commit_votes_form_a_certificate() {
        use accord_consensus::{CommitBody, SigningBytes, Vote};
        use accord_sdk::block::CommitCertificate;
        let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::generate()).collect();
        let set = ValidatorSet {
            validators: keys.iter().enumerate().map(|(i, k)| Validator::from_key(format!("v{i}"), k, "")).collect(),
        };
        let header = header(9, 3, keys[0].address());
        let vote = Vote { height: 3, view: 2, block: BlockId(header.hash().0) };
        let signatures = keys[..3]
            .iter()
            .map(|k| {
                let c = NodeKeyCrypto::new(k.clone(), set.clone(), CryptoSuite::default(), 9);
                c.sign(&CommitBody(&vote).signing_bytes()).into()
            })
            .collect();
        let cert = CommitCertificate { height: 3, view: 2, block_hash: header.hash(), signatures };
        assert_eq!(cert.verify(9, &header, &set, CryptoSuite::default()), Ok(()));
        assert!(cert.verify(10, &header, &set, CryptoSuite::default()).is_err());
    }
}
