//! Transaction receipts and their logs.

use alloy_primitives::{Address, Bloom, Log, logs_bloom};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// The outcome of one transaction, as committed in a block's receipts root.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
#[rlp(trailing)]
pub struct Receipt {
    /// EIP-2718 type of the transaction (0 legacy, 1 EIP-2930, 2 EIP-1559).
    pub tx_type: u8,
    /// True when execution succeeded; a failed transaction still pays gas and bumps the nonce.
    pub success: bool,
    /// Gas used by this transaction.
    pub gas_used: u64,
    /// Gas used by the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Price per gas that was charged.
    pub effective_gas_price: u128,
    /// Logs emitted, in order.
    pub logs: Vec<Log>,
    /// Address of the contract created, for a creation transaction that succeeded.
    pub contract_address: Option<Address>,
}

impl Receipt {
    /// Canonical bytes: the leaf committed under the header's receipts root.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Decodes canonical bytes.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        <Self as alloy_rlp::Decodable>::decode(&mut bytes)
    }

    /// Bloom filter over this receipt's log addresses and topics, as Ethereum computes it.
    pub fn bloom(&self) -> Bloom {
        logs_bloom(self.logs.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{B256, Bytes, LogData};

    #[test]
    fn roundtrip_with_and_without_contract_address() {
        let mut r = Receipt {
            tx_type: 2,
            success: true,
            gas_used: 21_000,
            cumulative_gas_used: 42_000,
            effective_gas_price: 0,
            logs: vec![Log {
                address: Address::repeat_byte(1),
                data: LogData::new_unchecked(vec![B256::repeat_byte(2)], Bytes::from_static(b"x")),
            }],
            contract_address: None,
        };
        assert_eq!(Receipt::decode(&r.encode()).expect("decodes"), r);
        r.contract_address = Some(Address::repeat_byte(7));
        assert_eq!(Receipt::decode(&r.encode()).expect("decodes"), r);
    }
}
