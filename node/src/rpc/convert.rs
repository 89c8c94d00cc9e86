//! Accord's types in Ethereum's JSON-RPC shapes (alloy's RPC types), so clients parse them unchanged.

use accord_sdk::block::Header;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{B256, U256};
use alloy_consensus::transaction::Recovered;
use alloy_consensus::{Eip658Value, ReceiptEnvelope, ReceiptWithBloom, TxType};
use alloy_primitives::{B64, Bytes};
use alloy_rpc_types_eth as rpc;

/// The Ethereum-shaped header. `hash` is Accord's block hash (Keccak of the Accord header), `beneficiary` the
/// proposer, `mixHash` the hash of the next validator set.
pub fn header(h: &Header) -> rpc::Header {
    let inner = alloy_consensus::Header {
        parent_hash: h.parent_hash,
        ommers_hash: alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH,
        beneficiary: h.proposer,
        state_root: h.state_root,
        transactions_root: h.transactions_root,
        receipts_root: h.receipts_root,
        logs_bloom: h.logs_bloom,
        difficulty: U256::ZERO,
        number: h.number,
        gas_limit: h.gas_limit,
        gas_used: h.gas_used,
        timestamp: h.timestamp,
        extra_data: Bytes::new(),
        mix_hash: h.next_validators_hash,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(h.base_fee),
        ..Default::default()
    };
    rpc::Header { hash: h.hash(), inner, total_difficulty: Some(U256::ZERO), size: Some(U256::from(h.encode().len())) }
}

/// Position of a committed transaction.
#[derive(Debug, Clone, Copy)]
pub struct TxPosition {
    /// Block hash.
    pub block_hash: B256,
    /// Block number.
    pub block_number: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Index in the block.
    pub index: u64,
}

/// The Ethereum-shaped transaction (pending when `pos` is None).
pub fn transaction(tx: &SignedTransaction, pos: Option<TxPosition>, base_fee: u64) -> rpc::Transaction {
    rpc::Transaction {
        inner: Recovered::new_unchecked(tx.envelope().clone(), tx.sender()),
        block_hash: pos.map(|p| p.block_hash),
        block_number: pos.map(|p| p.block_number),
        transaction_index: pos.map(|p| p.index),
        effective_gas_price: pos.map(|_| tx.effective_gas_price(base_fee)),
        block_timestamp: pos.map(|p| p.timestamp),
    }
}

/// The Ethereum-shaped receipt, with `first_log_index` = number of logs in the block before this transaction.
pub fn receipt(tx: &SignedTransaction, r: &Receipt, pos: TxPosition, first_log_index: u64) -> rpc::TransactionReceipt {
    let logs: Vec<rpc::Log> = r
        .logs
        .iter()
        .enumerate()
        .map(|(i, l)| rpc::Log {
            inner: l.clone(),
            block_hash: Some(pos.block_hash),
            block_number: Some(pos.block_number),
            block_timestamp: Some(pos.timestamp),
            transaction_hash: Some(tx.hash()),
            transaction_index: Some(pos.index),
            log_index: Some(first_log_index + i as u64),
            removed: false,
        })
        .collect();
    let ty = TxType::try_from(r.tx_type).unwrap_or(TxType::Legacy);
    let inner = ReceiptEnvelope::from_typed(
        ty,
        ReceiptWithBloom {
            receipt: alloy_consensus::Receipt {
                status: Eip658Value::Eip658(r.success),
                cumulative_gas_used: r.cumulative_gas_used,
                logs,
            },
            logs_bloom: r.bloom(),
        },
    );
    rpc::TransactionReceipt {
        inner,
        transaction_hash: tx.hash(),
        transaction_index: Some(pos.index),
        block_hash: Some(pos.block_hash),
        block_number: Some(pos.block_number),
        gas_used: r.gas_used,
        effective_gas_price: r.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender(),
        to: tx.to(),
        contract_address: r.contract_address,
    }
}

/// The Ethereum-shaped block, with full transactions or hashes.
pub fn block(h: &Header, txs: &[SignedTransaction], full: bool) -> rpc::Block {
    let hash = h.hash();
    let transactions = if full {
        rpc::BlockTransactions::Full(
            txs.iter()
                .enumerate()
                .map(|(i, t)| {
                    let pos = TxPosition {
                        block_hash: hash,
                        block_number: h.number,
                        timestamp: h.timestamp,
                        index: i as u64,
                    };
                    transaction(t, Some(pos), h.base_fee)
                })
                .collect(),
        )
    } else {
        rpc::BlockTransactions::Hashes(txs.iter().map(|t| t.hash()).collect())
    };
    let mut hdr = header(h);
    // header() sized the header alone; a block's size adds its transactions.
    let body: usize = txs.iter().map(|t| t.encoded_len()).sum();
    hdr.size = hdr.size.map(|s| s + U256::from(body));
    rpc::Block { header: hdr, uncles: vec![], transactions, withdrawals: None }
}
