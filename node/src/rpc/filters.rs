//! Polled filters, for clients without WebSocket subscriptions (web3.py's `w3.eth.filter()`, ethers' polling
//! provider): `eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`, `eth_getFilterChanges`,
//! `eth_getFilterLogs`, `eth_uninstallFilter`.
//!
//! A filter is node state a client creates and may forget, so every one is bounded: a quota per connection and in
//! all (`rpc.max_filters_per_connection`, `rpc.max_filters`), removal after `rpc.filter_timeout_secs` without a
//! poll, at most `rpc.max_block_range` blocks and `rpc.max_logs` logs per poll (the rest on the next poll), and
//! pending-transaction filters read a bounded broadcast that drops what a slow poller misses rather than queue it.
//! Ids are random 128-bit numbers: one client cannot guess, poll or remove another's filter.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_sdk::B256;
use alloy_primitives::U128;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log};
use jsonrpsee::RpcModule;
use jsonrpsee::server::ConnectionId;
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::contracts::{criteria, get_logs, logs_in, query_slot};
use super::error::{NOT_FOUND, internal, invalid_params, rpc_error};
use super::limits::{Quota, QuotaSlot};
use super::{RpcContext, resolve_block};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// What a filter reports on each poll.
#[derive(Debug)]
enum Kind {
    /// Hashes of blocks committed since the last poll; `next` is the first not yet reported.
    Blocks { next: u64 },
    /// Matching logs of blocks committed since the last poll (within the filter's range).
    Logs { filter: Box<Filter>, next: u64 },
    /// Hashes of transactions pooled since the last poll.
    Pending { arrivals: broadcast::Receiver<B256> },
}

#[derive(Debug)]
struct Installed {
    kind: Kind,
    last_poll: Instant,
    _slot: QuotaSlot,
}

/// The installed filters of one node.
#[derive(Debug)]
pub struct Filters {
    installed: Mutex<HashMap<u128, Installed>>,
    quota: Arc<Quota>,
    timeout: Duration,
}

/// Where a log filter's polls start and stop, as block numbers.
enum Span {
    Range {
        from: Option<u64>,
        to: Option<u64>,
    },
    /// `blockHash` filters name one committed block: nothing new ever arrives for them.
    Fixed,
}

impl Filters {
    /// Filters bounded by the `[rpc]` settings.
    pub fn new(per_connection: u32, total: u32, timeout: Duration) -> Self {
        Self {
            installed: Mutex::new(HashMap::new()),
            quota: Quota::new("filters", ("max_filters_per_connection", per_connection), ("max_filters", total)),
            timeout,
        }
    }

    fn sweep(&self, installed: &mut HashMap<u128, Installed>) {
        let timeout = self.timeout;
        installed.retain(|_, f| f.last_poll.elapsed() < timeout);
    }

    fn install(&self, connection: usize, kind: Kind) -> RpcResult<U128> {
        let mut installed = self.installed.lock();
        self.sweep(&mut installed);
        let slot = self.quota.acquire(connection)?;
        let id = loop {
            let id: u128 = rand::random();
            if id != 0 && !installed.contains_key(&id) {
                break id;
            }
        };
        installed.insert(id, Installed { kind, last_poll: Instant::now(), _slot: slot });
        Ok(U128::from(id))
    }

    fn uninstall(&self, id: U128) -> bool {
        self.installed.lock().remove(&id.to::<u128>()).is_some()
    }

    /// Runs `f` on the filter `id` (marking it polled), or says it does not exist.
    fn with<T>(&self, id: U128, f: impl FnOnce(&mut Kind) -> T) -> RpcResult<T> {
        let mut installed = self.installed.lock();
        self.sweep(&mut installed);
        let filter = installed.get_mut(&id.to::<u128>()).ok_or_else(|| not_found(id))?;
        filter.last_poll = Instant::now();
        Ok(f(&mut filter.kind))
    }

    /// Moves a filter's cursor forward to `next` (never back: two concurrent polls may both finish).
    fn advance(&self, id: U128, to: u64) {
        if let Some(f) = self.installed.lock().get_mut(&id.to::<u128>()) {
            match &mut f.kind {
                Kind::Blocks { next } | Kind::Logs { next, .. } => *next = (*next).max(to),
                Kind::Pending { .. } => {}
            }
        }
    }
}

fn not_found(id: U128) -> ErrorObjectOwned {
    rpc_error(NOT_FOUND, format!("filter not found: {id:#x} (never installed, uninstalled, or expired)"), None)
}

fn connection(ext: &jsonrpsee::Extensions) -> usize {
    ext.get::<ConnectionId>().map_or(0, |c| c.0)
}

fn span(filter: &Filter) -> RpcResult<Span> {
    match &filter.block_option {
        FilterBlockOption::AtBlockHash(_) => Ok(Span::Fixed),
        FilterBlockOption::Range { from_block, to_block } => {
            // Tags ("latest", "pending", …) follow the head as it moves; numbers stay put.
            let fixed = |b: &Option<alloy_rpc_types_eth::BlockNumberOrTag>| match b {
                Some(alloy_rpc_types_eth::BlockNumberOrTag::Number(n)) => Some(*n),
                Some(alloy_rpc_types_eth::BlockNumberOrTag::Earliest) => Some(0),
                _ => None,
            };
            let (from, to) = (fixed(from_block), fixed(to_block));
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(invalid_params(format!("fromBlock {f} is above toBlock {t}")));
            }
            Ok(Span::Range { from, to })
        }
    }
}

/// The logs a log filter has not reported yet: blocks `next..` up to the head, its `toBlock`, `rpc.max_block_range`
/// blocks and `rpc.max_logs` logs (never splitting a block); returns them and the next block to look at.
fn new_logs(c: &RpcContext, filter: &Filter, next: u64) -> RpcResult<(Vec<Log>, u64)> {
    let head = c.chain.head().number;
    let (start, end) = match span(filter)? {
        Span::Fixed => return Ok((Vec::new(), next)),
        Span::Range { from, to } => (next.max(from.unwrap_or(0)), to.map_or(head, |t| t.min(head))),
    };
    if start > end {
        return Ok((Vec::new(), next));
    }
    let end = end.min(start.saturating_add(c.limits.max_block_range - 1));
    let wanted = criteria(filter);
    let mut out = Vec::new();
    for n in start..=end {
        // One block's logs are bounded by its gas.
        let mut block = logs_in(c, &wanted, n, n, usize::MAX)?;
        if !out.is_empty() && out.len() + block.len() > c.limits.max_logs {
            return Ok((out, n));
        }
        out.append(&mut block);
    }
    Ok((out, end + 1))
}

/// Registers the filter methods.
pub fn register(m: &mut RpcModule<Arc<RpcContext>>) -> anyhow::Result<()> {
    m.register_method("eth_newFilter", |p, c, ext| -> RpcResult<U128> {
        let (filter,): (Filter,) = p.parse()?;
        if let FilterBlockOption::AtBlockHash(hash) = &filter.block_option {
            resolve_block(c, Some(alloy_eips::BlockId::hash(*hash)))?;
        }
        span(&filter)?;
        // Logs are reported from the block after the head at installation; eth_getFilterLogs covers the range.
        let next = c.chain.head().number + 1;
        c.filters.install(connection(ext), Kind::Logs { filter: Box::new(filter), next })
    })?;

    m.register_method("eth_newBlockFilter", |_, c, ext| -> RpcResult<U128> {
        let next = c.chain.head().number + 1;
        c.filters.install(connection(ext), Kind::Blocks { next })
    })?;

    m.register_method("eth_newPendingTransactionFilter", |_, c, ext| -> RpcResult<U128> {
        c.filters.install(connection(ext), Kind::Pending { arrivals: c.pool.subscribe_arrivals() })
    })?;

    m.register_method("eth_uninstallFilter", |p, c, _| -> RpcResult<bool> {
        let (id,): (U128,) = p.parse()?;
        Ok(c.filters.uninstall(id))
    })?;

    m.register_blocking_method("eth_getFilterChanges", |p, c, _| -> RpcResult<Value> {
        let (id,): (U128,) = p.parse()?;
        enum Poll {
            Blocks(u64),
            Logs(Box<Filter>, u64),
            Hashes(Vec<B256>),
        }
        let poll = c.filters.with(id, |kind| match kind {
            Kind::Blocks { next } => Poll::Blocks(*next),
            Kind::Logs { filter, next } => Poll::Logs(filter.clone(), *next),
            Kind::Pending { arrivals } => {
                let mut hashes = Vec::new();
                loop {
                    match arrivals.try_recv() {
                        Ok(h) => hashes.push(h),
                        // What a slow poller missed is gone; it sees what arrived since.
                        Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                        Err(_) => break,
                    }
                }
                Poll::Hashes(hashes)
            }
        })?;
        match poll {
            Poll::Hashes(hashes) => Ok(json!(hashes)),
            Poll::Blocks(next) => {
                let head = c.chain.head().number;
                if next > head {
                    return Ok(json!([]));
                }
                let end = head.min(next + c.limits.max_block_range - 1);
                let mut hashes = Vec::new();
                for n in next..=end {
                    let h = c.chain.store().header(n).map_err(internal)?.ok_or_else(|| internal("missing header"))?;
                    hashes.push(h.hash());
                }
                c.filters.advance(id, end + 1);
                Ok(json!(hashes))
            }
            Poll::Logs(filter, next) => {
                let _permit = query_slot(&c)?;
                let (logs, next) = new_logs(&c, &filter, next)?;
                c.filters.advance(id, next);
                serde_json::to_value(logs).map_err(internal)
            }
        }
    })?;

    m.register_blocking_method("eth_getFilterLogs", |p, c, _| -> RpcResult<Vec<Log>> {
        let (id,): (U128,) = p.parse()?;
        let filter = c.filters.with(id, |kind| match kind {
            Kind::Logs { filter, .. } => Ok(filter.clone()),
            _ => Err(invalid_params(format!("filter {id:#x} is not a log filter"))),
        })??;
        let _permit = query_slot(&c)?;
        get_logs(&c, &filter)
    })?;
    Ok(())
}
