//! Log subscriptions over WebSocket (`eth_subscribe("logs")`) that survive a lost connection: [`watch_logs`]
//! reconnects with backoff, fetches what was committed meanwhile with `eth_getLogs` from the block after the last
//! one delivered, and resubscribes, so the stream has every matching log exactly once, in order.

use std::time::Duration;

pub use alloy_rpc_types_eth::{Filter, Log};
use jsonrpsee::core::client::{ClientT, Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use tokio::sync::mpsc;

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Blocks per `eth_getLogs` while catching up: within the node's default `rpc.max_block_range` (1,024).
const BACKFILL_SPAN: u64 = 1_000;

/// Streams the logs matching `filter` (its block range is ignored) committed from block `from` on, from the node
/// at `ws_url` (`ws://host:port`, the RPC port), into the returned channel until the receiver is dropped.
/// Connection losses are bridged as described in the module docs; the stream never repeats or skips a committed
/// log.
pub fn watch_logs(ws_url: &str, filter: Filter, from: u64) -> mpsc::Receiver<Log> {
    let (tx, rx) = mpsc::channel(1024);
    let url = ws_url.to_string();
    tokio::spawn(async move {
        // The position after the last log delivered: (block, log index).
        let mut last: Option<(u64, u64)> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            if tx.is_closed() {
                return;
            }
            match follow(&url, &filter, from, &mut last, &tx).await {
                Ok(()) => return, // the receiver is gone
                Err(e) => {
                    tracing::debug!(error = %e, url, "log subscription lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    });
    rx
}

/// Connects, subscribes, backfills after `last`, then forwards the subscription until an error; `Ok` when the
/// receiver is dropped.
async fn follow(
    url: &str,
    filter: &Filter,
    from: u64,
    last: &mut Option<(u64, u64)>,
    tx: &mpsc::Sender<Log>,
) -> Result<(), jsonrpsee::core::client::Error> {
    let client = WsClientBuilder::default().build(url).await?;
    // Subscribe first, then backfill: a log committed in between arrives twice and the position check drops it.
    let mut live: Subscription<Log> =
        client.subscribe("eth_subscribe", rpc_params!["logs", without_range(filter)], "eth_unsubscribe").await?;
    // Everything from the block of the last delivered log (or `from`) up to the head, in spans the node serves.
    let head: alloy_primitives::U64 = client.request("eth_blockNumber", rpc_params![]).await?;
    let mut start = last.map_or(from, |(block, _)| block);
    while start <= head.to::<u64>() {
        let end = (start + BACKFILL_SPAN - 1).min(head.to());
        let ranged = without_range(filter).from_block(start).to_block(end);
        let missed: Vec<Log> = client.request("eth_getLogs", rpc_params![ranged]).await?;
        for log in missed {
            if !deliver(log, last, tx).await {
                return Ok(());
            }
        }
        start = end + 1;
    }
    while let Some(item) = live.next().await {
        if !deliver(item?, last, tx).await {
            return Ok(());
        }
    }
    Err(jsonrpsee::core::client::Error::Custom("the subscription ended".into()))
}

/// Sends `log` unless it is at or before `last`; false when the receiver is gone.
async fn deliver(log: Log, last: &mut Option<(u64, u64)>, tx: &mpsc::Sender<Log>) -> bool {
    let at = (log.block_number.unwrap_or_default(), log.log_index.unwrap_or_default());
    if last.is_some_and(|l| at <= l) {
        return true;
    }
    *last = Some(at);
    tx.send(log).await.is_ok()
}

fn without_range(filter: &Filter) -> Filter {
    let mut f = filter.clone();
    f.block_option = Default::default();
    f
}
