//! What stands between the server and a hostile web: request logs that
//! carry no secret, the page's security headers, and in demo mode a refusal
//! of any `Host` that is not a loopback name.
//!
//! - The request log records the method and the **path only**: a query
//!   string can hold a token (`GET /ws?token=…`; browsers cannot put one in
//!   a header on the upgrade), and whoever reads a log must not be able to
//!   act as the user.
//! - In demo mode the token is the user id, which is safe only because only
//!   local programs can reach a loopback server. A web page in the user's
//!   browser is a local program too: through DNS rebinding
//!   (`evil.example` resolving to 127.0.0.1) it would reach the API as
//!   same-origin. Its requests carry `Host: evil.example`, so refusing every
//!   `Host` that is not a loopback name closes that door.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Span;

/// The span of one request: method and path, never the query string.
pub(crate) fn request_span(request: &Request) -> Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// The page's Content-Security-Policy: everything from the server itself,
/// no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: https:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// Headers on every response: no MIME sniffing, no framing, no referrer,
/// and the page's CSP.
pub(crate) fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    [
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
    ]
}

/// Demo mode: refuses requests whose `Host` is not a loopback name or
/// address (421 Misdirected Request, in the API's error shape).
pub(crate) async fn loopback_hosts_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    if is_loopback_host(host) {
        return next.run(request).await;
    }
    let body = serde_json::json!({"error": {
        "code": "misdirected",
        "message": format!(
            "host {host:?} is not served: in demo mode only loopback names \
             (localhost, 127.0.0.1, [::1]) are; set a secret to serve other hosts"
        ),
        "retryable": false,
    }});
    (StatusCode::MISDIRECTED_REQUEST, axum::Json(body)).into_response()
}

/// `localhost`, `*.localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(bracketed) = host.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((address, rest)) if rest.is_empty() || rest.starts_with(':') => address.to_owned(),
            _ => return false,
        }
    } else {
        host.rsplit_once(':')
            .map_or(host.as_str(), |(name, _port)| name)
            .to_owned()
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_and_others_do_not() {
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:80",
            "app.localhost:3000",
            "[::1]:8080",
            "[::1]",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(host), "{host} refused");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:80",
            "[::1]x",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host} passed");
        }
    }
}
