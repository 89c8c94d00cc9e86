//! A run's summary: what was offered, committed and refused, latency from due time to commit, block sizes and
//! intervals, CPU and memory per node, and the ceiling measured in the same run, as a table and as JSON.

use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::ceiling::RecoveryRates;
use super::load::{Answer, Outcome};
use super::workload::Workload;

/// One node's share of the work in the measured window.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Its JSON-RPC URL.
    pub rpc: String,
    /// CPU seconds it used in the window (`null` when its process is not on this machine).
    pub cpu_seconds: Option<f64>,
    /// CPU µs per transaction committed in the window.
    pub cpu_us_per_tx: Option<f64>,
    /// The same, in full k256 recoveries measured in this run.
    pub recoveries_per_tx: Option<f64>,
    /// Highest resident memory of its process, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Transactions left in its pool at the end.
    pub pool_left: Option<u64>,
}

/// The summary of one run (the fields `--json` promises first).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Transactions per second committed in the measured window.
    pub committed_tps: f64,
    /// One full k256 recovery per transaction per node: single-thread rate × cores ÷ validators.
    pub ceiling_tps: f64,
    /// `committed_tps / ceiling_tps`.
    pub ratio: f64,
    /// Median latency from due time to the commit's head arriving, ms (transactions due in the window).
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// Transactions offered (whole run).
    pub submitted: usize,
    /// Transactions whose receipt says committed (whole run).
    pub committed: usize,
    /// Transactions a node refused.
    pub rejected: usize,
    /// Mean over nodes of CPU µs per committed transaction in the window.
    pub cpu_us_per_tx: Option<f64>,
    /// The workload.
    pub workload: Workload,
    /// Offered rate, transactions per second.
    pub offered_tps: f64,
    /// Validators of the network.
    pub validators: usize,
    /// Cores of this machine (the ceiling's multiplier).
    pub cores: usize,
    /// 90th percentile latency, ms.
    pub p90_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Transactions due in the window that never committed.
    pub uncommitted_in_window: usize,
    /// Transactions whose request failed as a whole.
    pub dropped: usize,
    /// Committed with a failed receipt.
    pub failed: usize,
    /// The most common refusal reasons with counts.
    pub rejections: BTreeMap<String, usize>,
    /// Every node's pool empty at the end.
    pub pools_drained: bool,
    /// Transactions in the blocks committed during the run (the benchmark's own plus `foreign_transactions`).
    pub chain_transactions: usize,
    /// Transactions of other clients in those blocks.
    pub foreign_transactions: usize,
    /// Blocks committed in the window.
    pub blocks: usize,
    /// Mean transactions per block in the window.
    pub block_txs_mean: f64,
    /// Largest block in the window.
    pub block_txs_max: usize,
    /// Median interval between blocks in the window, ms.
    pub block_interval_p50_ms: f64,
    /// Largest interval between blocks in the window, ms.
    pub block_interval_max_ms: f64,
    /// One k256 recovery (recover, then verify), µs, this run.
    pub k256_recovery_us: f64,
    /// One Accord recovery (no redundant verification), µs, this run.
    pub accord_recovery_us: f64,
    /// CPU seconds the benchmark itself used in the window.
    pub generator_cpu_seconds: Option<f64>,
    /// The benchmark's share of the machine's CPU in the window, percent.
    pub generator_cpu_pct: Option<f64>,
    /// Per node.
    pub nodes: Vec<NodeReport>,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1_000.0 }
}

/// Summarises `outcome`.
pub fn summarise(
    outcome: &Outcome,
    workload: Workload,
    validators: usize,
    urls: &[String],
    rates: RecoveryRates,
) -> RunReport {
    let cores = RecoveryRates::cores();
    let window_start = outcome.start + outcome.plan.warmup;
    let window_end = window_start + outcome.plan.duration;
    let in_window = |t: Instant| t >= window_start && t < window_end;
    let seconds = outcome.plan.duration.as_secs_f64();

    let committed_in_window = outcome.committed.iter().flatten().filter(|t| in_window(**t)).count();
    let committed_tps = committed_in_window as f64 / seconds;
    // Microseconds, 1 µs to 10 minutes, three significant digits.
    let mut latency = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds");
    let mut uncommitted_in_window = 0;
    for (due, committed) in outcome.due.iter().zip(&outcome.committed) {
        if !in_window(*due) {
            continue;
        }
        match committed {
            Some(c) => {
                let us = c.saturating_duration_since(*due).as_micros().clamp(1, 600_000_000) as u64;
                latency.saturating_record(us);
            }
            None => uncommitted_in_window += 1,
        }
    }
    let mut rejections = BTreeMap::new();
    let (mut rejected, mut dropped, mut submitted) = (0, 0, 0);
    for a in &outcome.answers {
        match a {
            Answer::Unsent => continue,
            Answer::Rejected(reason) => {
                rejected += 1;
                *rejections.entry(reason.clone()).or_insert(0) += 1;
            }
            Answer::Dropped(_) => dropped += 1,
            Answer::InFlight | Answer::Accepted => {}
        }
        submitted += 1;
    }
    let window_blocks: Vec<_> = outcome.blocks.iter().filter(|b| in_window(b.at)).collect();
    let block_txs_mean = if window_blocks.is_empty() {
        0.0
    } else {
        window_blocks.iter().map(|b| b.hashes.len()).sum::<usize>() as f64 / window_blocks.len() as f64
    };
    let mut intervals: Vec<f64> =
        window_blocks.windows(2).map(|w| w[1].at.saturating_duration_since(w[0].at).as_secs_f64() * 1e3).collect();
    intervals.sort_by(f64::total_cmp);
    let k256_us = 1e6 / rates.k256_per_sec;
    let nodes: Vec<NodeReport> = urls
        .iter()
        .zip(&outcome.nodes)
        .zip(&outcome.pools)
        .map(|((url, (a, b)), pool)| {
            let cpu = a.zip(*b).map(|(a, b)| b.cpu_seconds - a.cpu_seconds);
            let per_tx = cpu.filter(|_| committed_in_window > 0).map(|c| c * 1e6 / committed_in_window as f64);
            NodeReport {
                rpc: url.clone(),
                cpu_seconds: cpu,
                cpu_us_per_tx: per_tx,
                recoveries_per_tx: per_tx.map(|us| us / k256_us),
                peak_rss_mib: b.map(|s| s.peak_rss_bytes as f64 / (1024.0 * 1024.0)),
                pool_left: *pool,
            }
        })
        .collect();
    let per_tx: Vec<f64> = nodes.iter().filter_map(|n| n.cpu_us_per_tx).collect();
    let generator_cpu = outcome.generator.0.zip(outcome.generator.1).map(|(a, b)| b.cpu_seconds - a.cpu_seconds);
    let ceiling_tps = rates.ceiling_tps(validators);
    RunReport {
        committed_tps,
        ceiling_tps,
        ratio: committed_tps / ceiling_tps,
        p50_ms: ms(&latency, 0.5),
        p99_ms: ms(&latency, 0.99),
        submitted,
        committed: outcome.committed.iter().flatten().count(),
        rejected,
        cpu_us_per_tx: (!per_tx.is_empty()).then(|| per_tx.iter().sum::<f64>() / per_tx.len() as f64),
        workload,
        offered_tps: outcome.plan.rate,
        validators,
        cores,
        p90_ms: ms(&latency, 0.9),
        max_ms: if latency.is_empty() { 0.0 } else { latency.max() as f64 / 1_000.0 },
        uncommitted_in_window,
        dropped,
        failed: outcome.failed,
        rejections,
        pools_drained: outcome.pools.iter().all(|p| *p == Some(0)),
        chain_transactions: outcome.blocks.iter().map(|b| b.hashes.len()).sum(),
        foreign_transactions: outcome.foreign,
        blocks: window_blocks.len(),
        block_txs_mean,
        block_txs_max: window_blocks.iter().map(|b| b.hashes.len()).max().unwrap_or(0),
        block_interval_p50_ms: intervals.get(intervals.len() / 2).copied().unwrap_or(0.0),
        block_interval_max_ms: intervals.last().copied().unwrap_or(0.0),
        k256_recovery_us: k256_us,
        accord_recovery_us: 1e6 / rates.accord_per_sec,
        generator_cpu_seconds: generator_cpu,
        generator_cpu_pct: generator_cpu.map(|c| c * 100.0 / (seconds * cores as f64)),
        nodes,
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "n/a".into())
}

/// The human table of one run.
pub fn print(r: &RunReport) {
    println!();
    println!("workload {:?}, {} validators, offered {:.0} tx/s", r.workload, r.validators, r.offered_tps);
    println!("  committed TPS (window)     {:>10.1}", r.committed_tps);
    println!(
        "  ceiling TPS                {:>10.1}   (k256 recovery {:.0} µs × {} cores ÷ {} validators)",
        r.ceiling_tps, r.k256_recovery_us, r.cores, r.validators
    );
    println!("  ratio to ceiling           {:>10.2}", r.ratio);
    println!("  latency p50/p90/p99/max    {:.0} / {:.0} / {:.0} / {:.0} ms", r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
    println!(
        "  submitted {} · committed {} · rejected {} · dropped {} · failed {} · uncommitted in window {}",
        r.submitted, r.committed, r.rejected, r.dropped, r.failed, r.uncommitted_in_window
    );
    for (reason, n) in &r.rejections {
        println!("    refused {n}×: {reason}");
    }
    println!(
        "  blocks in window {} · txs/block mean {:.0} max {} · interval p50 {:.0} ms max {:.0} ms",
        r.blocks, r.block_txs_mean, r.block_txs_max, r.block_interval_p50_ms, r.block_interval_max_ms
    );
    println!(
        "  chain: {} transactions in the run's blocks ({} of other clients); pools drained: {}",
        r.chain_transactions, r.foreign_transactions, r.pools_drained
    );
    println!("  recovery: k256 {:.0} µs, Accord {:.0} µs (one thread)", r.k256_recovery_us, r.accord_recovery_us);
    println!(
        "  {:<28} {:>9} {:>11} {:>11} {:>10} {:>6}",
        "node", "CPU s", "CPU µs/tx", "recov./tx", "peak MiB", "pool"
    );
    for n in &r.nodes {
        println!(
            "  {:<28} {:>9} {:>11} {:>11} {:>10} {:>6}",
            n.rpc,
            opt(n.cpu_seconds, 1),
            opt(n.cpu_us_per_tx, 0),
            opt(n.recoveries_per_tx, 2),
            opt(n.peak_rss_mib, 0),
            n.pool_left.map(|p| p.to_string()).unwrap_or_else(|| "n/a".into())
        );
    }
    println!(
        "  load generator: {} CPU s in the window ({} % of the machine)",
        opt(r.generator_cpu_seconds, 1),
        opt(r.generator_cpu_pct, 0)
    );
}
