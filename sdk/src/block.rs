//! Block headers, bodies and commit certificates.
//!
//! A header commits to everything a client may want to check: the transactions and receipts (binary Merkle roots
//! with inclusion proofs), the whole state (Jellyfish Merkle root with proofs), and the validator set that must
//! certify the next block. A block is final when it carries a [`CommitCertificate`] signed by a quorum of the
//! validator set named by its parent, so a chain can be verified from genesis with nothing but headers and
//! certificates.

use alloy_primitives::{Address, B256, Bloom, Bytes, Signature, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use serde::{Deserialize, Serialize};

use crate::crypto::CryptoSuite;

/// A block header.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Encoding version ([`crate::FORMAT_VERSION`]).
    pub version: u64,
    /// Chain id, so a header of one chain can never be replayed into another.
    pub chain_id: u64,
    /// Hash of the parent header (zero for genesis).
    pub parent_hash: B256,
    /// Height; genesis is 0.
    pub number: u64,
    /// Seconds since the Unix epoch, from the proposer's clock; never below the parent's.
    pub timestamp: u64,
    /// Address of the validator that proposed the block; it receives the fees.
    pub proposer: Address,
    /// Binary Merkle root over the EIP-2718 encodings of the transactions.
    pub transactions_root: B256,
    /// Binary Merkle root over the canonical receipt encodings.
    pub receipts_root: B256,
    /// Jellyfish Merkle root of the whole state after this block.
    pub state_root: B256,
    /// Bloom over all logs of the block, so log queries can skip blocks.
    pub logs_bloom: Bloom,
    /// Total gas used.
    pub gas_used: u64,
    /// Gas limit of the block (a chain parameter).
    pub gas_limit: u64,
    /// Base fee per gas (0 on a chain that charges no gas price).
    pub base_fee: u64,
    /// Hash of the validator set that must certify the next block.
    pub next_validators_hash: B256,
}

impl Header {
    /// The block hash: Keccak-256 of the header's RLP encoding.
    pub fn hash(&self) -> B256 {
        keccak256(alloy_rlp::encode(self))
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Decodes canonical bytes.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        <Self as alloy_rlp::Decodable>::decode(&mut bytes)
    }
}

/// One validator of the consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validator {
    /// Operator-chosen name, for logs and status output.
    pub name: String,
    /// Address derived from the validator's node key; consensus signatures recover to it.
    pub address: Address,
    /// Compressed secp256k1 public key of the node key (33 bytes).
    pub public_key: Bytes,
    /// Where peers reach the node (a libp2p multiaddr or host:port).
    pub p2p_address: String,
}

impl Validator {
    /// Checks that `address` is the one `public_key` derives: consensus signatures recover to the address, so an
    /// entry whose two disagree (a typo, a forged member file) names a node that can never sign.
    pub fn check_key(&self) -> Result<(), String> {
        if self.public_key.len() != 33 {
            return Err("publicKey must be 33 bytes (compressed)".into());
        }
        let point = k256::ecdsa::VerifyingKey::from_sec1_bytes(&self.public_key)
            .map_err(|_| "publicKey is not a curve point".to_string())?
            .to_encoded_point(false);
        let derived = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
        if derived != self.address {
            return Err(format!(
                "address does not match publicKey: {} is given, the key derives {derived}",
                self.address
            ));
        }
        Ok(())
    }

    /// The genesis entry of the validator whose node key is `key`.
    pub fn from_key(name: impl Into<String>, key: &crate::keys::KeyPair, p2p_address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: key.address(),
            public_key: key.public_key().into(),
            p2p_address: p2p_address.into(),
        }
    }
}

/// An ordered validator set with its quorum rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSet {
    /// Validators in the order that determines leader rotation.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// A set known by its members' addresses alone, in order: all a certificate check and the set's hash need
    /// (signers are recovered, not looked up by key), as light clients and snapshots carry it.
    pub fn of_addresses(addresses: &[Address]) -> Self {
        let validator = |address: &Address| Validator {
            name: String::new(),
            address: *address,
            public_key: Default::default(),
            p2p_address: String::new(),
        };
        Self { validators: addresses.iter().map(validator).collect() }
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }
    /// True when there is no validator (never valid for a running chain).
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }
    /// Most faulty validators tolerated: f = ⌊(n−1)/3⌋.
    pub fn max_faulty(&self) -> usize {
        self.len().saturating_sub(1) / 3
    }
    /// Signatures needed to certify a block: ⌈(2n+1)/3⌉, which equals 2f+1 when n = 3f+1 and keeps any two
    /// quorums intersecting in an honest validator for every n.
    pub fn quorum(&self) -> usize {
        (2 * self.len()) / 3 + 1
    }
    /// Position of a validator by address.
    pub fn index_of(&self, address: &Address) -> Option<usize> {
        self.validators.iter().position(|v| v.address == *address)
    }
    /// Commitment to the set: Keccak of the RLP list of addresses, in order.
    pub fn hash(&self) -> B256 {
        let addrs: Vec<Address> = self.validators.iter().map(|v| v.address).collect();
        keccak256(alloy_rlp::encode(&addrs))
    }
}

/// Tag of a commit vote inside the signed bytes; `accord-consensus` signs its commit votes under the same tag, so
/// the 2f+1 commit votes that decide a block are, unchanged, the signatures of its certificate.
pub const COMMIT_TAG: &[u8] = b"accord-pbft/commit";

/// What validators sign to commit a block: Keccak-256 of `chain_id ‖ COMMIT_TAG ‖ height ‖ view ‖ hash` (integers
/// big-endian u64). Every consensus message a node signs is prefixed with the chain id the same way, so no vote can
/// be replayed on another chain.
pub fn commit_digest(chain_id: u64, height: u64, view: u64, block_hash: &B256) -> B256 {
    let mut buf = Vec::with_capacity(8 + COMMIT_TAG.len() + 16 + 32);
    buf.extend_from_slice(&chain_id.to_be_bytes());
    buf.extend_from_slice(COMMIT_TAG);
    buf.extend_from_slice(&height.to_be_bytes());
    buf.extend_from_slice(&view.to_be_bytes());
    buf.extend_from_slice(block_hash.as_slice());
    keccak256(buf)
}

/// A block as it travels between nodes (proposals and block sync): the header's RLP followed by an RLP list of the
/// transactions' EIP-2718 bytes. The header comes first so a receiver can bind the bytes to a block hash before it
/// decodes (and pays signature recovery for) any transaction.
pub fn encode_block<'a>(header: &Header, transactions: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let txs: Vec<&[u8]> = transactions.into_iter().collect();
    let mut out = header.encode();
    let payload_len: usize = txs.iter().map(alloy_rlp::Encodable::length).sum();
    alloy_rlp::Header { list: true, payload_length: payload_len }.encode(&mut out);
    for t in txs {
        alloy_rlp::Encodable::encode(t, &mut out);
    }
    out
}

/// The id (header hash) of bytes made by [`encode_block`], reading only the header: binds a block's bytes to the id
/// consensus signed without decoding its transactions.
pub fn block_id_of(bytes: &[u8]) -> Option<B256> {
    let mut rest = bytes;
    <Header as alloy_rlp::Decodable>::decode(&mut rest).ok().map(|h| h.hash())
}

/// Splits bytes made by [`encode_block`] into the header and the raw transactions; trailing bytes are an error.
pub fn decode_block(bytes: &[u8]) -> Result<(Header, Vec<Bytes>), alloy_rlp::Error> {
    let mut rest = bytes;
    let header = <Header as alloy_rlp::Decodable>::decode(&mut rest)?;
    let txs = <Vec<Bytes> as alloy_rlp::Decodable>::decode(&mut rest)?;
    if !rest.is_empty() {
        return Err(alloy_rlp::Error::Custom("trailing bytes after the block"));
    }
    Ok((header, txs))
}

/// Proof that a quorum of validators committed a block: their signatures over (chain, height, view, hash).
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitCertificate {
    /// Height of the block.
    pub height: u64,
    /// Consensus view in which it was committed.
    pub view: u64,
    /// Hash of the committed header.
    pub block_hash: B256,
    /// Validator signatures (65 bytes each: r, s, y-parity).
    pub signatures: Vec<Bytes>,
}

/// Why a certificate does not prove a commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The certificate is for another block or height.
    #[error("certificate is for block {got} at height {got_height}, expected {expected} at {expected_height}")]
    WrongBlock {
        /// Hash in the certificate.
        got: B256,
        /// Height in the certificate.
        got_height: u64,
        /// Hash expected.
        expected: B256,
        /// Height expected.
        expected_height: u64,
    },
    /// A signature is malformed or recovers a non-validator.
    #[error("signature {0} is invalid or not from a validator")]
    BadSignature(usize),
    /// The same validator signed twice.
    #[error("validator {0} signed more than once")]
    Duplicate(Address),
    /// Fewer distinct validators than the quorum.
    #[error("only {have} validator signatures, quorum is {need}")]
    NoQuorum {
        /// Distinct valid signers.
        have: usize,
        /// Quorum.
        need: usize,
    },
}

impl CommitCertificate {
    /// Signs `header` as committed in `view` by `key` alone: a full certificate on a single-validator chain, and
    /// one validator's commit vote anywhere else.
    pub fn sign(key: &crate::keys::KeyPair, header: &Header, view: u64) -> Result<Self, crate::keys::KeyError> {
        let hash = header.hash();
        let signature = key.sign_prehash(&commit_digest(header.chain_id, header.number, view, &hash))?;
        Ok(Self {
            height: header.number,
            view,
            block_hash: hash,
            signatures: vec![signature.as_bytes().to_vec().into()],
        })
    }

    /// Checks that a quorum of `validators` signed this block.
    pub fn verify(
        &self,
        chain_id: u64,
        header: &Header,
        validators: &ValidatorSet,
        crypto: CryptoSuite,
    ) -> Result<(), CertificateError> {
        let hash = header.hash();
        if self.block_hash != hash || self.height != header.number {
            return Err(CertificateError::WrongBlock {
                got: self.block_hash,
                got_height: self.height,
                expected: hash,
                expected_height: header.number,
            });
        }
        let digest = commit_digest(chain_id, self.height, self.view, &self.block_hash);
        let mut seen = Vec::new();
        for (i, raw) in self.signatures.iter().enumerate() {
            let sig = Signature::try_from(raw.as_ref()).map_err(|_| CertificateError::BadSignature(i))?;
            let signer = crypto.recover(&digest, &sig).map_err(|_| CertificateError::BadSignature(i))?;
            if validators.index_of(&signer).is_none() {
                return Err(CertificateError::BadSignature(i));
            }
            if seen.contains(&signer) {
                return Err(CertificateError::Duplicate(signer));
            }
            seen.push(signer);
        }
        if seen.len() < validators.quorum() {
            return Err(CertificateError::NoQuorum { have: seen.len(), need: validators.quorum() });
        }
        Ok(())
    }
}

/// A certificate whose signatures were checked against a validator set for one header. Only
/// [`CommitCertificate::into_verified`] makes one, so holding it is proof the check happened: a block's certificate is
/// verified once, however many components hand it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertificate {
    certificate: CommitCertificate,
}

impl VerifiedCertificate {
    /// The certificate.
    pub fn certificate(&self) -> &CommitCertificate {
        &self.certificate
    }

    /// The certificate, to store.
    pub fn into_inner(self) -> CommitCertificate {
        self.certificate
    }
}

impl CommitCertificate {
    /// [`CommitCertificate::verify`], keeping the proof of it.
    pub fn into_verified(
        self,
        chain_id: u64,
        header: &Header,
        validators: &ValidatorSet,
        crypto: CryptoSuite,
    ) -> Result<VerifiedCertificate, CertificateError> {
        self.verify(chain_id, header, validators, crypto)?;
        Ok(VerifiedCertificate { certificate: self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn set(keys: &[KeyPair]) -> ValidatorSet {
        ValidatorSet {
            validators: keys.iter().enumerate().map(|(i, k)| Validator::from_key(format!("v{i}"), k, "")).collect(),
        }
    }

    fn header() -> Header {
        Header {
            version: 1,
            chain_id: 7,
            parent_hash: B256::ZERO,
            number: 5,
            timestamp: 1,
            proposer: Address::ZERO,
            transactions_root: B256::ZERO,
            receipts_root: B256::ZERO,
            state_root: B256::ZERO,
            logs_bloom: Bloom::ZERO,
            gas_used: 0,
            gas_limit: 1,
            base_fee: 0,
            next_validators_hash: B256::ZERO,
        }
    }

    #[test]
    fn block_bytes_round_trip_and_refuse_trailing_bytes() {
        let h = header();
        let txs: Vec<&[u8]> = vec![b"\x02abc", b"", &[0x80; 70]];
        let bytes = encode_block(&h, txs.clone());
        let (h2, txs2) = decode_block(&bytes).expect("decodes");
        assert_eq!(h2, h);
        assert_eq!(txs2.iter().map(|t| t.as_ref()).collect::<Vec<_>>(), txs);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_block(&longer).is_err());
        assert!(decode_block(&bytes[..bytes.len() - 1]).is_err());
        assert_eq!(decode_block(&encode_block(&h, [])).expect("empty body").1.len(), 0);
    }

    #[test]
    fn quorum_sizes() {
        let q = |n: usize| ValidatorSet { validators: set(&vec![KeyPair::generate(); n]).validators }.quorum();
        assert_eq!([q(1), q(2), q(3), q(4), q(5), q(6), q(7)], [1, 2, 3, 3, 4, 5, 5]);
    }

    #[test]
    fn certificate_needs_quorum_of_distinct_validators() {
        let keys: Vec<KeyPair> = (0..4).map(|_| KeyPair::generate()).collect();
        let vs = set(&keys);
        let h = header();
        let digest = commit_digest(7, 5, 0, &h.hash());
        let sig = |k: &KeyPair| Bytes::from(k.sign_prehash(&digest).expect("signs").as_bytes().to_vec());
        let mut cert = CommitCertificate {
            height: 5,
            view: 0,
            block_hash: h.hash(),
            signatures: keys[..3].iter().map(sig).collect(),
        };
        assert_eq!(cert.verify(7, &h, &vs, CryptoSuite::default()), Ok(()));
        cert.signatures[2] = cert.signatures[1].clone();
        assert!(matches!(cert.verify(7, &h, &vs, CryptoSuite::default()), Err(CertificateError::Duplicate(_))));
        cert.signatures.truncate(2);
        assert!(matches!(cert.verify(7, &h, &vs, CryptoSuite::default()), Err(CertificateError::NoQuorum { .. })));
        cert.signatures.push(sig(&KeyPair::generate()));
        assert!(matches!(cert.verify(7, &h, &vs, CryptoSuite::default()), Err(CertificateError::BadSignature(2))));
        assert!(cert.verify(8, &h, &vs, CryptoSuite::default()).is_err());
    }
}
