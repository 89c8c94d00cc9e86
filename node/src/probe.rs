//! `accord health`: asks a node's `/readyz` (or `/healthz`) from the command line, for container health checks and
//! scripts. The images hold no shell and no curl: the node binary probes itself.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

/// What a probe can fail on, each with what to check.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not `http://HOST:PORT/PATH`.
    #[error("'{0}' is not an http://HOST:PORT/PATH URL")]
    BadUrl(String),
    /// Nothing answered in time.
    #[error("no answer from {url} within {secs} s")]
    Timeout {
        /// The URL asked.
        url: String,
        /// The time allowed.
        secs: u64,
    },
    /// The connection or the HTTP exchange failed.
    #[error("cannot reach {url}: {detail} (is the node running, and is this its [metrics] listen address?)")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The node answered, but not 200: the body says why (`not ready: syncing`, …).
    #[error("{url} answered {status}: {body}")]
    NotReady {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body, trimmed.
        body: String,
    },
}

/// GETs `url` and returns the body of a 200 answer; any other status is [`ProbeError::NotReady`].
pub async fn probe(url: &str, timeout: Duration) -> Result<String, ProbeError> {
    let secs = timeout.as_secs();
    tokio::time::timeout(timeout, get(url)).await.map_err(|_| ProbeError::Timeout { url: url.to_string(), secs })?
}

async fn get(url: &str) -> Result<String, ProbeError> {
    let uri: Uri = url.parse().map_err(|_| ProbeError::BadUrl(url.to_string()))?;
    let (Some("http"), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(ProbeError::BadUrl(url.to_string()));
    };
    let port = uri.port_u16().unwrap_or(80);
    let unreachable = |detail: String| ProbeError::Unreachable { url: url.to_string(), detail };
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| unreachable(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| unreachable(e.to_string()))?;
    let status = response.status();
    // Health answers are a line; a larger body is cut off rather than read whole.
    let body = response.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?.to_bytes();
    driver.abort();
    let body = String::from_utf8_lossy(&body[..body.len().min(4096)]).trim().to_string();
    if status.is_success() {
        Ok(body)
    } else {
        Err(ProbeError::NotReady { url: url.to_string(), status: status.as_u16(), body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[tokio::test]
    async fn answers_what_readyz_says() {
        let m = Metrics::new().expect("registers");
        let (addr, task) = m.clone().serve("127.0.0.1:0".parse().expect("addr")).await.expect("serves");
        let url = format!("http://{addr}/readyz");
        let err = probe(&url, Duration::from_secs(5)).await.expect_err("starting");
        assert!(
            matches!(&err, ProbeError::NotReady { status: 503, body, .. } if body == "not ready: starting"),
            "{err}"
        );
        m.set_ready(true);
        assert_eq!(probe(&url, Duration::from_secs(5)).await.expect("ready"), "ready");
        assert_eq!(probe(&format!("http://{addr}/healthz"), Duration::from_secs(5)).await.expect("live"), "ok");
        task.abort();
        let _ = task.await;
        let err = probe(&url, Duration::from_secs(5)).await.expect_err("gone");
        assert!(matches!(err, ProbeError::Unreachable { .. }), "{err}");
        assert!(matches!(probe("https://x/readyz", Duration::from_secs(1)).await, Err(ProbeError::BadUrl(_))));
    }
}
