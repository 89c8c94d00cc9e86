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

/// The example token's calls (the business benchmark makes them too).
pub mod token {
    alloy_sol_types::sol! {
        function transfer(address to, uint256 amount) returns (bool);
        function approve(address spender, uint256 amount) returns (bool);
    }
}

/// The settlement scenario contract's calls: the settlement workload's, and the business benchmark's.
pub mod settlement {
    alloy_sol_types::sol! {
        function addCurrency(bytes3 currency, address issuer);
        function admit(bytes3 currency, address participant, uint256 limit);
        function mint(bytes3 currency, address to, uint256 amount);
        function transfer(bytes3 currency, address to, uint256 amount);
        function proposeTrade(address counterparty, bytes3 payCurrency, uint256 payAmount, bytes3 receiveCurrency, uint256 receiveAmount, uint64 expiry) returns (uint64);
        function acceptTrade(uint64 id);
        function settleTrade(uint64 id);
        function lock(bytes3 currency, address receiver, uint256 amount, bytes32 hashlock, uint64 timeout) returns (uint64);
        function claim(uint64 id, bytes32 preimage);
        function configureSigners(address[] signers, uint64 threshold);
        function submitInstruction(address account, bytes3 currency, address to, uint256 amount, uint64 deadline) returns (uint64);
        function approve(uint64 id);
        function execute(uint64 id);
        function addObligation(bytes3 currency, address creditor, uint256 amount) returns (uint64);
        function settleCycle(bytes3 currency, uint64[] ids) returns (uint64);
    }
}

/// The example token, built into the binary by `node/build.rs`.
const TOKEN_ARTIFACT: &str = include_str!(concat!(env!("ACCORD_CONTRACTS_OUT"), "/token.json"));
/// The settlement scenario contract, likewise.
const SETTLEMENT_ARTIFACT: &str = include_str!(concat!(env!("ACCORD_CONTRACTS_OUT"), "/settlement.json"));
/// The currency the settlement workload pays in.
const USD: alloy_primitives::FixedBytes<3> = alloy_primitives::FixedBytes(*b"USD");

/// What each transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// A native value transfer (21,000 gas): the chain's floor cost per transaction.
    Transfer,
    /// An ERC-20 `transfer` of the example token: every transaction runs contract code in the VM.
    Token,
    /// A tokenised-deposit payment through the settlement scenario contract (`transfer(bytes3,address,uint256)`:
    /// eligibility, freeze and limit checks on both sides, as the consortium's settlement business runs).
    Settlement,
}

/// The contract a workload's transactions call, if any.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Native transfers.
    Native,
    /// The example token at this address.
    Token(Address),
    /// The settlement contract at this address.
    Settlement(Address),
}

/// The benchmark's accounts and what their transactions need.
#[derive(Debug)]
pub struct Accounts {
    /// One key per sending account.
    pub keys: Vec<KeyPair>,
    /// Next nonce of each.
    pub nonces: Vec<u64>,
    /// What the transactions call.
    pub target: Target,
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

/// Creates `count` accounts, deploys the contract the workload calls (token or settlement), and funds every
/// account for `txs_each` transactions, from `funders` (round-robin; the first also deploys and, for settlement,
/// issues the deposits), through `node`.
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
    let target = match workload {
        Workload::Transfer => Target::Native,
        Workload::Token => Target::Token(
            deploy(node, &funders[0], &mut funder_nonces[0], chain_id, gas_price, TOKEN_ARTIFACT, &token_args())
                .await
                .context("deploying the token")?,
        ),
        Workload::Settlement => Target::Settlement(
            deploy(node, &funders[0], &mut funder_nonces[0], chain_id, gas_price, SETTLEMENT_ARTIFACT, &[])
                .await
                .context("deploying the settlement contract")?,
        ),
    };
    let gas_limit = match target {
        Target::Native => accord_sdk::tx::TX_BASE_GAS,
        Target::Token(token) => {
            let input = token::transferCall { to: keys[0].address(), amount: U256::from(1u8) }.abi_encode();
            estimate(node, funders[0].address(), token, input).await?
        }
        // Estimated below, once the accounts hold deposits; this bound funds their gas.
        Target::Settlement(_) => SETTLEMENT_GAS_BOUND,
    };
    // Native funds for every transaction's value and gas; token or deposit funds for the contract workloads.
    let per_tx = U256::from(gas_limit) * U256::from(gas_price) + U256::from(1u8);
    let native = per_tx * U256::from(txs_each) + U256::from(1_000_000u64);
    let mut setup: Vec<Vec<(Address, u64, Bytes)>> = vec![Vec::new(); funders.len()];
    let mut tx = |f: usize, to: Address, value: U256, input: Vec<u8>, gas_limit: u64| -> anyhow::Result<()> {
        let nonce = funder_nonces[f];
        funder_nonces[f] += 1;
        let tx = TxLegacy {
            chain_id: Some(chain_id),
            nonce,
            gas_price,
            gas_limit,
            to: TxKind::Call(to),
            value,
            input: input.into(),
        };
        setup[f].push((funders[f].address(), nonce, sign(&funders[f], tx)?.raw));
        Ok(())
    };
    if let Target::Settlement(contract) = target {
        // The first funder deployed the contract, so it is the operator; it registers USD with itself as issuer.
        let input = settlement::addCurrencyCall { currency: USD, issuer: funders[0].address() }.abi_encode();
        tx(0, contract, U256::ZERO, input, SETTLEMENT_GAS_BOUND)?;
    }
    for (i, k) in keys.iter().enumerate() {
        if gas_price > 0 || workload == Workload::Transfer {
            tx(i % funders.len(), k.address(), native, Vec::new(), accord_sdk::tx::TX_BASE_GAS)?;
        }
        match target {
            Target::Native => {}
            Target::Token(token) => {
                // The deployer holds the whole supply.
                let input = token::transferCall { to: k.address(), amount: U256::from(txs_each) }.abi_encode();
                tx(0, token, U256::ZERO, input, gas_limit)?;
            }
            Target::Settlement(contract) => {
                let limit = U256::MAX >> 1;
                let admit = settlement::admitCall { currency: USD, participant: k.address(), limit }.abi_encode();
                tx(0, contract, U256::ZERO, admit, SETTLEMENT_GAS_BOUND)?;
                let mint =
                    settlement::mintCall { currency: USD, to: k.address(), amount: U256::from(txs_each) }.abi_encode();
                tx(0, contract, U256::ZERO, mint, SETTLEMENT_GAS_BOUND)?;
            }
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
    let gas_limit = match target {
        Target::Settlement(contract) => {
            let input =
                settlement::transferCall { currency: USD, to: keys[1 % keys.len()].address(), amount: U256::from(1u8) }
                    .abi_encode();
            estimate(node, keys[0].address(), contract, input).await?
        }
        _ => gas_limit,
    };
    Ok(Accounts { nonces: vec![0; keys.len()], keys, target, gas_limit, gas_price, chain_id })
}

/// Gas of a settlement setup call, and the bound its transfers are funded for before they can be estimated.
const SETTLEMENT_GAS_BOUND: u64 = 1_000_000;

/// `eth_estimateGas` of a call, with a margin: balances change as the run goes (a first credit writes a new slot).
async fn estimate(node: &Node, from: Address, to: Address, input: Vec<u8>) -> anyhow::Result<u64> {
    let req = serde_json::json!({ "from": from, "to": to, "data": Bytes::from(input) });
    let estimate: alloy_primitives::U64 = node.call("eth_estimateGas", rpc_params![req]).await?;
    Ok(estimate.to::<u64>() * 3 / 2)
}

/// The token's constructor arguments: a supply no run exhausts.
fn token_args() -> Vec<u8> {
    ("Bench".to_string(), "BNC".to_string(), U256::MAX >> 1).abi_encode_params()
}

/// Deploys the contract of `artifact` (`{abi, bytecode}`) with ABI-encoded constructor `args`; its address.
async fn deploy(
    node: &Node,
    deployer: &KeyPair,
    nonce: &mut u64,
    chain_id: u64,
    gas_price: u128,
    artifact: &str,
    args: &[u8],
) -> anyhow::Result<Address> {
    let artifact: serde_json::Value = serde_json::from_str(artifact)?;
    let code = artifact["bytecode"].as_str().context("artifact has no bytecode")?;
    let mut input = hex::decode(code.trim_start_matches("0x"))?;
    input.extend_from_slice(args);
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
    send_and_wait(node, &[(deployer.address(), *nonce, signed.raw.clone())], Duration::from_secs(60)).await?;
    *nonce += 1;
    let receipt: serde_json::Value = node.call("eth_getTransactionReceipt", rpc_params![signed.hash]).await?;
    anyhow::ensure!(receipt["status"] == "0x1", "deployment failed: {receipt}");
    receipt["contractAddress"].as_str().and_then(|a| a.parse().ok()).context("receipt has no contractAddress")
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
        let one = U256::from(1u8);
        let (to, value, input) = match a.target {
            Target::Native => (to, one, Bytes::new()),
            Target::Token(token) => (token, U256::ZERO, token::transferCall { to, amount: one }.abi_encode().into()),
            Target::Settlement(contract) => {
                (contract, U256::ZERO, settlement::transferCall { currency: USD, to, amount: one }.abi_encode().into())
            }
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
