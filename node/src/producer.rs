//! The single-validator block producer: on a chain whose genesis names one validator, that validator alone is the
//! quorum. Whenever transactions are waiting (and at most once per interval) it builds a block, certifies it with
//! its node key and commits it. No empty blocks: an idle lone validator has no leader to prove alive.

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_sdk::block::CommitCertificate;
use accord_sdk::keys::KeyPair;

use crate::import::{BlockImporter, now_secs};
use crate::metrics::Metrics;

/// Produces blocks until the task is aborted.
pub async fn produce_blocks(
    importer: Arc<BlockImporter>,
    metrics: Metrics,
    key: KeyPair,
    interval_ms: u64,
    max_block_txs: usize,
) {
    let interval = Duration::from_millis(interval_ms);
    let mut last = Instant::now().checked_sub(interval).unwrap_or_else(Instant::now);
    loop {
        if importer.pool().is_empty() {
            // Wake on arrival, or re-check periodically in case a notification raced with the check.
            importer.pool().wait_for_arrival(Duration::from_millis(500)).await;
            continue;
        }
        let since = last.elapsed();
        if since < interval {
            tokio::time::sleep(interval - since).await;
        }
        last = Instant::now();
        let (importer2, metrics2, key2) = (importer.clone(), metrics.clone(), key.clone());
        let result =
            tokio::task::spawn_blocking(move || produce_one(&importer2, &metrics2, &key2, max_block_txs)).await;
        match result {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                // Only transactions waiting on a nonce gap: sleep until something new arrives.
                importer.pool().wait_for_arrival(Duration::from_secs(1)).await;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "block production failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "block production task panicked");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Builds and commits one block; `Ok(false)` when no pooled transaction can run yet.
fn produce_one(
    importer: &BlockImporter,
    metrics: &Metrics,
    key: &KeyPair,
    max_block_txs: usize,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let executed = importer.build(key.address(), now_secs(), max_block_txs)?;
    if executed.block.transactions.is_empty() {
        return Ok(false);
    }
    let certificate = CommitCertificate::sign(key, &executed.block.header, 0)?;
    importer.commit(executed, certificate, "producer")?;
    metrics.consensus_round_seconds.observe(started.elapsed().as_secs_f64());
    Ok(true)
}
