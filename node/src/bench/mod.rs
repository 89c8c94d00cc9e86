//! `accord bench`: committed throughput and latency of a network under an open-loop load, judged against the
//! ceiling measured in the same run (one full k256 sender recovery per transaction per node, on this machine's
//! cores), because these machines vary about 2× from day to day and only same-run ratios mean anything.
//!
//! Before the clock starts it creates and funds the accounts and pre-signs every transaction. Then it offers
//! them at a fixed rate (`--rate`, or each of `--sweep`), times each from its due moment to the arrival of the
//! head committing it, confirms every commit by its receipt, waits for the pools to drain, and reports.

pub mod ceiling;
pub mod load;
pub mod network;
pub mod process;
pub mod report;
pub mod rpc;
pub mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use self::load::Plan;
use self::report::RunReport;
use self::rpc::Node;
use self::workload::Workload;

/// `accord bench` options.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Start a network of N validators in a temp dir for the run (killed afterwards).
    #[arg(long, value_name = "N", conflicts_with = "rpc", required_unless_present = "rpc")]
    pub local: Option<usize>,
    /// Drive a running network: its nodes' JSON-RPC URLs, comma-separated (each sender's transactions go to one).
    #[arg(long, value_name = "URL,…")]
    pub rpc: Option<String>,
    /// With --rpc: a funded account's hex secret key file, to fund the benchmark's accounts (repeatable).
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// With --rpc: the nodes' process ids on this machine, in --rpc order, to report their CPU and memory.
    #[arg(long, value_name = "PID,…", value_delimiter = ',')]
    pub pids: Vec<u32>,
    /// With --rpc: how many validators the network has (the ceiling divides by it); default: one per URL.
    #[arg(long)]
    pub validators: Option<usize>,
    /// What each transaction does.
    #[arg(long, value_enum, default_value_t = Workload::Transfer)]
    pub workload: Workload,
    /// Offered load, transactions per second (default: 0.8 × the ceiling measured at start).
    #[arg(long, conflicts_with = "sweep")]
    pub rate: Option<f64>,
    /// Run once per offered rate, in order (comma-separated, tx/s), on the same network.
    #[arg(long, value_delimiter = ',', value_name = "RATE,…")]
    pub sweep: Vec<f64>,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Seconds of load before the window.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Seconds to wait for the last transactions to commit after the offer ends.
    #[arg(long, default_value_t = 60)]
    pub drain: u64,
    /// Sending accounts (transactions are spread over them round-robin).
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// With --local: keep the nodes' homes and logs (printed at the end) instead of deleting them.
    #[arg(long)]
    pub keep: bool,
    /// Write the report as JSON (a sweep: every run under `runs`, the peak run's fields at the top).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Runs the benchmark and prints its table(s). Interrupted (Ctrl-C, SIGTERM), it stops the nodes it started.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    tokio::select! {
        result = run_to_end(args) => result,
        _ = crate::service::shutdown_signal() => anyhow::bail!("interrupted; the nodes it started are stopped"),
    }
}

async fn run_to_end(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.duration > 0, "--duration must be at least 1 second");
    anyhow::ensure!(args.accounts > 0, "--accounts must be at least 1");
    anyhow::ensure!(args.rate.is_none_or(|r| r > 0.0) && args.sweep.iter().all(|r| *r > 0.0), "rates must be positive");
    eprintln!("measuring the ceiling: single-thread sender recovery on this machine …");
    let rates = tokio::task::spawn_blocking(|| ceiling::measure(Duration::from_secs(3))).await?;
    let mut target = match (args.local, &args.rpc) {
        (Some(n), _) => {
            eprintln!("starting {n} validators …");
            network::start_local(n, 10, args.keep).await?
        }
        (None, Some(urls)) => network::remote(urls, &args.key, &args.pids, args.validators)?,
        (None, None) => anyhow::bail!("give --local N or --rpc URL,…"),
    };
    let ceiling = rates.ceiling_tps(target.validators);
    let plan_rates: Vec<f64> =
        if !args.sweep.is_empty() { args.sweep.clone() } else { vec![args.rate.unwrap_or((ceiling * 0.8).round())] };
    let plans: Vec<Plan> = plan_rates
        .iter()
        .map(|&rate| Plan {
            rate,
            warmup: Duration::from_secs(args.warmup),
            duration: Duration::from_secs(args.duration),
            drain: Duration::from_secs(args.drain),
        })
        .collect();
    let total: usize = plans.iter().map(Plan::transactions).sum();
    let nodes = target.rpc.iter().map(|u| Node::new(u)).collect::<anyhow::Result<Vec<_>>>()?;
    let accounts = args.accounts.min(total.max(1));
    let txs_each = total.div_ceil(accounts) as u64;
    eprintln!("funding {accounts} accounts for {total} {:?} transactions …", args.workload);
    let mut prepared = workload::prepare(&nodes[0], &target.funders, accounts, txs_each, args.workload)
        .await
        .with_context(|| match &target.local {
            Some(l) => format!("setting up (node logs in {})", l.dir().display()),
            None => "setting up".into(),
        })?;
    let mut reports: Vec<RunReport> = Vec::new();
    for plan in plans {
        eprintln!("pre-signing {} transactions for {:.0} tx/s …", plan.transactions(), plan.rate);
        let txs = tokio::task::block_in_place(|| workload::presign(&mut prepared, plan.transactions()))?;
        let bar = indicatif::ProgressBar::new(txs.len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} committed · {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let outcome = load::run(plan, &nodes, &target.pids, &txs, &bar).await;
        bar.finish_and_clear();
        if let Some(local) = target.local.as_mut() {
            local.check_alive()?;
        }
        let report = report::summarise(&outcome?, args.workload, target.validators, &target.rpc, rates);
        report::print(&report);
        reports.push(report);
    }
    if let Some(path) = &args.json {
        let json = match reports.as_slice() {
            [one] => serde_json::to_value(one)?,
            runs => {
                let peak = runs.iter().max_by(|a, b| a.committed_tps.total_cmp(&b.committed_tps));
                let mut top = peak.map(serde_json::to_value).transpose()?.unwrap_or_default();
                top["runs"] = serde_json::to_value(runs)?;
                top
            }
        };
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    drop(target);
    Ok(())
}
