//! Governance RPC (`accord_committee`, `accord_proposal`, `accord_proposals`, `accord_systemConfig`,
//! `accord_accountStatus`): governed state as it stands for the next block, the one a transaction sent now would
//! land in (`docs/rpc.md`).

use accord_sdk::Address;
use accord_sdk::governance::{Param, Proposal};
use alloy_primitives::U64;
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{Value, json};

use super::error::{internal, invalid_params};
use crate::governance::store::{self, view_reader};
use crate::rpc::RpcContext;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most proposals `accord_proposals` returns (newest first).
pub const MAX_PROPOSALS: usize = 1_000;

/// Adds the governance methods.
pub fn register(m: &mut RpcModule<std::sync::Arc<RpcContext>>) -> anyhow::Result<()> {
    m.register_blocking_method("accord_committee", |_, c, _| -> RpcResult<_> {
        let (head, next) = heights(&c);
        let state = c.chain.state().at(head);
        let committee = store::committee_at(&mut view_reader(&state), next).map_err(internal)?;
        Ok(committee.map(|(k, since)| {
            json!({
                "height": U64::from(head),
                "since": U64::from(since),
                "governors": k.governors.iter().map(|(a, w)| json!({ "address": a, "weight": w })).collect::<Vec<_>>(),
                "participationThreshold": k.participation_pct,
                "winThreshold": k.win_pct,
                "proposalLifetime": k.lifetime_blocks,
            })
        }))
    })?;

    m.register_blocking_method("accord_proposal", |p, c, _| -> RpcResult<_> {
        let id: U64 = p.one()?;
        let (head, next) = heights(&c);
        let state = c.chain.state().at(head);
        let mut read = view_reader(&state);
        let Some(proposal) = store::proposal(&mut read, id.to()).map_err(internal)? else { return Ok(None) };
        let committee = committee(&mut read, next)?;
        Ok(Some(proposal_json(&committee, &proposal, next)))
    })?;

    m.register_blocking_method("accord_proposals", |p, c, _| -> RpcResult<_> {
        let all: Option<bool> = p.sequence().optional_next()?;
        let (head, next) = heights(&c);
        let state = c.chain.state().at(head);
        let mut read = view_reader(&state);
        let committee = committee(&mut read, next)?;
        let count = store::proposal_count(&mut read).map_err(internal)?;
        let mut out = Vec::new();
        // The newest MAX_PROPOSALS only: the work of one call is bounded however many proposals the chain holds.
        for id in (1..=count).rev().take(MAX_PROPOSALS) {
            let Some(p) = store::proposal(&mut read, id).map_err(internal)? else { continue };
            if all.unwrap_or(false) || p.status_at(next) == accord_sdk::governance::ProposalStatus::Open {
                out.push(proposal_json(&committee, &p, next));
            }
        }
        Ok(out)
    })?;

    m.register_blocking_method("accord_systemConfig", |_, c, _| -> RpcResult<_> {
        let (head, next) = heights(&c);
        let state = c.chain.state().at(head);
        let config = store::config_at(&mut view_reader(&state), next).map_err(internal)?;
        let (config, since) = match config {
            Some(found) => found,
            None => (crate::governance::BlockRules::ungoverned(c.chain.genesis()).config, 0),
        };
        let params: serde_json::Map<String, Value> =
            Param::ALL.iter().map(|p| (p.key().to_string(), json!(config.get(*p)))).collect();
        Ok(json!({
            "height": U64::from(head),
            "since": U64::from(since),
            "governed": c.chain.genesis().committee.is_some(),
            "version": config.version,
            "supportedVersion": crate::governance::SUPPORTED_VERSION,
            "params": params,
            "deployPolicy": config.deploy().word(),
            "sendPolicy": config.send().word(),
        }))
    })?;

    m.register_blocking_method("accord_accountStatus", |p, c, _| -> RpcResult<_> {
        let account: Address = p.one()?;
        let (head, next) = heights(&c);
        let state = c.chain.state().at(head);
        let (rights, since) = store::rights_at(&state, account, next).map_err(internal)?;
        let rules = c.chain.next_rules().map_err(internal)?;
        let refusal = |to: Option<Address>| -> RpcResult<Option<String>> {
            let refusal = rules.refusal(&mut view_reader(&state), account, to, &[], next).map_err(internal)?;
            Ok(refusal.map(|r| r.to_string()))
        };
        // A call to the zero address stands for "any plain call": only the sender's own standing matters.
        let send = refusal(Some(Address::ZERO))?;
        let deploy = refusal(None)?;
        Ok(json!({
            "address": account,
            "height": U64::from(head),
            "since": U64::from(since),
            "status": rights.status().word(),
            "sendGranted": rights.send_granted(),
            "deployGranted": rights.deploy_granted(),
            "deployRevoked": rights.deploy_revoked(),
            "canSend": send.is_none(),
            "canDeploy": deploy.is_none(),
            "refusal": send.or(deploy),
        }))
    })?;
    Ok(())
}

/// The head (whose state is read) and the next height (whose rules are shown).
fn heights(c: &RpcContext) -> (u64, u64) {
    let head = c.chain.head().number;
    (head, head + 1)
}

/// The committee of the next block (it weighs the votes a tally shows).
fn committee(read: &mut store::SlotReader<'_>, next: u64) -> RpcResult<accord_sdk::governance::Committee> {
    let found = store::committee_at(read, next).map_err(internal)?;
    found.map(|(c, _)| c).ok_or_else(|| invalid_params("this chain has no committee"))
}

fn proposal_json(committee: &accord_sdk::governance::Committee, p: &Proposal, next: u64) -> Value {
    let tally = committee.tally(&p.ballot.votes);
    json!({
        "id": p.ballot.id,
        "proposer": p.ballot.proposer,
        "kind": p.action.kind(),
        "args": p.action.args(),
        "status": p.status_at(next).word(),
        "created": p.ballot.created,
        "expires": p.ballot.expires,
        "votes": p.ballot.votes.iter().map(|(v, a)| json!({ "voter": v, "agree": a })).collect::<Vec<_>>(),
        "tally": { "voted": tally.voted, "agreed": tally.agreed, "total": tally.total },
    })
}
