//! Follow a contract's logs over WebSocket from block FROM on, across lost connections: prints each log once as
//! `block index topic0` and exits after COUNT logs.
//!
//! `ACCORD_WS=ws://127.0.0.1:8545 cargo run -p accord-sdk --example watch_logs -- ADDRESS FROM COUNT`

use accord_sdk::Address;
use accord_sdk::logs::{Filter, watch_logs};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: watch_logs ADDRESS FROM COUNT";
    let address: Address = args.next().ok_or(usage)?.parse()?;
    let from: u64 = args.next().ok_or(usage)?.parse()?;
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let ws = std::env::var("ACCORD_WS").map_err(|_| "set ACCORD_WS")?;
    let mut logs = watch_logs(&ws, Filter::new().address(address), from);
    println!("watching {address}");
    for _ in 0..count {
        let log = logs.recv().await.ok_or("the watcher stopped")?;
        let topic = log.topics().first().map(|t| t.to_string()).unwrap_or_default();
        println!("{} {} {topic}", log.block_number.unwrap_or_default(), log.log_index.unwrap_or_default());
    }
    Ok(())
}
