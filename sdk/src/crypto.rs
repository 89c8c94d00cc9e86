//! The hash function and signature scheme a chain uses, behind small traits chosen by genesis.
//!
//! Everything that hashes or verifies goes through [`CryptoSuite`], so a national-cryptography chain (SM2 + SM3)
//! can later be added as one more suite without touching the block, state or mempool code.

use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use serde::{Deserialize, Serialize};

/// Order of the secp256k1 group divided by two: signatures with a larger `s` are malleable (EIP-2) and refused.
pub const SECP256K1_HALF_ORDER: U256 =
    U256::from_limbs([0xdfe9_2f46_681b_20a0, 0x5d57_6e73_57a4_501d, 0xffff_ffff_ffff_ffff, 0x7fff_ffff_ffff_ffff]);

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `s` is in the upper half of the curve order; accepting it would give every transaction two valid hashes.
    #[error("invalid signature: high-s value (EIP-2)")]
    HighS,
    /// The signature does not recover to any public key.
    #[error("invalid signature: public key recovery failed")]
    Unrecoverable,
}

/// A collision-resistant hash function producing 32 bytes.
pub trait ChainHasher {
    /// Hashes `data`.
    fn hash(data: &[u8]) -> B256;
}

/// Keccak-256, Ethereum's hash; the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keccak;

impl ChainHasher for Keccak {
    fn hash(data: &[u8]) -> B256 {
        keccak256(data)
    }
}

/// A signature scheme that can recover the signer's address from a signature over a 32-byte prehash.
pub trait SignatureScheme {
    /// Recovers the address that produced `signature` over `prehash`, refusing malleable signatures.
    fn recover(prehash: &B256, signature: &Signature) -> Result<Address, SignatureError>;
}

/// secp256k1 ECDSA with Ethereum addresses (last 20 bytes of the Keccak hash of the public key).
#[derive(Debug, Clone, Copy, Default)]
pub struct Secp256k1;

impl SignatureScheme for Secp256k1 {
    fn recover(prehash: &B256, signature: &Signature) -> Result<Address, SignatureError> {
        if signature.s() > SECP256K1_HALF_ORDER {
            return Err(SignatureError::HighS);
        }
        signature.recover_address_from_prehash(prehash).map_err(|_| SignatureError::Unrecoverable)
    }
}

/// The cryptography a chain is configured with in its genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CryptoSuite {
    /// secp256k1 signatures and Keccak-256 hashing, as Ethereum.
    #[default]
    Secp256k1Keccak,
}

impl CryptoSuite {
    /// Hashes `data` with the suite's hash function.
    pub fn hash(self, data: &[u8]) -> B256 {
        match self {
            Self::Secp256k1Keccak => Keccak::hash(data),
        }
    }

    /// Recovers a signer with the suite's signature scheme.
    pub fn recover(self, prehash: &B256, signature: &Signature) -> Result<Address, SignatureError> {
        match self {
            Self::Secp256k1Keccak => Secp256k1::recover(prehash, signature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_order_is_n_over_two() {
        let n = U256::from_str_radix("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
            .expect("constant parses");
        assert_eq!(SECP256K1_HALF_ORDER, n >> 1);
    }

    #[test]
    fn high_s_is_refused() {
        let sig = Signature::new(U256::from(1u8), SECP256K1_HALF_ORDER + U256::from(1u8), false);
        assert_eq!(Secp256k1::recover(&B256::ZERO, &sig), Err(SignatureError::HighS));
    }
}
