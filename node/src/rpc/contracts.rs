//! Contract-facing RPC: `eth_call`, `eth_estimateGas`, `eth_getLogs`, `accord_getAbi`, and the log matching that
//! `eth_subscribe("logs")` shares with `eth_getLogs`.

use std::sync::Arc;

use accord_sdk::account::{EMPTY_CODE_HASH, StateKey};
use accord_sdk::tx::intrinsic_gas;
use accord_sdk::{Address, B256, Bytes, U256};
use accord_vm::{Failure, Outcome, Status};
use alloy_rpc_types_eth::{BlockId, Filter, FilterBlockOption, Log as RpcLog, TransactionRequest};
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::Value;

use super::access::AccessRecorder;
use super::error::{self, LIMIT_EXCEEDED, internal, invalid_params, rpc_error};
use super::limits::permit;
use super::{resolve_block, two_params};
use crate::executor::{BlockEnv, Simulation};
use crate::rpc::RpcContext;
use crate::state::StateView;
use crate::storage::log_index::LogCriteria;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Geth's code for a reverted call; `data` carries the revert bytes.
pub const EXECUTION_REVERTED: i32 = 3;
/// A call that failed (out of gas, trap, invalid module …).
pub const EXECUTION_FAILED: i32 = -32021;

/// Registers the methods.
pub fn register(m: &mut RpcModule<Arc<RpcContext>>) -> anyhow::Result<()> {
    m.register_blocking_method("eth_call", |p, c, _| -> RpcResult<Bytes> {
        let (req, block): (TransactionRequest, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        let _slot = simulation_slot(&c)?;
        let outcome = simulate(&c, &req, n, gas_cap(&c, &req)?)?;
        into_result(outcome).map(Bytes::from)
    })?;

    m.register_blocking_method("eth_estimateGas", |p, c, _| -> RpcResult<alloy_primitives::U64> {
        let (req, block): (TransactionRequest, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        let _slot = simulation_slot(&c)?;
        let cap = gas_cap(&c, &req)?;
        let (from, value) = (req.from.unwrap_or_default(), req.value.unwrap_or_default());
        if !value.is_zero() {
            let balance = c.chain.state().at(n).account(from).map_err(internal)?.balance;
            if balance < value {
                return Err(rpc_error(
                    error::TX_INSUFFICIENT_FUNDS,
                    format!("insufficient funds for transfer: balance {balance}, value {value}"),
                    Some("insufficient_funds"),
                ));
            }
        }
        // Every simulation's gas counts against rpc.estimate_gas_budget; the search stops when the next one could
        // overrun it and answers the least gas known to succeed (an overestimate, never a failing one).
        let mut budget = Budget(c.limits.estimate_gas_budget);
        let intrinsic = intrinsic(&req);
        let first = budget.run(&c, &req, n, cap, intrinsic)?.ok_or_else(|| internal("budget below gas cap"))?;
        let used = intrinsic.saturating_add(first.gas_used);
        into_result(first)?;
        // The least gas that succeeds: what was used, unless the 63/64 rule or a gas check needs more.
        match budget.run(&c, &req, n, used, intrinsic)? {
            Some(o) if o.is_success() => return Ok(alloy_primitives::U64::from(used)),
            Some(_) => {}
            None => return Ok(alloy_primitives::U64::from(cap)),
        }
        let (mut lo, mut hi) = (used, cap);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            match budget.run(&c, &req, n, mid, intrinsic)? {
                Some(o) if o.is_success() => hi = mid,
                Some(_) => lo = mid,
                None => break,
            }
        }
        Ok(alloy_primitives::U64::from(hi))
    })?;

    m.register_blocking_method("eth_getLogs", |p, c, _| -> RpcResult<Vec<alloy_rpc_types_eth::Log>> {
        let (filter,): (Filter,) = p.parse()?;
        let _permit = query_slot(&c)?;
        get_logs(&c, &filter)
    })?;

    m.register_blocking_method("eth_createAccessList", |p, c, _| -> RpcResult<Value> {
        let (req, block): (TransactionRequest, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        let _slot = simulation_slot(&c)?;
        let cap = gas_cap(&c, &req)?;
        let recorder = Arc::new(AccessRecorder::new(Arc::new(c.chain.state().at(n))));
        let outcome = simulate_on(&c, &req, n, cap, recorder.clone())?;
        let from = req.from.unwrap_or_default();
        let to = match req.to {
            Some(alloy_primitives::TxKind::Call(a)) => Some(a),
            _ => None,
        };
        let list = recorder.access_list(&[Some(from), to]);
        let gas_used = intrinsic(&req)
            .saturating_add(accord_sdk::tx::access_list_gas(Some(&list)))
            .saturating_add(outcome.gas_used);
        let mut out = serde_json::json!({ "accessList": list, "gasUsed": alloy_primitives::U64::from(gas_used) });
        if let Err(e) = into_result(outcome) {
            out["error"] = Value::String(e.message().to_string());
        }
        Ok(out)
    })?;

    m.register_blocking_method("accord_getAbi", |p, c, _| -> RpcResult<Option<Value>> {
        let (address, block): (Address, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        // System contracts are native: their ABI is the node's own.
        if c.chain.genesis().committee.is_some()
            && let Some(abi) = crate::governance::abi::json_abi(address)
        {
            return Ok(Some(abi));
        }
        let state = c.chain.state().at(n);
        let account = state.account(address).map_err(internal)?;
        if account.code_hash == EMPTY_CODE_HASH {
            return Ok(None);
        }
        let Some(code) = state.get(&StateKey::Code(account.code_hash)).map_err(internal)? else { return Ok(None) };
        match accord_vm::abi::embedded_abi(&code) {
            Some(bytes) => serde_json::from_slice(bytes).map(Some).map_err(|e| {
                rpc_error(EXECUTION_FAILED, format!("the contract's embedded ABI is not JSON: {e}"), None)
            }),
            None => Ok(None),
        }
    })?;
    Ok(())
}

/// Gas `eth_estimateGas` may still burn.
struct Budget(u64);

impl Budget {
    /// Simulates with `gas` if the budget covers it (charging what the run used), else `None`.
    fn run(
        &mut self,
        c: &RpcContext,
        req: &TransactionRequest,
        n: u64,
        gas: u64,
        intrinsic: u64,
    ) -> RpcResult<Option<Outcome>> {
        if gas.saturating_sub(intrinsic) > self.0 {
            return Ok(None);
        }
        let outcome = simulate(c, req, n, gas)?;
        self.0 = self.0.saturating_sub(outcome.gas_used);
        Ok(Some(outcome))
    }
}

/// The gas a simulation gets: what was asked for, at most the block gas limit and `rpc.gas_cap`.
fn gas_cap(c: &RpcContext, req: &TransactionRequest) -> RpcResult<u64> {
    let cap = c.limits.gas_cap.min(c.chain.next_rules().map_err(internal)?.config.block_gas_limit);
    Ok(req.gas.map_or(cap, |g| g.min(cap)))
}

/// A permit to run a log query (`eth_getLogs`, `eth_getFilterLogs`, a log-filter poll), or "busy": each can read
/// `rpc.max_block_range` blocks of index.
pub fn query_slot(c: &RpcContext) -> RpcResult<tokio::sync::SemaphorePermit<'_>> {
    permit(&c.queries, "log queries", "max_concurrent_queries")
}

/// A permit to simulate, or "busy": simulations burn CPU up to the gas cap, so only a few run at once.
fn simulation_slot(c: &RpcContext) -> RpcResult<tokio::sync::SemaphorePermit<'_>> {
    permit(
        &c.simulations,
        "simulations (eth_call, eth_estimateGas, eth_createAccessList)",
        "max_concurrent_simulations",
    )
}

fn intrinsic(req: &TransactionRequest) -> u64 {
    let input = req.input.input().map(|b| b.as_ref()).unwrap_or_default();
    intrinsic_gas(input, matches!(req.to, None | Some(alloy_primitives::TxKind::Create)))
}

/// Runs `req` on the state of block `n` with `gas` in total (intrinsic gas included).
fn simulate(c: &RpcContext, req: &TransactionRequest, n: u64, gas: u64) -> RpcResult<Outcome> {
    simulate_on(c, req, n, gas, Arc::new(c.chain.state().at(n)))
}

/// [`simulate`] reading state through `state` (the state of block `n`, or a view over it).
fn simulate_on(
    c: &RpcContext,
    req: &TransactionRequest,
    n: u64,
    gas: u64,
    state: crate::state::SharedView,
) -> RpcResult<Outcome> {
    let intrinsic = intrinsic(req);
    if gas < intrinsic {
        return Err(rpc_error(
            error::TX_GAS,
            format!("intrinsic gas too low: have {gas}, want {intrinsic}"),
            Some("gas"),
        ));
    }
    let header = c.chain.store().header(n).map_err(internal)?.ok_or_else(|| internal(format!("block {n} missing")))?;
    let rules =
        crate::governance::BlockRules::at(&c.chain.state().at(n), c.chain.genesis(), n + 1).map_err(internal)?;
    // A call on the state after block n runs as a transaction would in block n + 1: governed values (in force from
    // the block after the one that changed them) read as a transaction sent now would see them, and so does the
    // time: block n + 1's own timestamp when it exists, else the wall clock (what the next proposer will stamp),
    // so a contract's deadline that has passed by the clock but not yet by the head's timestamp simulates as
    // passed, as the transaction sent now will execute. Only simulations read the clock; execution never does.
    let next = c.chain.store().header(n + 1).map_err(internal)?;
    let timestamp = next.map_or_else(|| header.timestamp.max(crate::import::now_secs()), |h| h.timestamp);
    let env = BlockEnv {
        number: header.number + 1,
        timestamp,
        proposer: header.proposer,
        base_fee: header.base_fee,
        gas_limit: rules.config.block_gas_limit,
        rules: Arc::new(rules),
        system_writes: Vec::new(),
    };
    let sim = Simulation {
        from: req.from.unwrap_or_default(),
        to: match req.to {
            Some(alloy_primitives::TxKind::Call(a)) => Some(a),
            _ => None,
        },
        value: req.value.unwrap_or(U256::ZERO),
        input: req.input.input().map(|b| b.to_vec()).unwrap_or_default(),
        gas: gas - intrinsic,
    };
    c.chain.simulator().simulate(state, &env, sim).map_err(internal)
}

/// Output of a successful call; geth's errors otherwise (code 3 with the revert data, so clients decode reasons).
fn into_result(o: Outcome) -> RpcResult<Vec<u8>> {
    match o.status {
        Status::Success => Ok(o.output),
        Status::Revert => {
            let reason = revert_reason(&o.output);
            let message = match reason {
                Some(r) => format!("execution reverted: {r}"),
                None => "execution reverted".to_string(),
            };
            Err(ErrorObjectOwned::owned(EXECUTION_REVERTED, message, Some(Bytes::from(o.output))))
        }
        Status::Failure(f) => {
            let reason = match &f {
                Failure::OutOfGas => "out_of_gas",
                Failure::Module(_) | Failure::Envelope(_) => "invalid_module",
                _ => "failed",
            };
            Err(rpc_error(EXECUTION_FAILED, format!("execution failed: {f}"), Some(reason)))
        }
    }
}

/// The message of a Solidity `Error(string)` revert.
pub fn revert_reason(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&[0x08, 0xc3, 0x79, 0xa0][..])?;
    if body.len() < 64 {
        return None;
    }
    let len = U256::from_be_slice(&body[32..64]);
    let len = usize::try_from(len).ok()?;
    let bytes = body.get(64..64usize.checked_add(len)?)?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The log index's criteria for an RPC filter (its block range aside).
pub fn criteria(filter: &Filter) -> LogCriteria {
    LogCriteria {
        addresses: filter.address.iter().copied().collect(),
        topics: std::array::from_fn(|i| filter.topics[i].iter().copied().collect()),
    }
}

/// The logs of blocks `from..=to` meeting `criteria`, in Ethereum's RPC shape, read from the log index; an error
/// naming `rpc.max_logs` when there are more than `limit`.
pub fn logs_in(c: &RpcContext, criteria: &LogCriteria, from: u64, to: u64, limit: usize) -> RpcResult<Vec<RpcLog>> {
    // A node restored from a snapshot has no logs up to its snapshot's block: an empty answer there would be wrong.
    if to > 0 {
        c.chain.require_block(from.max(1)).map_err(error::chain_error)?;
    }
    let store = c.chain.store();
    let Some(found) = store.logs(criteria, from, to, limit).map_err(internal)? else {
        return Err(rpc_error(
            LIMIT_EXCEEDED,
            format!("query returned more than {limit} logs (rpc.max_logs); narrow the block range or filter"),
            Some("too_many_logs"),
        ));
    };
    let mut out = Vec::with_capacity(found.len());
    let mut block: Option<(u64, B256, u64)> = None;
    for (at, record) in found {
        let (hash, timestamp) = match block {
            Some((n, hash, timestamp)) if n == at.number => (hash, timestamp),
            _ => {
                let h = store.header(at.number).map_err(internal)?.ok_or_else(|| internal("indexed block missing"))?;
                block = Some((at.number, h.hash(), h.timestamp));
                (h.hash(), h.timestamp)
            }
        };
        out.push(RpcLog {
            inner: record.log(),
            block_hash: Some(hash),
            block_number: Some(at.number),
            block_timestamp: Some(timestamp),
            transaction_hash: Some(record.tx_hash),
            transaction_index: Some(u64::from(record.tx_index)),
            log_index: Some(u64::from(at.index)),
            removed: false,
        });
    }
    Ok(out)
}

/// The logs matching `filter` over its whole range, within `rpc.max_block_range` and `rpc.max_logs`.
pub fn get_logs(c: &RpcContext, filter: &Filter) -> RpcResult<Vec<RpcLog>> {
    let head = c.chain.head().number;
    let (from, to) = match &filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let n = c
                .chain
                .store()
                .block_number(hash)
                .map_err(internal)?
                .ok_or_else(|| rpc_error(error::NOT_FOUND, format!("no block with hash {hash}"), None))?;
            (n, n)
        }
        FilterBlockOption::Range { from_block, to_block } => {
            let resolve = |b: &Option<alloy_rpc_types_eth::BlockNumberOrTag>| match b {
                None => Ok(head),
                Some(t) => resolve_block(c, Some(BlockId::Number(*t))),
            };
            (resolve(from_block)?, resolve(to_block)?)
        }
    };
    if from > to {
        return Err(invalid_params(format!("fromBlock {from} is above toBlock {to}")));
    }
    let max = c.limits.max_block_range;
    if to - from + 1 > max {
        return Err(rpc_error(
            LIMIT_EXCEEDED,
            format!("block range {from}..={to} spans more than {max} blocks (rpc.max_block_range)"),
            Some("range_too_large"),
        ));
    }
    logs_in(c, &criteria(filter), from, to, c.limits.max_logs)
}

/// JSON for a log subscription message.
pub fn log_json(log: &RpcLog) -> Value {
    serde_json::to_value(log).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::B256;

    #[test]
    fn revert_reasons_decode() {
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        data.extend_from_slice(&U256::from(32u8).to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(5u8).to_be_bytes::<32>());
        let mut s = [0u8; 32];
        s[..5].copy_from_slice(b"hello");
        data.extend_from_slice(&s);
        assert_eq!(revert_reason(&data).as_deref(), Some("hello"));
        assert_eq!(revert_reason(&data[..40]), None);
        assert_eq!(revert_reason(b"\x01\x02"), None);
    }

    #[test]
    fn filters_become_index_criteria_by_topic_position() {
        let a = Address::repeat_byte(1);
        let t0 = B256::repeat_byte(2);
        assert_eq!(criteria(&Filter::new()), LogCriteria::default());
        let c = criteria(&Filter::new().address(a).event_signature(t0).topic2(B256::repeat_byte(3)));
        assert_eq!(c.addresses, vec![a]);
        assert_eq!(c.topics[0], vec![t0]);
        assert!(c.topics[1].is_empty());
        assert_eq!(c.topics[2], vec![B256::repeat_byte(3)]);
    }
}
