//! Per-method JSON-RPC metrics: `accord_rpc_request_duration_seconds{method}` and `accord_rpc_errors_total{method}`.
//! The label is the method's name only when the server serves that method; anything else a client sends counts as
//! `unknown`, so no client can grow the metric's series without bound.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use jsonrpsee::server::middleware::rpc::{Batch, MethodResponse, Notification, Request, RpcServiceT};

use crate::metrics::Metrics;

/// The label of calls to methods the server does not serve.
pub const UNKNOWN_METHOD: &str = "unknown";

/// The label of a whole batch (its calls are timed together).
pub const BATCH: &str = "batch";

/// RPC middleware that times each call and counts its errors by method.
#[derive(Clone)]
pub struct RpcMetrics<S> {
    service: S,
    metrics: Metrics,
    served: Arc<HashSet<&'static str>>,
}

impl<S> RpcMetrics<S> {
    /// Wraps `service`; `served` are the method names the server registers.
    pub fn new(service: S, metrics: Metrics, served: Arc<HashSet<&'static str>>) -> Self {
        Self { service, metrics, served }
    }
}

impl<S> RpcServiceT for RpcMetrics<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        // The registered name itself (static): no allocation per call on the hot path.
        let method: &'static str = self.served.get(request.method_name()).copied().unwrap_or(UNKNOWN_METHOD);
        let (service, metrics) = (self.service.clone(), self.metrics.clone());
        async move {
            let started = Instant::now();
            let response = service.call(request).await;
            metrics.observe_rpc(method, started.elapsed(), response.is_error());
            response
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let (service, metrics) = (self.service.clone(), self.metrics.clone());
        async move {
            let started = Instant::now();
            let response = service.batch(batch).await;
            metrics.observe_rpc(BATCH, started.elapsed(), response.is_error());
            response
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(n)
    }
}
