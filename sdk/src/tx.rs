//! Ethereum-format transactions: decoding, stateless checks and sender recovery.
//!
//! Decoding goes through alloy's `TxEnvelope`, so the bytes a wallet signs are exactly the bytes Accord hashes.
//! The checks here are the ones that need no state (format, chain id, size, signature); nonce and balance checks
//! belong to the mempool and the executor, which see state.

use alloy_consensus::{Transaction as _, TxEnvelope, TxType};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};

use crate::crypto::{CryptoSuite, SignatureError};

/// Gas every transaction pays before its data, as in Ethereum.
pub const TX_BASE_GAS: u64 = 21_000;
/// Extra gas of a contract-creating transaction.
pub const TX_CREATE_GAS: u64 = 32_000;
/// Gas per zero byte of calldata.
pub const TX_DATA_ZERO_GAS: u64 = 4;
/// Gas per non-zero byte of calldata.
pub const TX_DATA_NONZERO_GAS: u64 = 16;

/// Why a transaction was refused before it touched state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a well-formed EIP-2718 transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Larger than the chain's transaction size limit.
    #[error("oversized data: transaction is {size} bytes, limit is {limit}")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// Chain limit.
        limit: usize,
    },
    /// A transaction type the chain does not accept (blob and set-code transactions).
    #[error("transaction type not supported: {0}")]
    UnsupportedType(u8),
    /// A legacy transaction signed without EIP-155 replay protection.
    #[error("invalid chain id: transaction has no chain id (pre-EIP-155 signature); this chain requires {expected}")]
    MissingChainId {
        /// This chain's id.
        expected: u64,
    },
    /// Signed for another chain.
    #[error("invalid chain id: transaction is for chain {got}, this chain is {expected}")]
    WrongChainId {
        /// Chain id in the transaction.
        got: u64,
        /// This chain's id.
        expected: u64,
    },
    /// The signature is malleable or recovers no key.
    #[error("invalid sender: {0}")]
    Signature(#[from] SignatureError),
    /// The gas limit is below what the transaction's own bytes cost.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGas {
        /// Gas limit given.
        have: u64,
        /// Intrinsic gas of the transaction.
        want: u64,
    },
    /// Max priority fee above max fee (EIP-1559 rule).
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
}

/// A decoded transaction whose signature has been checked once, with its sender and hash cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    envelope: TxEnvelope,
    sender: Address,
    /// The exact EIP-2718 bytes, kept so that roots, storage and proofs never re-encode the transaction.
    raw: Bytes,
}

/// Limits a transaction is checked against without state.
#[derive(Debug, Clone, Copy)]
pub struct TxLimits {
    /// The chain id every transaction must carry.
    pub chain_id: u64,
    /// Largest accepted EIP-2718 encoding in bytes.
    pub max_tx_bytes: usize,
    /// Cryptography used to recover senders.
    pub crypto: CryptoSuite,
}

impl SignedTransaction {
    /// Decodes raw EIP-2718 bytes (as sent to `eth_sendRawTransaction`), checks them and recovers the sender.
    pub fn decode(raw: &[u8], limits: &TxLimits) -> Result<Self, TxError> {
        if raw.len() > limits.max_tx_bytes {
            return Err(TxError::Oversized { size: raw.len(), limit: limits.max_tx_bytes });
        }
        if raw.is_empty() {
            return Err(TxError::Malformed("empty input".into()));
        }
        let envelope = decode_exact(raw)?;
        let sender = Self::check(&envelope, limits)?;
        Ok(Self { envelope, sender, raw: Bytes::copy_from_slice(raw) })
    }

    /// [`Self::decode`] of many transactions, spread over the machine's cores (rayon's pool): sender recovery is
    /// nearly all of the cost and each transaction's is independent, so a gossip batch or a block's unseen
    /// transactions are recovered in 1/cores of the time. Results are in input order.
    pub fn decode_many<R: AsRef<[u8]> + Sync>(raws: &[R], limits: &TxLimits) -> Vec<Result<Self, TxError>> {
        use rayon::prelude::*;
        raws.par_iter().map(|r| Self::decode(r.as_ref(), limits)).collect()
    }

    /// Checks an already-decoded envelope and recovers its sender.
    pub fn from_envelope(envelope: TxEnvelope, limits: &TxLimits) -> Result<Self, TxError> {
        let sender = Self::check(&envelope, limits)?;
        let raw = envelope.encoded_2718().into();
        Ok(Self { envelope, sender, raw })
    }

    /// The stateless checks and sender recovery shared by both constructors.
    fn check(envelope: &TxEnvelope, limits: &TxLimits) -> Result<Address, TxError> {
        match envelope.tx_type() {
            TxType::Legacy | TxType::Eip2930 | TxType::Eip1559 => {}
            other => return Err(TxError::UnsupportedType(other as u8)),
        }
        match envelope.chain_id() {
            None => return Err(TxError::MissingChainId { expected: limits.chain_id }),
            Some(id) if id != limits.chain_id => {
                return Err(TxError::WrongChainId { got: id, expected: limits.chain_id });
            }
            Some(_) => {}
        }
        if let Some(tip) = envelope.max_priority_fee_per_gas()
            && tip > envelope.max_fee_per_gas()
        {
            return Err(TxError::TipAboveFeeCap);
        }
        let want = intrinsic_gas(envelope.input(), envelope.kind().is_create())
            .saturating_add(access_list_gas(envelope.access_list()));
        if envelope.gas_limit() < want {
            return Err(TxError::IntrinsicGas { have: envelope.gas_limit(), want });
        }
        Ok(limits.crypto.recover(&envelope.signature_hash(), envelope.signature())?)
    }

    /// Rebuilds a transaction whose sender was verified when it first entered this node (read back from the
    /// node's own storage): decodes, but does not recover the signer again.
    pub fn from_verified_bytes(raw: Bytes, sender: Address) -> Result<Self, TxError> {
        let envelope = decode_exact(&raw)?;
        Ok(Self { envelope, sender, raw })
    }

    /// The alloy envelope.
    pub fn envelope(&self) -> &TxEnvelope {
        &self.envelope
    }
    /// Recovered sender.
    pub fn sender(&self) -> Address {
        self.sender
    }
    /// Transaction hash (keccak of the EIP-2718 encoding, computed once by alloy at decode).
    pub fn hash(&self) -> B256 {
        *self.envelope.tx_hash()
    }
    /// Size of the EIP-2718 encoding.
    pub fn encoded_len(&self) -> usize {
        self.raw.len()
    }
    /// The EIP-2718 bytes.
    pub fn encoded(&self) -> &Bytes {
        &self.raw
    }
    /// Sender's nonce for this transaction.
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }
    /// Gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }
    /// Value transferred.
    pub fn value(&self) -> U256 {
        self.envelope.value()
    }
    /// Recipient, or `None` for contract creation.
    pub fn to(&self) -> Option<Address> {
        match self.envelope.kind() {
            TxKind::Call(a) => Some(a),
            TxKind::Create => None,
        }
    }
    /// Call data.
    pub fn input(&self) -> &Bytes {
        self.envelope.input()
    }
    /// Price per gas actually paid given the block's base fee (EIP-1559 rules; legacy pays its gas price).
    pub fn effective_gas_price(&self, base_fee: u64) -> u128 {
        self.envelope.effective_gas_price(Some(base_fee))
    }
    /// Largest price per gas this transaction could pay; used to reserve balance up front.
    pub fn max_fee_per_gas(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }
    /// The most this transaction can debit: value plus gas limit times max fee.
    pub fn max_cost(&self) -> U256 {
        U256::from(self.gas_limit()).saturating_mul(U256::from(self.max_fee_per_gas())).saturating_add(self.value())
    }
    /// Gas this transaction costs before execution (calldata, creation and EIP-2930 access list).
    pub fn intrinsic_gas(&self) -> u64 {
        intrinsic_gas(self.input(), self.to().is_none()).saturating_add(access_list_gas(self.envelope.access_list()))
    }
}

/// Gas a transaction costs for existing at all: base, creation surcharge and calldata, as Ethereum counts it.
pub fn intrinsic_gas(input: &[u8], is_create: bool) -> u64 {
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = input.len() as u64 - zeros;
    TX_BASE_GAS + if is_create { TX_CREATE_GAS } else { 0 } + zeros * TX_DATA_ZERO_GAS + nonzeros * TX_DATA_NONZERO_GAS
}

/// Gas per address in an EIP-2930 access list.
pub const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// Gas per storage key in an EIP-2930 access list.
pub const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;

/// Decodes exactly one EIP-2718 transaction, refusing trailing bytes.
fn decode_exact(raw: &[u8]) -> Result<TxEnvelope, TxError> {
    let mut buf = raw;
    let envelope = TxEnvelope::decode_2718(&mut buf).map_err(|e| TxError::Malformed(e.to_string()))?;
    if !buf.is_empty() {
        return Err(TxError::Malformed(format!("{} trailing bytes", buf.len())));
    }
    Ok(envelope)
}

/// Gas an EIP-2930 access list costs, as Ethereum counts it (so a large list cannot ride for free).
pub fn access_list_gas(list: Option<&alloy_eips::eip2930::AccessList>) -> u64 {
    list.map(|l| {
        l.iter().fold(0u64, |acc, item| {
            acc.saturating_add(ACCESS_LIST_ADDRESS_GAS)
                .saturating_add(ACCESS_LIST_STORAGE_KEY_GAS.saturating_mul(item.storage_keys.len() as u64))
        })
    })
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    fn limits() -> TxLimits {
        TxLimits { chain_id: 1337, max_tx_bytes: 128 * 1024, crypto: CryptoSuite::default() }
    }

    fn legacy(chain_id: Option<u64>) -> (PrivateKeySigner, Vec<u8>) {
        let signer = PrivateKeySigner::random();
        let tx = TxLegacy {
            chain_id,
            nonce: 0,
            gas_price: 0,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(5u8),
            input: Bytes::new(),
        };
        let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
        let env: TxEnvelope = tx.into_signed(sig).into();
        (signer, env.encoded_2718())
    }

    #[test]
    fn decode_many_keeps_order_and_each_outcome() {
        let mut raws: Vec<Vec<u8>> = Vec::new();
        let mut senders = Vec::new();
        for i in 0..50 {
            if i % 7 == 3 {
                raws.push(vec![0xc0 + i as u8]);
                senders.push(None);
            } else {
                let (signer, raw) = legacy(Some(1337));
                raws.push(raw);
                senders.push(Some(signer.address()));
            }
        }
        let decoded = SignedTransaction::decode_many(&raws, &limits());
        assert_eq!(decoded.len(), raws.len());
        for ((raw, sender), got) in raws.iter().zip(&senders).zip(&decoded) {
            assert_eq!(got.as_ref().ok().map(|t| t.sender()), *sender);
            assert_eq!(got, &SignedTransaction::decode(raw, &limits()));
        }
        assert!(SignedTransaction::decode_many::<Vec<u8>>(&[], &limits()).is_empty());
    }

    #[test]
    fn legacy_eip155_recovers_sender() {
        let (signer, raw) = legacy(Some(1337));
        let tx = SignedTransaction::decode(&raw, &limits()).expect("valid");
        assert_eq!(tx.sender(), signer.address());
        assert_eq!(tx.hash(), alloy_primitives::keccak256(&raw));
    }

    #[test]
    fn pre_eip155_and_wrong_chain_are_refused() {
        let (_, raw) = legacy(None);
        assert!(matches!(SignedTransaction::decode(&raw, &limits()), Err(TxError::MissingChainId { .. })));
        let (_, raw) = legacy(Some(1));
        assert_eq!(SignedTransaction::decode(&raw, &limits()), Err(TxError::WrongChainId { got: 1, expected: 1337 }));
    }

    #[test]
    fn eip1559_and_high_s() {
        let signer = PrivateKeySigner::random();
        let tx = TxEip1559 {
            chain_id: 1337,
            nonce: 3,
            gas_limit: 30_000,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(1u8),
            ..Default::default()
        };
        let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
        let env: TxEnvelope = tx.clone().into_signed(sig).into();
        let ok = SignedTransaction::decode(&env.encoded_2718(), &limits()).expect("valid");
        assert_eq!(ok.sender(), signer.address());
        assert_eq!(ok.effective_gas_price(0), 1);

        // Flip s to n - s (and the parity): the same key would verify, but EIP-2 forbids it.
        let n = SECP_N;
        let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
        let env: TxEnvelope = tx.into_signed(high).into();
        assert_eq!(
            SignedTransaction::decode(&env.encoded_2718(), &limits()),
            Err(TxError::Signature(SignatureError::HighS))
        );
    }

    const SECP_N: U256 =
        U256::from_limbs([0xbfd2_5e8c_d036_4141, 0xbaae_dce6_af48_a03b, 0xffff_ffff_ffff_fffe, 0xffff_ffff_ffff_ffff]);

    #[test]
    fn garbage_and_oversize() {
        assert!(matches!(SignedTransaction::decode(&[0xf8, 0x01, 0x02], &limits()), Err(TxError::Malformed(_))));
        assert!(matches!(SignedTransaction::decode(&vec![0u8; 200 * 1024], &limits()), Err(TxError::Oversized { .. })));
        let (_, mut raw) = legacy(Some(1337));
        raw.push(0);
        assert!(matches!(SignedTransaction::decode(&raw, &limits()), Err(TxError::Malformed(_))));
    }

    #[test]
    fn intrinsic_gas_counts_bytes() {
        assert_eq!(intrinsic_gas(&[0, 1, 2], false), 21_000 + 4 + 32);
        assert_eq!(intrinsic_gas(&[], true), 53_000);
    }
}
