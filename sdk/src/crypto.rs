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
    /// Public-key recovery without the verification k256's `recover_from_prehash` adds after it.
    ///
    /// With `R` the curve point whose x is `r` (and whose y has the signature's parity), the recovered key is
    /// `Q = r⁻¹(s·R − z·G)`. Verifying `(r, s)` against `Q` computes `z/s·G + r/s·Q = z/s·G + R − z/s·G = R`,
    /// whose x is `r` by construction: the check can only pass, and costs a second scalar multiplication and
    /// inversion (≈ 40 % of a recovery). Everything that can fail is still checked: `r` and `s` in `[1, n)`, `s`
    /// in the lower half (EIP-2), `r` the x of a curve point, and `Q` not the point at infinity. The property test
    /// below holds this to k256's own recovery over random and edge-case signatures.
    fn recover(prehash: &B256, signature: &Signature) -> Result<Address, SignatureError> {
        use k256::elliptic_curve::ops::{LinearCombination, Reduce};
        use k256::elliptic_curve::point::DecompressPoint;
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        use k256::elliptic_curve::subtle::Choice;
        use k256::elliptic_curve::{Group, PrimeField};
        use k256::{AffinePoint, ProjectivePoint, Scalar};

        if signature.s() > SECP256K1_HALF_ORDER {
            return Err(SignatureError::HighS);
        }
        let r_bytes = signature.r().to_be_bytes::<32>();
        // `from_repr` refuses values ≥ n; zero is refused separately (it has no inverse).
        let scalar = |bytes: [u8; 32]| {
            Option::<Scalar>::from(Scalar::from_repr(bytes.into()))
                .filter(|x| !bool::from(x.is_zero()))
                .ok_or(SignatureError::Unrecoverable)
        };
        let r = scalar(r_bytes)?;
        let s = scalar(signature.s().to_be_bytes::<32>())?;
        let z = <Scalar as Reduce<k256::U256>>::reduce_bytes(&prehash.0.into());
        let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
            &r_bytes.into(),
            Choice::from(u8::from(signature.v())),
        ))
        .ok_or(SignatureError::Unrecoverable)?;
        let r_inv = Option::<Scalar>::from(r.invert()).ok_or(SignatureError::Unrecoverable)?;
        let u1 = -(r_inv * z);
        let u2 = r_inv * s;
        let key = ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, &u1, &ProjectivePoint::from(big_r), &u2);
        if bool::from(key.is_identity()) {
            return Err(SignatureError::Unrecoverable);
        }
        let encoded = key.to_affine().to_encoded_point(false);
        Ok(Address::from_raw_public_key(&encoded.as_bytes()[1..]))
    }
}

impl Secp256k1 {
    /// Recovery as k256 does it (recover, then verify the signature against the recovered key), with the same
    /// EIP-2 check: the reference [`SignatureScheme::recover`] is held to, and the baseline of its benchmark.
    pub fn recover_with_verification(prehash: &B256, signature: &Signature) -> Result<Address, SignatureError> {
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

    use proptest::prelude::*;

    /// secp256k1's group order n.
    fn order() -> U256 {
        (SECP256K1_HALF_ORDER << 1) + U256::from(1u8)
    }

    /// Edge values of r and s next to random ones: zero, one, n−1, n, n/2 and n/2+1, the field prime's
    /// neighbourhood (x values with no point), and all-ones.
    fn scalar_like() -> impl Strategy<Value = U256> {
        let n = order();
        let p =
            U256::from_str_radix("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", 16).expect("p");
        prop_oneof![
            4 => any::<[u8; 32]>().prop_map(U256::from_be_bytes),
            1 => prop::sample::select(vec![
                U256::ZERO,
                U256::from(1u8),
                U256::from(2u8),
                n - U256::from(1u8),
                n,
                n + U256::from(1u8),
                SECP256K1_HALF_ORDER,
                SECP256K1_HALF_ORDER + U256::from(1u8),
                p - U256::from(1u8),
                p,
                U256::MAX,
            ]),
        ]
    }

    fn same_outcome(prehash: &B256, sig: &Signature) {
        let fast = Secp256k1::recover(prehash, sig);
        let reference = Secp256k1::recover_with_verification(prehash, sig);
        assert_eq!(fast, reference, "r={} s={} v={} prehash={prehash}", sig.r(), sig.s(), sig.v());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Arbitrary (mostly invalid) signatures: both refuse, or both recover the same address.
        #[test]
        fn fast_recovery_matches_k256_on_arbitrary_signatures(
            r in scalar_like(), s in scalar_like(), v in any::<bool>(), prehash in any::<[u8; 32]>()
        ) {
            same_outcome(&B256::from(prehash), &Signature::new(r, s, v));
        }

        /// Real signatures by random keys, as signed, with the parity flipped, and with a tampered digest.
        #[test]
        fn fast_recovery_matches_k256_on_real_signatures(secret in any::<[u8; 32]>(), prehash in any::<[u8; 32]>()) {
            let Ok(key) = k256::ecdsa::SigningKey::from_slice(&secret) else { return Ok(()) };
            let prehash = B256::from(prehash);
            let (sig, recid) = key.sign_prehash_recoverable(prehash.as_slice()).expect("signs");
            let sig = Signature::from_signature_and_parity(sig, recid.is_y_odd());
            let address = Address::from_public_key(key.verifying_key());
            prop_assert_eq!(Secp256k1::recover(&prehash, &sig), Ok(address));
            same_outcome(&prehash, &sig);
            same_outcome(&prehash, &Signature::new(sig.r(), sig.s(), !sig.v()));
            let mut other = prehash;
            other.0[0] ^= 1;
            same_outcome(&other, &sig);
            // The malleable twin (n − s, flipped parity) recovers the same key in k256 but is refused here.
            let twin = Signature::new(sig.r(), order() - sig.s(), !sig.v());
            prop_assert_eq!(Secp256k1::recover(&prehash, &twin), Err(SignatureError::HighS));
        }
    }

    #[test]
    fn high_s_is_refused() {
        let sig = Signature::new(U256::from(1u8), SECP256K1_HALF_ORDER + U256::from(1u8), false);
        assert_eq!(Secp256k1::recover(&B256::ZERO, &sig), Err(SignatureError::HighS));
    }
}
