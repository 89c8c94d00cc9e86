//! Bounds on what one client can make the node do: batch size, concurrent expensive calls, subscriptions. Each
//! refusal is a -32005 error whose message names the `[rpc]` setting that bounds it, so an operator knows what to
//! raise and a client knows what it hit.

use std::collections::HashMap;
use std::sync::Arc;

use jsonrpsee::server::middleware::rpc::{Batch, MethodResponse, Notification, Request, RpcServiceT};
use jsonrpsee::types::{ErrorObjectOwned, Id};
use parking_lot::Mutex;

use super::error::{LIMIT_EXCEEDED, rpc_error};

/// Refuses a batch with more than `max` calls before any of them runs. jsonrpsee's own limit answers with code
/// -32010, which is Accord's code for a malformed transaction, and does not say which setting to change.
#[derive(Debug, Clone)]
pub struct BatchLimit<S> {
    service: S,
    max: usize,
}

impl<S> BatchLimit<S> {
    /// Wraps `service`.
    pub fn new(service: S, max: usize) -> Self {
        Self { service, max }
    }
}

impl<S> RpcServiceT for BatchLimit<S>
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
        self.service.call(request)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let (service, max, len) = (self.service.clone(), self.max, batch.len());
        async move {
            if len > max {
                let e = rpc_error(
                    LIMIT_EXCEEDED,
                    format!("batch of {len} calls exceeds rpc.max_batch_size ({max}); split it"),
                    Some("batch_too_large"),
                );
                return MethodResponse::error(Id::Null, e);
            }
            service.batch(batch).await
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(n)
    }
}

/// A permit of `semaphore`, or a busy error naming `setting`: for calls that can each burn a bounded but large
/// amount of CPU or I/O, so that a few clients cannot occupy every blocking thread.
pub fn permit<'a>(
    semaphore: &'a tokio::sync::Semaphore,
    what: &str,
    setting: &str,
) -> Result<tokio::sync::SemaphorePermit<'a>, ErrorObjectOwned> {
    semaphore.try_acquire().map_err(|_| {
        rpc_error(LIMIT_EXCEEDED, format!("too many {what} running (rpc.{setting}); try again"), Some("busy"))
    })
}

/// Counts of something clients hold (subscriptions, filters) per connection and in total.
#[derive(Debug)]
pub struct Quota {
    what: &'static str,
    per_connection_setting: &'static str,
    total_setting: &'static str,
    per_connection: usize,
    total: usize,
    held: Mutex<(usize, HashMap<usize, usize>)>,
}

/// One held unit of a [`Quota`]; given back when dropped.
#[derive(Debug)]
pub struct QuotaSlot {
    quota: Arc<Quota>,
    connection: usize,
}

impl Drop for QuotaSlot {
    fn drop(&mut self) {
        self.quota.release(self.connection);
    }
}

impl Quota {
    /// A quota of `per_connection` per connection and `total` in all, whose errors name the two settings.
    pub fn new(
        what: &'static str,
        (per_connection_setting, per_connection): (&'static str, u32),
        (total_setting, total): (&'static str, u32),
    ) -> Arc<Self> {
        Arc::new(Self {
            what,
            per_connection_setting,
            total_setting,
            per_connection: per_connection as usize,
            total: total as usize,
            held: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes one unit for `connection`, or says which bound is reached.
    pub fn acquire(self: &Arc<Self>, connection: usize) -> Result<QuotaSlot, ErrorObjectOwned> {
        let mut held = self.held.lock();
        let (total, per) = &mut *held;
        let mine = per.get(&connection).copied().unwrap_or(0);
        if mine >= self.per_connection {
            return Err(self.refusal(self.per_connection_setting, self.per_connection, "on this connection"));
        }
        if *total >= self.total {
            return Err(self.refusal(self.total_setting, self.total, "on this node"));
        }
        *total += 1;
        per.insert(connection, mine + 1);
        Ok(QuotaSlot { quota: Arc::clone(self), connection })
    }

    /// Units held in all.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.lock().0
    }

    fn release(&self, connection: usize) {
        let mut held = self.held.lock();
        let (total, per) = &mut *held;
        *total = total.saturating_sub(1);
        if let Some(n) = per.get_mut(&connection) {
            *n -= 1;
            if *n == 0 {
                per.remove(&connection);
            }
        }
    }

    fn refusal(&self, setting: &str, limit: usize, scope: &str) -> ErrorObjectOwned {
        rpc_error(
            LIMIT_EXCEEDED,
            format!("too many {}: {limit} {scope} (rpc.{setting}); remove one first", self.what),
            Some("too_many"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_bounds_each_connection_and_the_total_and_frees_on_drop() {
        let q = Quota::new("filters", ("max_filters_per_connection", 2), ("max_filters", 3));
        let a1 = q.acquire(1).expect("first");
        let _a2 = q.acquire(1).expect("second");
        let e = q.acquire(1).expect_err("third on one connection");
        assert!(e.message().contains("rpc.max_filters_per_connection"), "{}", e.message());
        let _b1 = q.acquire(2).expect("another connection");
        let e = q.acquire(3).expect_err("the node's total");
        assert!(e.message().contains("rpc.max_filters"), "{}", e.message());
        assert_eq!(e.code(), LIMIT_EXCEEDED);
        drop(a1);
        assert_eq!(q.held(), 2);
        q.acquire(3).expect("a freed unit is available again");
    }
}
