//! Read-only console commands: `accord account balance|nonce`, `accord tx get|receipt|proof`, `accord block get`,
//! `accord validators`, `accord peers`. Objects print as indented JSON (one line with `--json`), numbers as decimals;
//! something the node does not have is a refusal (exit code 4) that says so.

use accord_sdk::{B256, U256};
use jsonrpsee::rpc_params;
use serde_json::Value;

use super::{Console, ConsoleError, parse_address};
use crate::cli::TxCommand;

fn parse_hash(s: &str) -> Result<B256, ConsoleError> {
    s.parse().map_err(|_| ConsoleError::Usage(format!("{s:?} is not a transaction hash (0x and 64 hex digits)")))
}

fn print(v: &Value, json: bool) {
    if json {
        println!("{v}");
    } else {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
    }
}

/// Prints `v`, or refuses with `missing` when the node answered `null`.
fn print_found(v: Value, json: bool, missing: impl FnOnce() -> String) -> Result<(), ConsoleError> {
    if v.is_null() {
        return Err(ConsoleError::Refused(missing()));
    }
    print(&v, json);
    Ok(())
}

/// `accord account balance ADDRESS`: the native balance in wei at the latest block.
pub async fn balance(c: &Console, address: &str, json: bool) -> Result<(), ConsoleError> {
    let a = parse_address(address)?;
    let wei: U256 = c.request("eth_getBalance", rpc_params![a, "latest"]).await?;
    if json {
        println!("{}", Value::String(wei.to_string()))
    } else {
        println!("{wei}")
    }
    Ok(())
}

/// `accord account nonce ADDRESS`: the next nonce, counting the node's pending transactions (what to sign next).
pub async fn nonce(c: &Console, address: &str) -> Result<(), ConsoleError> {
    let a = parse_address(address)?;
    let n = c.client.transaction_count(a, "pending").await.map_err(|e| c.node_error(e))?;
    println!("{n}");
    Ok(())
}

/// `accord tx get|receipt|proof HASH`.
pub async fn tx(c: &Console, command: &TxCommand, json: bool) -> Result<(), ConsoleError> {
    let (method, hash) = match command {
        TxCommand::Get { hash } => ("eth_getTransactionByHash", hash),
        TxCommand::Receipt { hash } => ("eth_getTransactionReceipt", hash),
        TxCommand::Proof { hash } => ("accord_getTransactionProof", hash),
    };
    let h = parse_hash(hash)?;
    let v: Value = c.request(method, rpc_params![h]).await?;
    print_found(v, json, || {
        format!("the node has no committed transaction {h} (still pending, dropped, or sent to another chain)")
    })
}

/// `accord block get N|latest`: the block with its transaction hashes.
pub async fn block(c: &Console, number: &str, json: bool) -> Result<(), ConsoleError> {
    let tag = match number {
        "latest" | "earliest" => number.to_string(),
        n => {
            let n: u64 =
                n.parse().map_err(|_| ConsoleError::Usage(format!("{n:?} is not a block number or latest")))?;
            format!("0x{n:x}")
        }
    };
    let v: Value = c.request("eth_getBlockByNumber", rpc_params![tag, false]).await?;
    print_found(v, json, || format!("the node has no block {number} yet"))
}

/// `accord validators`: the validator set certifying the next block, and the observers.
pub async fn validators(c: &Console, json: bool) -> Result<(), ConsoleError> {
    let v: Value = c.request("accord_validators", rpc_params![]).await?;
    if json {
        print(&v, true);
        return Ok(());
    }
    println!("validators certifying block {}:", v["height"].as_str().map(hex_number).unwrap_or_default());
    for val in v["validators"].as_array().into_iter().flatten() {
        println!(
            "  {}  {}  since block {}",
            val["address"].as_str().unwrap_or("?"),
            val["name"].as_str().unwrap_or(""),
            val["since"]
        );
    }
    for o in v["observers"].as_array().into_iter().flatten() {
        println!("observer {}  since block {}", o["address"].as_str().unwrap_or("?"), o["since"]);
    }
    Ok(())
}

/// `accord peers`: the consortium members this node is connected to.
pub async fn peers(c: &Console, json: bool) -> Result<(), ConsoleError> {
    let v: Value = c.request("accord_peers", rpc_params![]).await?;
    if json {
        print(&v, true);
        return Ok(());
    }
    let list = v.as_array().cloned().unwrap_or_default();
    println!("{} connected", list.len());
    for p in list {
        println!(
            "  {:<9} {}  {}",
            p["role"].as_str().unwrap_or("?"),
            p["nodeAddress"].as_str().unwrap_or("?"),
            p["peerId"]
        );
    }
    Ok(())
}

/// `0x1f` as `31`.
fn hex_number(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_default()
}
