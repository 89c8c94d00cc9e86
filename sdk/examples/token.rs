//! Typed contract calls from an ABI JSON: deploy the example token from its artifact, transfer with a typed
//! argument list, read balances, and decode the receipt's events.
//!
//! `ACCORD_RPC=… ACCORD_KEY=key.hex cargo run -p accord-sdk --example token -- contracts/out/token.json`

use std::time::Duration;

use accord_sdk::U256;
use accord_sdk::client::AccordClient;
use accord_sdk::contract::{ContractAbi, DynSolValue};
use accord_sdk::keys::KeyPair;
use accord_sdk::wallet::Wallet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let artifact = std::env::args().nth(1).ok_or("usage: token ARTIFACT (contracts/out/token.json)")?;
    let client = AccordClient::new(&std::env::var("ACCORD_RPC").map_err(|_| "set ACCORD_RPC")?)?;
    let key = std::fs::read_to_string(std::env::var("ACCORD_KEY").map_err(|_| "set ACCORD_KEY")?)?;
    let wallet = Wallet::connect(client, KeyPair::from_hex(key.trim())?).await?;
    let timeout = Duration::from_secs(30);

    let abi = ContractAbi::from_json(&std::fs::read_to_string(artifact)?)?;
    let supply = U256::from(1_000_000u64);
    let args =
        [DynSolValue::String("Example".into()), DynSolValue::String("EXM".into()), DynSolValue::Uint(supply, 256)];
    let token = abi.deploy(&wallet, &args, timeout).await?;
    println!("deployed {} at {}", token.call("symbol", &[]).await?[0].as_str().unwrap_or("?"), token.address);

    let to = KeyPair::generate().address();
    let receipt =
        token.send(&wallet, "transfer", &abi.parse_args("transfer", &[&to.to_string(), "2500"])?, timeout).await?;
    for event in token.events(&receipt) {
        println!(
            "event {}({})",
            event.name,
            event.values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
        );
    }
    let balance = token.call("balanceOf", &[DynSolValue::Address(to)]).await?;
    println!("balanceOf({to}) = {}", balance[0].as_uint().map(|(v, _)| v).unwrap_or_default());
    // A revert is caught before sending, with the contract's reason.
    match token.send(&wallet, "transfer", &abi.parse_args("transfer", &[&to.to_string(), "999999999"])?, timeout).await
    {
        Err(e) => println!("refused as expected: {e}"),
        Ok(r) => return Err(format!("an overdraft went through: {}", r.transaction_hash).into()),
    }
    Ok(())
}
