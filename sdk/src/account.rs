//! The account model and how state entries are keyed in the state tree.
//!
//! All state (accounts and contract storage) lives in one authenticated tree. Each entry has a typed key
//! ([`StateKey`]) whose bytes are hashed into the tree's key space, so one proof format covers balances, nonces,
//! code hashes and storage slots alike.

use alloy_primitives::{Address, B256, U256, b256};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// Keccak-256 of the empty byte string: the code hash of an account without code, as in Ethereum.
pub const EMPTY_CODE_HASH: B256 = b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// An account as stored in state.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Account {
    /// Number of transactions this account has sent; the next one must carry exactly this nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Hash of the contract code, or [`EMPTY_CODE_HASH`].
    pub code_hash: B256,
}

impl Default for Account {
    fn default() -> Self {
        Self { nonce: 0, balance: U256::ZERO, code_hash: EMPTY_CODE_HASH }
    }
}

impl Account {
    /// Encodes the account as stored in the state tree.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Decodes an account stored in the state tree.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        <Self as alloy_rlp::Decodable>::decode(&mut bytes)
    }
}

/// The key of one entry in the state tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// An account record.
    Account(Address),
    /// One 32-byte storage slot of a contract.
    Storage(Address, B256),
    /// A contract's code, keyed by its hash.
    Code(B256),
}

impl StateKey {
    /// The key's canonical bytes: a tag byte and the fields, so no two kinds of key can collide.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Account(a) => [&[0x01][..], a.as_slice()].concat(),
            Self::Storage(a, s) => [&[0x02][..], a.as_slice(), s.as_slice()].concat(),
            Self::Code(h) => [&[0x03][..], h.as_slice()].concat(),
        }
    }

    /// Parses canonical key bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        match (b.first(), b.len()) {
            (Some(0x01), 21) => Some(Self::Account(Address::from_slice(&b[1..]))),
            (Some(0x02), 53) => Some(Self::Storage(Address::from_slice(&b[1..21]), B256::from_slice(&b[21..]))),
            (Some(0x03), 33) => Some(Self::Code(B256::from_slice(&b[1..]))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_code_hash_is_keccak_of_nothing() {
        assert_eq!(EMPTY_CODE_HASH, alloy_primitives::keccak256([]));
    }

    #[test]
    fn account_roundtrip() {
        let a = Account { nonce: 7, balance: U256::from(10u64).pow(U256::from(20u8)), ..Default::default() };
        assert_eq!(Account::decode(&a.encode()).expect("decodes"), a);
    }

    #[test]
    fn state_key_roundtrip() {
        for k in [
            StateKey::Account(Address::repeat_byte(3)),
            StateKey::Storage(Address::repeat_byte(4), B256::repeat_byte(5)),
            StateKey::Code(B256::repeat_byte(6)),
        ] {
            assert_eq!(StateKey::from_bytes(&k.to_bytes()), Some(k));
        }
        assert_eq!(StateKey::from_bytes(&[0x09, 1, 2]), None);
    }
}
