//! What a benchmark sends: its accounts, their funding (and the token they trade), and the pre-signed
//! transactions, all prepared before the clock starts: signing is the client's work, not the chain's.

use std::time::{Duration, Instant};

use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, B256, Bytes, U256, keccak256};
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::TxKind;
use alloy_sol_types::{SolCall, SolValue};
use anyhow::Context as _;
use jsonrpsee::rpc_params;
use rayon::prelude::*;

use super::rpc::Node;

alloy_sol_types::sol! {
    function transfer(address to, uint256 amount) returns (bool);
}

/// The example token, built into the binary by `node/build.rs`.
const TOKEN_ARTIFACT: &str = include_str!(concat!(env!("ACCORD_CONTRACTS_OUT"), "/token.json"));

/// What each transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// A native value transfer (21,000 gas): the chain's floor cost per transaction.
    Transfer,
    /// An ERC-20 `transfer` of the example token: every transaction runs contract code in the VM.
    Token,
}

/// The benchmark's accounts and what their transactions need.
#[derive(Debug)]
pub struct Accounts {
    /// One key per sending account.
    pub keys: Vec<KeyPair>,
    /// Next nonce of each.
    pub nonces: Vec<u64>,
    /// The token, for the token workload.
    pub token: Option<Address>,
    /// Gas limit of each transaction.
    pub gas_limit: u64,
    /// Gas price paid.
    pub gas_price: u128,
    /// The chain's id.
    pub chain_id: u64,
}

/// A pre-signed transaction.
#[derive(Debug, Clone)]
pub struct Presigned {
    /// The EIP-2718 bytes.
    pub raw: Bytes,
    /// Its hash.
    pub hash: B256,
    /// Index of its sender in [`Accounts::keys`].
    pub sender: usize,
}

fn sign(key: &KeyPair, tx: TxLegacy) -> anyhow::Result<Presigned> {
    let sig = key.sign_prehash(&tx.signature_hash()).map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
    Ok(Presigned { hash: keccak256(&raw), raw, sender: 0 })
}

/// Sends `txs` (each sender's in nonce order) and waits until every sender's committed nonce reaches the last
/// one sent, or fails after `timeout` naming how far they got.
async fn send_and_wait(node: &Node, txs: &[(Address, u64, Bytes)], timeout: Duration) -> anyhow::Result<()> {
    let raws: Vec<Bytes> = txs.iter().map(|(_, _, r)| r.clone()).collect();
    for (answer, (from, nonce, _)) in node.send_raw(&raws).await?.into_iter().zip(txs) {
        if let Err(e) = answer {
            anyhow::bail!("setup transaction from {from} (nonce {nonce}) refused by {}: {e}", node.url);
        }
    }
    let mut last: std::collections::BTreeMap<Address, u64> = Default::default();
    for (from, nonce, _) in txs {
        let e = last.entry(*from).or_default();
        *e = (*e).max(nonce + 1);
    }
    let senders: Vec<Address> = last.keys().copied().collect();
    let deadline = Instant::now() + timeout;
    loop {
        let now = node.committed_nonces(&senders).await?;
        let behind = senders.iter().zip(&now).filter(|(a, n)| **n < last[*a]).count();
        if behind == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "setup: {behind} of {} senders' transactions not committed after {} s",
            senders.len(),
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Most setup transactions one funder has in flight: the pool accepts nonces at most 64 ahead of the committed one.
const FUNDER_IN_FLIGHT: usize = 64;

/// Creates `count` accounts, deploys the token if the workload needs it, and funds every account for `txs_each`
/// transactions, from `funders` (round-robin), through `node`.
pub async fn prepare(
    node: &Node,
    funders: &[KeyPair],
    count: usize,
    txs_each: u64,
    workload: Workload,
) -> anyhow::Result<Accounts> {
    anyhow::ensure!(!funders.is_empty(), "no funded account to pay for the benchmark's accounts");
    let chain_id = node.chain_id().await?;
    let gas_price = node.gas_price().await?;
    let keys: Vec<KeyPair> = (0..count).map(|_| KeyPair::generate()).collect();
    let mut funder_nonces = Vec::new();
    for f in funders {
        funder_nonces.push(node.nonce(f.address()).await?);
    }
    let token = match workload {
        Workload::Transfer => None,
        Workload::Token => Some(deploy_token(node, &funders[0], &mut funder_nonces[0], chain_id, gas_price).await?),
    };
    let gas_limit = match token {
        None => accord_sdk::tx::TX_BASE_GAS,
        Some(token) => {
            let input = transferCall { to: keys[0].address(), amount: U256::from(1u8) }.abi_encode();
            let req = serde_json::json!({ "from": funders[0].address(), "to": token, "data": Bytes::from(input) });
            let estimate: alloy_primitives::U64 = node.call("eth_estimateGas", rpc_params![req]).await?;
            // Balances change as the run goes (a first credit writes a new slot): a margin over the estimate.
            estimate.to::<u64>() * 3 / 2
        }
    };
    // Native funds for every transaction's value and gas; token funds for the token workload.
    let per_tx = U256::from(gas_limit) * U256::from(gas_price) + U256::from(1u8);
    let native = per_tx * U256::from(txs_each) + U256::from(1_000_000u64);
    let mut setup: Vec<Vec<(Address, u64, Bytes)>> = vec![Vec::new(); funders.len()];
    for (i, k) in keys.iter().enumerate() {
        let mut tx = |f: usize, to: Address, value: U256, input: Bytes, gas_limit: u64| -> anyhow::Result<()> {
            let nonce = funder_nonces[f];
            funder_nonces[f] += 1;
            let signed = sign(
                &funders[f],
                TxLegacy { chain_id: Some(chain_id), nonce, gas_price, gas_limit, to: TxKind::Call(to), value, input },
            )?;
            setup[f].push((funders[f].address(), nonce, signed.raw));
            Ok(())
        };
        if gas_price > 0 || workload == Workload::Transfer {
            tx(i % funders.len(), k.address(), native, Bytes::new(), accord_sdk::tx::TX_BASE_GAS)?;
        }
        if let Some(token) = token {
            // The deployer holds the whole supply.
            let input = transferCall { to: k.address(), amount: U256::from(txs_each) }.abi_encode();
            tx(0, token, U256::ZERO, input.into(), gas_limit)?;
        }
    }
    // Round by round: each funder's next FUNDER_IN_FLIGHT transactions, all funders at once.
    let rounds = setup.iter().map(|s| s.len().div_ceil(FUNDER_IN_FLIGHT)).max().unwrap_or(0);
    for round in 0..rounds {
        let batch: Vec<_> = setup
            .iter()
            .flat_map(|s| s.iter().skip(round * FUNDER_IN_FLIGHT).take(FUNDER_IN_FLIGHT).cloned())
            .collect();
        send_and_wait(node, &batch, Duration::from_secs(180)).await.context("funding the benchmark's accounts")?;
    }
    Ok(Accounts { nonces: vec![0; keys.len()], keys, token, gas_limit, gas_price, chain_id })
}

async fn deploy_token(
    node: &Node,
    deployer: &KeyPair,
    nonce: &mut u64,
    chain_id: u64,
    gas_price: u128,
) -> anyhow::Result<Address> {
    let artifact: serde_json::Value = serde_json::from_str(TOKEN_ARTIFACT)?;
    let code = artifact["bytecode"].as_str().context("token artifact has no bytecode")?;
    let mut input = hex::decode(code.trim_start_matches("0x"))?;
    input.extend(("Bench".to_string(), "BNC".to_string(), U256::MAX >> 1).abi_encode_params());
    let req = serde_json::json!({ "from": deployer.address(), "data": Bytes::from(input.clone()) });
    let estimate: alloy_primitives::U64 = node.call("eth_estimateGas", rpc_params![req]).await?;
    let tx = TxLegacy {
        chain_id: Some(chain_id),
        nonce: *nonce,
        gas_price,
        gas_limit: estimate.to::<u64>() * 5 / 4,
        to: TxKind::Create,
        value: U256::ZERO,
        input: input.into(),
    };
    let signed = sign(deployer, tx)?;
    send_and_wait(node, &[(deployer.address(), *nonce, signed.raw.clone())], Duration::from_secs(60))
        .await
        .context("deploying the token")?;
    *nonce += 1;
    let receipt: serde_json::Value = node.call("eth_getTransactionReceipt", rpc_params![signed.hash]).await?;
    anyhow::ensure!(receipt["status"] == "0x1", "token deployment failed: {receipt}");
    receipt["contractAddress"].as_str().and_then(|a| a.parse().ok()).context("token receipt has no contractAddress")
}

/// Signs `count` transactions: transaction k comes from account k mod n with that account's next nonce and
/// pays account k+1 mod n (one wei, or one token), so every moment of the load spreads over all accounts and
/// each account's transactions stay in nonce order. Signed on every core.
pub fn presign(accounts: &mut Accounts, count: usize) -> anyhow::Result<Vec<Presigned>> {
    let n = accounts.keys.len();
    anyhow::ensure!(n > 0, "no accounts");
    let jobs: Vec<(usize, u64)> = (0..count)
        .map(|k| {
            let s = k % n;
            let nonce = accounts.nonces[s];
            accounts.nonces[s] += 1;
            (s, nonce)
        })
        .collect();
    let a = &*accounts;
    let one = |&(s, nonce): &(usize, u64)| -> anyhow::Result<Presigned> {
        let to = a.keys[(s + 1) % n].address();
        let (to, value, input) = match a.token {
            None => (to, U256::from(1u8), Bytes::new()),
            Some(token) => (token, U256::ZERO, transferCall { to, amount: U256::from(1u8) }.abi_encode().into()),
        };
        let tx = TxLegacy {
            chain_id: Some(a.chain_id),
            nonce,
            gas_price: a.gas_price,
            gas_limit: a.gas_limit,
            to: TxKind::Call(to),
            value,
            input,
        };
        Ok(Presigned { sender: s, ..sign(&a.keys[s], tx)? })
    };
    jobs.par_iter().map(one).collect()
}
