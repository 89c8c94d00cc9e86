//! Send a transfer, wait for its receipt with a timeout, then check it without trusting the node: the block's
//! certificate against the genesis validators, the transaction and receipt by their proofs, and the recipient's
//! balance by a state proof.
//!
//! `ACCORD_RPC=http://127.0.0.1:8545 ACCORD_KEY=key.hex ACCORD_GENESIS=net/node0/genesis.json cargo run -p accord-sdk --example transfer`

use std::time::Duration;

use accord_sdk::U256;
use accord_sdk::client::AccordClient;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use accord_sdk::verify::TrustedValidators;
use accord_sdk::wallet::{TxRequest, Wallet};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = AccordClient::new(&env("ACCORD_RPC")?)?;
    let key = KeyPair::from_hex(std::fs::read_to_string(env("ACCORD_KEY")?)?.trim())?;
    let genesis = Genesis::from_json(&std::fs::read_to_string(env("ACCORD_GENESIS")?)?)?;
    let wallet = Wallet::connect(client.clone(), key).await?;

    let recipient = KeyPair::generate().address();
    let amount = U256::from(10u64).pow(U256::from(18u8));
    let receipt = wallet.send_and_wait(TxRequest::transfer(recipient, amount), Duration::from_secs(30)).await?;
    let block = receipt.block_number.ok_or("a receipt without a block")?;
    println!("sent {} in block {block}, status {}", receipt.transaction_hash, u8::from(receipt.status()));

    let trusted = TrustedValidators::from_genesis(&genesis);
    let proven = trusted.transaction(&client, receipt.transaction_hash).await?;
    println!(
        "verified: transaction and receipt in block {} certified by {} of {} validators",
        proven.header.number,
        trusted.validators.quorum(),
        trusted.validators.len()
    );
    let account = trusted.account(&client, recipient, block).await?;
    println!("verified: {recipient} holds {} wei at block {block}", account.balance);
    assert_eq!(account.balance, amount);
    Ok(())
}
