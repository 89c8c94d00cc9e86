//! secp256k1 key pairs: node keys (which sign consensus messages and, later, identify libp2p peers) and
//! account keys (the dev accounts a testnet funds).

use alloy_primitives::{Address, B256, Signature, keccak256};
use k256::ecdsa::SigningKey;

/// Why a key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not 32 bytes of hex.
    #[error("private key must be 32 bytes of hex (64 hex digits, optional 0x): {0}")]
    Format(String),
    /// Zero or above the curve order.
    #[error("private key is not a valid secp256k1 scalar")]
    Invalid,
    /// Signing failed (only possible with a broken key).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A secp256k1 private key with its derived Ethereum address.
#[derive(Clone)]
pub struct KeyPair {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("KeyPair").field("address", &self.address).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let address = public_key_address(&key);
        Self { key, address }
    }

    /// Builds a key from 32 secret bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key = SigningKey::from_slice(bytes).map_err(|_| KeyError::Invalid)?;
        let address = public_key_address(&key);
        Ok(Self { key, address })
    }

    /// Parses a hex secret (with or without 0x).
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| KeyError::Format(e.to_string()))?;
        if raw.len() != 32 {
            return Err(KeyError::Format(format!("got {} bytes", raw.len())));
        }
        Self::from_bytes(&raw)
    }

    /// The 32 secret bytes (for deriving the node's libp2p identity).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The secret as 0x-prefixed hex, for key files.
    pub fn secret_hex(&self) -> String {
        format!("0x{}", hex::encode(self.key.to_bytes()))
    }

    /// The Ethereum address of the key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The 33-byte compressed public key, as written in genesis.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.verifying_key().to_encoded_point(true).as_bytes().to_vec()
    }

    /// Signs a 32-byte prehash with a recoverable signature.
    pub fn sign_prehash(&self, prehash: &B256) -> Result<Signature, KeyError> {
        let (sig, recid) =
            self.key.sign_prehash_recoverable(prehash.as_slice()).map_err(|e| KeyError::Signing(e.to_string()))?;
        Ok(Signature::from_signature_and_parity(sig, recid.is_y_odd()))
    }
}

fn public_key_address(key: &SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::CryptoSuite;

    #[test]
    fn known_address_and_sign_recover() {
        // Hardhat/anvil's first dev key: a widely published test vector.
        let k = KeyPair::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").expect("valid");
        assert_eq!(k.address(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().expect("addr"));
        let h = keccak256(b"hello");
        let sig = k.sign_prehash(&h).expect("signs");
        assert_eq!(CryptoSuite::default().recover(&h, &sig).expect("recovers"), k.address());
        assert_eq!(KeyPair::from_hex(&k.secret_hex()).expect("roundtrip").address(), k.address());
    }

    #[test]
    fn bad_keys() {
        assert!(KeyPair::from_hex("0x12").is_err());
        assert!(KeyPair::from_hex(&"00".repeat(32)).is_err());
        assert!(KeyPair::from_hex("zz").is_err());
        assert_ne!(KeyPair::generate().address(), KeyPair::generate().address());
    }
}
