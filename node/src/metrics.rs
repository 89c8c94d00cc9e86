//! Prometheus metrics and the `/metrics`, `/healthz`, `/readyz` HTTP endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The node's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Height of the committed head.
    pub height: IntGauge,
    /// Transactions committed since start.
    pub txs_committed: IntCounter,
    /// Transactions in the mempool.
    pub mempool_size: IntGauge,
    /// Seconds to execute, root and durably write a block.
    pub block_commit_seconds: Histogram,
    /// Transactions refused at the RPC, by reason.
    pub txs_rejected: IntCounterVec,
    /// Height consensus is deciding (head + 1 on a validator that is in step).
    pub consensus_height: IntGauge,
    /// View (round) of the height being decided; above 0 only after view changes.
    pub consensus_view: IntGauge,
    /// View changes this validator went through.
    pub consensus_view_changes: IntCounter,
    /// Seconds from the start of a height to its commit.
    pub consensus_round_seconds: Histogram,
    /// Connected consortium members.
    pub peers: IntGauge,
    /// Connections refused because the peer is not on the node list.
    pub peers_refused: IntCounter,
    /// 1 while block sync is catching up with a peer, else 0.
    pub syncing: IntGauge,
    /// Highest head height seen at a peer.
    pub sync_target_height: IntGauge,
    /// Highest head at least f + 1 members claim: some honest member has it (readiness measures against it).
    pub sync_agreed_height: IntGauge,
    /// Blocks committed by block sync.
    pub sync_blocks: IntCounter,
    /// Consensus messages that arrived from members, before any check: with `consensus_dropped`, the share of
    /// traffic that was useful.
    pub consensus_received: IntCounter,
    /// Consensus messages not acted on, by reason (rate limits, queues, stale, faulty).
    pub consensus_dropped: IntCounterVec,
    /// Protocol violations attributed to a peer, by kind.
    pub peer_strikes: IntCounterVec,
    /// Peers disconnected and refused for a while after too many violations.
    pub peers_banned: IntCounter,
    /// Validators caught signing two blocks in one view.
    pub equivocations: IntCounter,
    /// Idle-leader heartbeats sent.
    pub heartbeats: IntCounter,
    /// Changes of the node lists this node followed.
    pub membership_changes: IntCounter,
    /// Validators of the next block.
    pub validators: IntGauge,
    /// Observers of the next block.
    pub observers: IntGauge,
    /// Governance events in committed blocks, by event (`created`, `passed`, `denied`, `revoked`).
    pub proposals: IntCounterVec,
    /// Gas of committed blocks: the work the contract engine and the transfers did.
    pub gas_used: IntCounter,
    /// Seconds to answer a JSON-RPC call, by method (`rpc::observe`).
    pub rpc_seconds: HistogramVec,
    /// JSON-RPC calls answered with an error, by method.
    pub rpc_errors: IntCounterVec,
    /// Families that have labels: declared in `/metrics` before their first sample, so scrapers and dashboards see
    /// every metric from the start.
    labelled: Arc<Vec<LabelledFamily>>,
    readiness: Arc<Readiness>,
}

/// A family with labels, as its `# HELP` and `# TYPE` lines declare it.
#[derive(Debug)]
struct LabelledFamily {
    name: String,
    help: String,
    kind: &'static str,
}

impl LabelledFamily {
    fn of(collector: &dyn prometheus::core::Collector, kind: &'static str) -> Vec<Self> {
        collector.desc().iter().map(|d| Self { name: d.fq_name.clone(), help: d.help.clone(), kind }).collect()
    }
}

/// Blocks a node may trail the head at least f + 1 members report and still answer `/readyz` with 200: a few blocks
/// worth of gossip and sync round trips on a healthy network.
pub const DEFAULT_READY_MAX_LAG: u64 = 5;

/// What `/readyz` checks: started, connected to a member when the node cannot progress alone, and within
/// `max_lag` blocks of the head at least f + 1 members report.
#[derive(Debug, Default)]
struct Readiness {
    started: AtomicBool,
    needs_peers: AtomicBool,
    max_lag: AtomicU64,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let height = IntGauge::new("accord_height", "Height of the committed head")?;
        let txs_committed = IntCounter::new("accord_txs_committed_total", "Transactions committed")?;
        let mempool_size = IntGauge::new("accord_mempool_size", "Transactions waiting in the mempool")?;
        let block_commit_seconds = Histogram::with_opts(
            HistogramOpts::new("accord_block_commit_seconds", "Seconds to execute, root and durably commit a block")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        )?;
        let txs_rejected = IntCounterVec::new(
            Opts::new("accord_txs_rejected_total", "Transactions refused at submission, by reason"),
            &["reason"],
        )?;
        let consensus_height = IntGauge::new("accord_consensus_height", "Height consensus is deciding")?;
        let consensus_view = IntGauge::new("accord_consensus_view", "View (round) of the height being decided")?;
        let consensus_view_changes =
            IntCounter::new("accord_consensus_view_changes_total", "View changes this validator went through")?;
        let consensus_round_seconds = Histogram::with_opts(
            HistogramOpts::new("accord_consensus_round_seconds", "Seconds from the start of a height to its commit")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )?;
        let peers = IntGauge::new("accord_peers", "Connected consortium members")?;
        let peers_refused =
            IntCounter::new("accord_peers_refused_total", "Connections refused: peer is not on the node list")?;
        let syncing = IntGauge::new("accord_sync_status", "1 while block sync is catching up with a peer, else 0")?;
        let sync_target_height = IntGauge::new("accord_sync_target_height", "Highest head height seen at a peer")?;
        let sync_agreed_height = IntGauge::new(
            "accord_sync_agreed_height",
            "Highest head at least f+1 members claim (some honest member has it)",
        )?;
        let sync_blocks = IntCounter::new("accord_sync_blocks_total", "Blocks committed by block sync")?;
        let consensus_received = IntCounter::new(
            "accord_consensus_messages_received_total",
            "Consensus messages that arrived from members",
        )?;
        let consensus_dropped = IntCounterVec::new(
            Opts::new("accord_consensus_messages_dropped_total", "Consensus messages not acted on, by reason"),
            &["reason"],
        )?;
        let peer_strikes = IntCounterVec::new(
            Opts::new("accord_peer_strikes_total", "Protocol violations attributed to a member, by kind"),
            &["reason"],
        )?;
        let peers_banned =
            IntCounter::new("accord_peers_banned_total", "Members disconnected for a while after repeated violations")?;
        let equivocations = IntCounter::new(
            "accord_consensus_equivocations_total",
            "Validators caught voting for two blocks in a view",
        )?;
        let heartbeats = IntCounter::new("accord_consensus_heartbeats_total", "Heartbeats sent as an idle leader")?;
        let membership_changes = IntCounter::new(
            "accord_membership_changes_total",
            "Changes of the validator or observer list this node followed",
        )?;
        let validators = IntGauge::new("accord_validators", "Validators of the next block")?;
        let observers = IntGauge::new("accord_observers", "Observers of the next block")?;
        let proposals = IntCounterVec::new(
            Opts::new("accord_governance_proposals_total", "Governance proposal events in committed blocks, by event"),
            &["event"],
        )?;
        registry.register(Box::new(proposals.clone()))?;
        let gas_used = IntCounter::new("accord_gas_used_total", "Gas of committed blocks")?;
        registry.register(Box::new(gas_used.clone()))?;
        let rpc_seconds = HistogramVec::new(
            HistogramOpts::new("accord_rpc_request_duration_seconds", "Seconds to answer a JSON-RPC call, by method")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
            &["method"],
        )?;
        registry.register(Box::new(rpc_seconds.clone()))?;
        let rpc_errors = IntCounterVec::new(
            Opts::new("accord_rpc_errors_total", "JSON-RPC calls answered with an error, by method"),
            &["method"],
        )?;
        registry.register(Box::new(rpc_errors.clone()))?;
        for m in [
            &consensus_height,
            &consensus_view,
            &peers,
            &syncing,
            &sync_target_height,
            &sync_agreed_height,
            &validators,
            &observers,
        ] {
            registry.register(Box::new(m.clone()))?;
        }
        for m in [
            &consensus_view_changes,
            &peers_refused,
            &sync_blocks,
            &peers_banned,
            &equivocations,
            &heartbeats,
            &consensus_received,
            &membership_changes,
        ] {
            registry.register(Box::new(m.clone()))?;
        }
        registry.register(Box::new(consensus_round_seconds.clone()))?;
        registry.register(Box::new(height.clone()))?;
        registry.register(Box::new(txs_committed.clone()))?;
        registry.register(Box::new(mempool_size.clone()))?;
        registry.register(Box::new(block_commit_seconds.clone()))?;
        registry.register(Box::new(txs_rejected.clone()))?;
        registry.register(Box::new(consensus_dropped.clone()))?;
        registry.register(Box::new(peer_strikes.clone()))?;
        let labelled = [
            LabelledFamily::of(&txs_rejected, "counter"),
            LabelledFamily::of(&consensus_dropped, "counter"),
            LabelledFamily::of(&peer_strikes, "counter"),
            LabelledFamily::of(&proposals, "counter"),
            LabelledFamily::of(&rpc_errors, "counter"),
            LabelledFamily::of(&rpc_seconds, "histogram"),
        ]
        .into_iter()
        .flatten()
        .collect();
        Ok(Self {
            registry,
            gas_used,
            rpc_seconds,
            rpc_errors,
            labelled: Arc::new(labelled),
            height,
            txs_committed,
            mempool_size,
            block_commit_seconds,
            txs_rejected,
            consensus_height,
            consensus_view,
            consensus_view_changes,
            consensus_round_seconds,
            peers,
            peers_refused,
            syncing,
            sync_target_height,
            sync_agreed_height,
            sync_blocks,
            consensus_received,
            consensus_dropped,
            peer_strikes,
            peers_banned,
            equivocations,
            heartbeats,
            membership_changes,
            validators,
            observers,
            proposals,
            readiness: Arc::new(Readiness { max_lag: AtomicU64::new(DEFAULT_READY_MAX_LAG), ..Readiness::default() }),
        })
    }

    /// Marks the node started (or stopping): `/readyz` answers 200 from then on while the node has the peers it
    /// needs and keeps up with the chain.
    pub fn set_ready(&self, ready: bool) {
        self.readiness.started.store(ready, Ordering::SeqCst);
    }

    /// Sets what ready means beyond started: `needs_peers` for a node that cannot commit alone (any node but the
    /// sole validator), and the most blocks it may trail the head at least f + 1 members report.
    pub fn set_ready_rules(&self, needs_peers: bool, max_lag: u64) {
        self.readiness.needs_peers.store(needs_peers, Ordering::SeqCst);
        self.readiness.max_lag.store(max_lag, Ordering::SeqCst);
    }

    /// Why the node is not ready to serve, or `None` when it is: what `/readyz` answers.
    pub fn not_ready(&self) -> Option<String> {
        let r = &self.readiness;
        if !r.started.load(Ordering::SeqCst) {
            return Some("starting".into());
        }
        if r.needs_peers.load(Ordering::SeqCst) && self.peers.get() == 0 {
            return Some("no consortium member connected".into());
        }
        let (head, best) = (self.height.get(), self.sync_agreed_height.get());
        let behind = best.saturating_sub(head);
        if behind > 0 && behind as u64 > r.max_lag.load(Ordering::SeqCst) {
            return Some(format!("{behind} blocks behind the head the members report ({best}): syncing"));
        }
        None
    }

    /// The text exposition of every metric. A labelled family without a sample yet (no refusal, no RPC call so
    /// far) is still declared with its `# HELP` and `# TYPE` lines, which the format allows.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        let families = self.registry.gather();
        if encoder.encode(&families, &mut buf).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(buf).unwrap_or_default();
        for f in self.labelled.iter().filter(|f| !families.iter().any(|g| g.name() == f.name)) {
            text += &format!("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.kind);
        }
        text
    }

    /// Records one JSON-RPC call (`rpc::observe`): its method label, how long it took, whether it failed.
    pub fn observe_rpc(&self, method: &str, took: std::time::Duration, failed: bool) {
        self.rpc_seconds.with_label_values(&[method]).observe(took.as_secs_f64());
        if failed {
            self.rpc_errors.with_label_values(&[method]).inc();
        }
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let (status, body) = match path {
            "/metrics" => (StatusCode::OK, self.render()),
            "/healthz" => (StatusCode::OK, "ok\n".to_string()),
            "/readyz" => match self.not_ready() {
                None => (StatusCode::OK, "ready\n".to_string()),
                Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
            },
            _ => (StatusCode::NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n".to_string()),
        };
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        resp
    }

    /// Binds the endpoint and serves it until the task is dropped.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let handle = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let me = self.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let resp = me.respond(req.uri().path());
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        Ok((local, handle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_families_are_declared_before_their_first_sample() {
        let m = Metrics::new().expect("registers");
        let text = m.render();
        assert!(text.contains("# TYPE accord_txs_rejected_total counter\n"), "{text}");
        assert!(text.contains("# TYPE accord_rpc_request_duration_seconds histogram\n"), "{text}");
        assert!(!text.contains("accord_rpc_request_duration_seconds_bucket"), "no sample yet");
        m.observe_rpc("eth_blockNumber", std::time::Duration::from_millis(2), false);
        m.observe_rpc("eth_call", std::time::Duration::from_millis(2), true);
        let text = m.render();
        assert_eq!(text.matches("# TYPE accord_rpc_request_duration_seconds histogram").count(), 1, "declared once");
        assert!(text.contains("accord_rpc_request_duration_seconds_count{method=\"eth_blockNumber\"} 1"), "{text}");
        assert!(text.contains("accord_rpc_errors_total{method=\"eth_call\"} 1"), "{text}");
        assert!(!text.contains("accord_rpc_errors_total{method=\"eth_blockNumber\"}"));
    }

    #[test]
    fn ready_means_started_connected_and_in_step() {
        let m = Metrics::new().expect("registers");
        assert_eq!(m.not_ready().as_deref(), Some("starting"));
        m.set_ready(true);
        assert_eq!(m.not_ready(), None, "a sole validator needs no peer");
        m.set_ready_rules(true, 5);
        assert_eq!(m.not_ready().as_deref(), Some("no consortium member connected"));
        m.peers.set(2);
        assert_eq!(m.not_ready(), None);
        m.height.set(100);
        m.sync_agreed_height.set(105);
        assert_eq!(m.not_ready(), None, "5 blocks behind is within the lag");
        m.sync_agreed_height.set(106);
        assert!(m.not_ready().expect("behind").starts_with("6 blocks behind"), "{:?}", m.not_ready());
        let resp = m.respond("/readyz");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        m.height.set(106);
        assert_eq!(m.respond("/readyz").status(), StatusCode::OK);
        m.set_ready(false);
        assert_eq!(m.respond("/readyz").status(), StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
}
