//! Many transactions from one account in flight at once: the wallet hands out nonces locally, so all are sent
//! before any is committed, then each receipt is awaited.
//!
//! `ACCORD_RPC=… ACCORD_KEY=key.hex cargo run -p accord-sdk --example many_in_flight [COUNT]`

use std::time::Duration;

use accord_sdk::U256;
use accord_sdk::client::AccordClient;
use accord_sdk::keys::KeyPair;
use accord_sdk::wallet::{TxRequest, Wallet};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).map_or(Ok(50), |c| c.parse())?;
    let client = AccordClient::new(&std::env::var("ACCORD_RPC").map_err(|_| "set ACCORD_RPC")?)?;
    let key = std::fs::read_to_string(std::env::var("ACCORD_KEY").map_err(|_| "set ACCORD_KEY")?)?;
    let wallet = Wallet::connect(client.clone(), KeyPair::from_hex(key.trim())?).await?;

    let to = KeyPair::generate().address();
    let sends = (0..count).map(|_| wallet.send(TxRequest::transfer(to, U256::from(1u8))));
    let pending = futures::future::try_join_all(sends).await?;
    let mut nonces: Vec<u64> = pending.iter().map(|p| p.nonce).collect();
    nonces.sort_unstable();
    nonces.dedup();
    println!("{} transactions in flight, {} distinct nonces", pending.len(), nonces.len());

    let mut blocks = std::collections::BTreeSet::new();
    for p in &pending {
        let receipt = p.wait(&client, Duration::from_secs(60)).await?;
        assert!(receipt.status(), "{} failed", p.hash);
        blocks.insert(receipt.block_number.unwrap_or_default());
    }
    println!(
        "{} committed in {} blocks; recipient balance {} wei",
        pending.len(),
        blocks.len(),
        client.balance(to).await?
    );
    Ok(())
}
