//! The block explorer page, served by the node itself at `/explorer` on its JSON-RPC port: one static page whose
//! script reads everything through the same port's JSON-RPC (no separate service, no build step). Every other
//! request goes on to the JSON-RPC server untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

/// The page: HTML, CSS and script in one file, compiled into the binary.
pub const PAGE: &str = include_str!("explorer.html");

/// Where the page is served.
pub const PATH: &str = "/explorer";

/// The HTTP middleware layer that answers `GET /explorer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExplorerLayer;

impl<S> Layer<S> for ExplorerLayer {
    type Service = Explorer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Explorer { inner }
    }
}

/// Answers `GET /explorer` with [`PAGE`] and passes everything else to `inner`.
#[derive(Debug, Clone)]
pub struct Explorer<S> {
    inner: S,
}

fn page() -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(PAGE));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-cache"));
    // The page talks to its own origin only; it loads nothing from anywhere else.
    headers.insert(
        CONTENT_SECURITY_POLICY,
        hyper::header::HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        ),
    );
    response
}

impl<S> Service<HttpRequest> for Explorer<S>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        let path = request.uri().path();
        if request.method() == Method::GET && (path == PATH || path == "/explorer/") {
            return Box::pin(std::future::ready(Ok(page())));
        }
        Box::pin(self.inner.call(request))
    }
}
