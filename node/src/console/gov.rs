//! `accord gov`: proposals and votes through the committee system contract, reads through `accord_proposal(s)`.

use accord_sdk::governance::{Action, COMMITTEE_ADDRESS};
use alloy_primitives::U64;
use alloy_rpc_types_eth::TransactionReceipt;
use alloy_sol_types::{SolCall, SolEvent};
use jsonrpsee::rpc_params;
use serde_json::{Value, json};

use super::{Console, ConsoleError};
use crate::governance::abi::ICommittee;

/// What a proposal's transaction decided, read from its receipt's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Proposal id.
    pub id: u64,
    /// Status after the transaction.
    pub status: String,
    /// First height the change is in force (passed proposals).
    pub effective_height: Option<u64>,
}

fn decision(receipt: &TransactionReceipt, id: Option<u64>) -> Result<Decision, ConsoleError> {
    let mut out = Decision { id: id.unwrap_or_default(), status: "open".into(), effective_height: None };
    let mut seen = id.is_some();
    for log in receipt.inner.logs() {
        if log.address() != COMMITTEE_ADDRESS {
            continue;
        }
        if let Ok(e) = ICommittee::ProposalCreated::decode_log_data(log.data()) {
            out.id = e.id;
            seen = true;
        } else if let Ok(e) = ICommittee::ProposalDecided::decode_log_data(log.data()) {
            out.status = e.status;
            out.effective_height = (e.effectiveHeight != 0).then_some(e.effectiveHeight);
        } else if ICommittee::ProposalRevoked::decode_log_data(log.data()).is_ok() {
            out.status = "revoked".into();
        }
    }
    if !seen {
        return Err(ConsoleError::Node("the receipt carries no committee event".into()));
    }
    Ok(out)
}

fn print_decision(d: &Decision, receipt: &TransactionReceipt, as_json: bool, human: String) {
    if as_json {
        let v = json!({
            "id": d.id,
            "status": d.status,
            "effectiveHeight": d.effective_height,
            "transactionHash": receipt.transaction_hash,
            "blockNumber": receipt.block_number,
        });
        println!("{v}");
    } else {
        println!("{human}");
    }
}

/// Certificates looked at to tell which validators are live.
const LIVENESS_WINDOW: u64 = 8;

/// Refuses a validator removal that would leave the new set without a live quorum, judging by who signed the last
/// [`LIVENESS_WINDOW`] certificates: the chain itself only refuses to go below one validator.
async fn check_live_quorum(c: &Console, node: accord_sdk::Address) -> Result<(), ConsoleError> {
    // `accord_validators` is a validator set with a few fields added; the set's own quorum rule applies.
    let set: accord_sdk::block::ValidatorSet = c.request("accord_validators", rpc_params![]).await?;
    let chain_id = c.client.chain_id().await.map_err(|e| c.node_error(e))?;
    let head = c.client.block_number().await.map_err(|e| c.node_error(e))?;
    // The chain's signature scheme (the only one there is); the console has no genesis to read it from.
    let suite = accord_sdk::crypto::CryptoSuite::default();
    let mut live = std::collections::BTreeSet::new();
    for n in head.saturating_sub(LIVENESS_WINDOW - 1).max(1)..=head {
        let Some(cert) = c.client.certified_header(n).await.map_err(|e| c.node_error(e))?.and_then(|h| h.certificate)
        else {
            continue;
        };
        let digest = accord_sdk::block::commit_digest(chain_id, cert.height, cert.view, &cert.block_hash);
        for sig in &cert.signatures {
            if let Ok(s) = alloy_primitives::Signature::try_from(sig.as_ref())
                && let Ok(a) = suite.recover(&digest, &s)
            {
                live.insert(a);
            }
        }
    }
    let remaining = accord_sdk::block::ValidatorSet {
        validators: set.validators.into_iter().filter(|v| v.address != node).collect(),
    };
    let quorum = remaining.quorum();
    let live_remaining = remaining.validators.iter().filter(|v| live.contains(&v.address)).count();
    if live_remaining < quorum {
        return Err(ConsoleError::Refused(format!(
            "removing {node} leaves {} validators of which {live_remaining} signed any of the last {LIVENESS_WINDOW} certificates, below the {quorum} the new set needs to commit; bring validators back first, or pass --force",
            remaining.len()
        )));
    }
    Ok(())
}

/// `accord gov propose KIND ARGS…`: prints the new proposal's id. A validator removal that would leave no live
/// quorum is refused unless `force`.
pub async fn propose(c: &Console, kind: &str, args: &[String], force: bool, as_json: bool) -> Result<(), ConsoleError> {
    // Checked here first so a typo is explained without a round trip; the chain checks again.
    let action = Action::parse(kind, args).map_err(ConsoleError::Usage)?;
    if let Action::RemoveValidator(node) = action
        && !force
    {
        check_live_quorum(c, node).await?;
    }
    let input = ICommittee::proposeCall { kind: action.kind().into(), args: action.args() }.abi_encode();
    let receipt = c.send(COMMITTEE_ADDRESS, input).await?;
    let d = decision(&receipt, None)?;
    if !as_json && d.status != "open" {
        eprintln!("proposal {} {} at once (the proposer's weight decided it)", d.id, d.status);
    }
    print_decision(&d, &receipt, as_json, d.id.to_string());
    Ok(())
}

/// `accord gov vote ID --agree|--against`: prints the proposal's status after the vote.
pub async fn vote(c: &Console, id: u64, agree: bool, as_json: bool) -> Result<(), ConsoleError> {
    let receipt = c.send(COMMITTEE_ADDRESS, ICommittee::voteCall { id, agree }.abi_encode()).await?;
    let d = decision(&receipt, Some(id))?;
    let human = match d.effective_height {
        Some(h) => format!("{} (in force from block {h})", d.status),
        None => d.status.clone(),
    };
    print_decision(&d, &receipt, as_json, human);
    Ok(())
}

/// `accord gov revoke ID`.
pub async fn revoke(c: &Console, id: u64, as_json: bool) -> Result<(), ConsoleError> {
    let receipt = c.send(COMMITTEE_ADDRESS, ICommittee::revokeCall { id }.abi_encode()).await?;
    let d = decision(&receipt, Some(id))?;
    print_decision(&d, &receipt, as_json, d.status.clone());
    Ok(())
}

/// `accord gov show ID`.
pub async fn show(c: &Console, id: u64, as_json: bool) -> Result<(), ConsoleError> {
    let p: Option<Value> = c.request("accord_proposal", rpc_params![U64::from(id)]).await?;
    let Some(p) = p else { return Err(ConsoleError::Refused(format!("there is no proposal {id}"))) };
    if as_json {
        println!("{p}");
    } else {
        println!("{}", describe(&p));
        for v in p["votes"].as_array().into_iter().flatten() {
            let word = if v["agree"].as_bool() == Some(true) { "agree" } else { "against" };
            println!("  {} {word}", v["voter"].as_str().unwrap_or("?"));
        }
    }
    Ok(())
}

/// `accord gov list [--all]`: open proposals (all with `--all`), newest first.
pub async fn list(c: &Console, all: bool, as_json: bool) -> Result<(), ConsoleError> {
    let ps: Vec<Value> = c.request("accord_proposals", rpc_params![all]).await?;
    if as_json {
        println!("{}", Value::Array(ps));
    } else if ps.is_empty() {
        eprintln!("no {}proposals", if all { "" } else { "open " });
    } else {
        for p in &ps {
            println!("{}", describe(p));
        }
    }
    Ok(())
}

fn describe(p: &Value) -> String {
    let args: Vec<&str> = p["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    format!(
        "{} {} {} {} (by {}; block {} to {}; voted {} of {}, agreed {})",
        p["id"],
        p["status"].as_str().unwrap_or("?"),
        p["kind"].as_str().unwrap_or("?"),
        args.join(" "),
        p["proposer"].as_str().unwrap_or("?"),
        p["created"],
        p["expires"],
        p["tally"]["voted"],
        p["tally"]["total"],
        p["tally"]["agreed"],
    )
}
