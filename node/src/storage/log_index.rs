//! The log index: every committed log stored once by its position, and its address and each positional topic
//! pointing at that position, so `eth_getLogs` reads the matching logs' records instead of decoding whole bodies
//! and receipt lists of every block whose bloom matches.
//!
//! - `logs`: `number (8 BE) ‖ log index in block (4 BE)` → RLP [`LogRecord`].
//! - `log_index`: `kind (1) ‖ address (20) or topic (32) ‖ number (8 BE) ‖ log index (4 BE)` → empty, where `kind`
//!   is [`ADDRESS`] or [`TOPIC`] + the topic's position (0–3).
//!
//! Both are written in the block's own batch, so the index is exactly as durable as the block.

use accord_sdk::receipt::Receipt;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, B256};
use alloy_primitives::{Bytes, Log, LogData};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// Index kind of an emitting address.
pub const ADDRESS: u8 = 0x01;
/// Index kind of the topic at position 0; positions 1–3 follow.
pub const TOPIC: u8 = 0x10;

/// Where a log is: its block and its index among the block's logs (Ethereum's `logIndex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// Block number.
    pub number: u64,
    /// Index among the block's logs.
    pub index: u32,
}

impl LogPosition {
    /// The `logs` key.
    pub fn key(&self) -> [u8; 12] {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&self.number.to_be_bytes());
        k[8..].copy_from_slice(&self.index.to_be_bytes());
        k
    }

    /// Parses the last 12 bytes of a `logs` or `log_index` key.
    pub fn from_key_suffix(key: &[u8]) -> Option<Self> {
        let s = key.len().checked_sub(12).map(|at| &key[at..])?;
        Some(Self {
            number: u64::from_be_bytes(s[..8].try_into().ok()?),
            index: u32::from_be_bytes(s[8..].try_into().ok()?),
        })
    }
}

/// A log as the index stores it: the log and the transaction that emitted it.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct LogRecord {
    /// Index of the transaction in its block.
    pub tx_index: u32,
    /// Hash of the transaction.
    pub tx_hash: B256,
    /// Emitting contract.
    pub address: Address,
    /// Topics.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Bytes,
}

impl LogRecord {
    /// The log itself.
    pub fn log(&self) -> Log {
        Log { address: self.address, data: LogData::new_unchecked(self.topics.clone(), self.data.clone()) }
    }
}

/// The prefix of an index key: kind and item.
pub fn index_prefix(kind: u8, item: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + item.len() + 12);
    k.push(kind);
    k.extend_from_slice(item);
    k
}

/// A full index key.
pub fn index_key(kind: u8, item: &[u8], at: LogPosition) -> Vec<u8> {
    let mut k = index_prefix(kind, item);
    k.extend_from_slice(&at.key());
    k
}

/// The records and index keys of one block's logs, in log order.
pub fn entries(
    number: u64,
    transactions: &[SignedTransaction],
    receipts: &[Receipt],
) -> Vec<(LogPosition, LogRecord, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut index = 0u32;
    for (i, (tx, r)) in transactions.iter().zip(receipts).enumerate() {
        for l in &r.logs {
            let at = LogPosition { number, index };
            let mut keys = vec![index_key(ADDRESS, l.address.as_slice(), at)];
            for (p, t) in l.topics().iter().enumerate().take(4) {
                keys.push(index_key(TOPIC + p as u8, t.as_slice(), at));
            }
            let record = LogRecord {
                tx_index: i as u32,
                tx_hash: tx.hash(),
                address: l.address,
                topics: l.topics().to_vec(),
                data: l.data.data.clone(),
            };
            out.push((at, record, keys));
            index += 1;
        }
    }
    out
}

/// What a log query asks for: any of `addresses` (empty: any), and at each topic position any of the listed topics
/// (empty: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCriteria {
    /// Emitting addresses.
    pub addresses: Vec<Address>,
    /// Topics by position.
    pub topics: [Vec<B256>; 4],
}

impl LogCriteria {
    /// True when `record` passes.
    pub fn matches(&self, record: &LogRecord) -> bool {
        (self.addresses.is_empty() || self.addresses.contains(&record.address))
            && self
                .topics
                .iter()
                .enumerate()
                .all(|(i, set)| set.is_empty() || record.topics.get(i).is_some_and(|t| set.contains(t)))
    }

    /// The index scans that narrow the query: one `(kind, items)` per constrained field. Empty when nothing is
    /// constrained (every log of the range matches).
    pub fn scans(&self) -> Vec<(u8, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        if !self.addresses.is_empty() {
            out.push((ADDRESS, self.addresses.iter().map(|a| a.to_vec()).collect()));
        }
        for (p, set) in self.topics.iter().enumerate() {
            if !set.is_empty() {
                out.push((TOPIC + p as u8, set.iter().map(|t| t.to_vec()).collect()));
            }
        }
        out
    }
}

/// Positions in every one of `sets` (each sorted and without duplicates).
pub fn intersect(mut sets: Vec<Vec<LogPosition>>) -> Vec<LogPosition> {
    sets.sort_by_key(Vec::len);
    let mut iter = sets.into_iter();
    let Some(mut acc) = iter.next() else { return Vec::new() };
    for set in iter {
        acc.retain(|p| set.binary_search(p).is_ok());
        if acc.is_empty() {
            break;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(number: u64, index: u32) -> LogPosition {
        LogPosition { number, index }
    }

    #[test]
    fn keys_sort_in_chain_order_and_parse_back() {
        let a = index_key(ADDRESS, &[7; 20], pos(1, 300));
        let b = index_key(ADDRESS, &[7; 20], pos(2, 0));
        assert!(a < b, "block order first, then log order");
        assert_eq!(LogPosition::from_key_suffix(&a), Some(pos(1, 300)));
        assert_eq!(LogPosition::from_key_suffix(&pos(9, 4).key()), Some(pos(9, 4)));
        assert_eq!(LogPosition::from_key_suffix(&[1, 2]), None);
    }

    #[test]
    fn intersection_keeps_what_every_set_holds() {
        let s = |v: &[(u64, u32)]| v.iter().map(|(n, i)| pos(*n, *i)).collect::<Vec<_>>();
        assert_eq!(intersect(vec![s(&[(1, 0), (1, 2), (3, 1)]), s(&[(1, 2), (3, 1), (4, 0)])]), s(&[(1, 2), (3, 1)]));
        assert_eq!(intersect(vec![s(&[(1, 0)]), s(&[])]), s(&[]));
        assert_eq!(intersect(vec![]), s(&[]));
    }

    #[test]
    fn criteria_match_addresses_and_positional_topics() {
        let record = LogRecord {
            tx_index: 0,
            tx_hash: B256::ZERO,
            address: Address::repeat_byte(1),
            topics: vec![B256::repeat_byte(2), B256::repeat_byte(3)],
            data: Bytes::new(),
        };
        let mut c = LogCriteria::default();
        assert!(c.matches(&record) && c.scans().is_empty());
        c.addresses = vec![Address::repeat_byte(9), Address::repeat_byte(1)];
        c.topics[1] = vec![B256::repeat_byte(3)];
        assert!(c.matches(&record));
        assert_eq!(c.scans().iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![ADDRESS, TOPIC + 1]);
        c.topics[2] = vec![B256::repeat_byte(3)];
        assert!(!c.matches(&record), "no third topic");
    }
}
