//! Prometheus metrics and the `/metrics`, `/healthz`, `/readyz` HTTP endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

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
    ready: Arc<AtomicBool>,
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
        registry.register(Box::new(height.clone()))?;
        registry.register(Box::new(txs_committed.clone()))?;
        registry.register(Box::new(mempool_size.clone()))?;
        registry.register(Box::new(block_commit_seconds.clone()))?;
        registry.register(Box::new(txs_rejected.clone()))?;
        Ok(Self {
            registry,
            height,
            txs_committed,
            mempool_size,
            block_commit_seconds,
            txs_rejected,
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Marks the node ready to serve (`/readyz` turns 200).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let (status, body) = match path {
            "/metrics" => (StatusCode::OK, self.render()),
            "/healthz" => (StatusCode::OK, "ok\n".to_string()),
            "/readyz" if self.ready.load(Ordering::SeqCst) => (StatusCode::OK, "ready\n".to_string()),
            "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "starting\n".to_string()),
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
