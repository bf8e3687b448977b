//! Which web pages may talk to the chat API from a browser.
//!
//! Browsers attach no `Authorization` header to a WebSocket, so the token
//! travels in the URL, and any page the user visits could open a socket to
//! the chat server with a token it knows or guesses (in the standalone
//! server's demo mode, the token is the user id). Browsers do send `Origin`
//! on every WebSocket upgrade, and pages cannot forge it: the upgrade is
//! refused unless the page comes from the server's own origin (the `Origin`
//! names the request's `Host`) or from an origin the host allowed. A client
//! that sends no `Origin` at all is not a browser and is let through (its
//! token is its only credential, as over REST). The same list, when not
//! empty, is what CORS allows for REST calls from other origins.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use chat_engine::ChatError;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins allowed besides the server's own, normalised
/// (`scheme://host[:port]`, lower case, default port dropped).
#[derive(Clone, Debug, Default)]
pub(crate) struct Origins {
    allowed: Vec<String>,
}

impl Origins {
    pub(crate) fn new(allowed: impl IntoIterator<Item = String>) -> Self {
        Self {
            allowed: allowed
                .into_iter()
                .filter_map(|origin| normalise(&origin))
                .collect(),
        }
    }

    /// Refuses a browser upgrade from a foreign page.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), ChatError> {
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(()); // not a browser
        };
        let origin = origin.to_str().unwrap_or_default();
        let refused = || {
            ChatError::Forbidden(format!(
                "pages from origin {origin:?} may not open this WebSocket; \
                 the server allows its own origin and the ones it was configured with"
            ))
        };
        let normalised = normalise(origin).ok_or_else(refused)?;
        let host = headers.get(HOST).and_then(|host| host.to_str().ok());
        let same_origin = host.is_some_and(|host| authority_matches(&normalised, host));
        if same_origin || self.allowed.contains(&normalised) {
            Ok(())
        } else {
            Err(refused())
        }
    }

    /// CORS for REST calls from the allowed origins, or `None` (no CORS at
    /// all: browsers refuse cross-origin reads) when none are allowed.
    pub(crate) fn cors(&self) -> Option<CorsLayer> {
        if self.allowed.is_empty() {
            return None;
        }
        let origins: Vec<HeaderValue> = self
            .allowed
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([header::RETRY_AFTER])
                .max_age(std::time::Duration::from_secs(3_600)),
        )
    }
}

/// `scheme://host[:port]` in lower case without a default port, or `None`
/// for anything else (`null`, paths, other schemes).
fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

/// Whether the normalised `origin` names the same host and port as `host`
/// (a `Host` header, whose port defaults to the origin's scheme's).
fn authority_matches(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    authority == host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn the_servers_own_origin_and_non_browsers_pass() {
        let origins = Origins::default();
        assert!(origins.check(&headers(None, "127.0.0.1:8080")).is_ok());
        assert!(
            origins
                .check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"))
                .is_ok()
        );
        assert!(
            origins
                .check(&headers(Some("HTTPS://Chat.Example"), "chat.example:443"))
                .is_ok()
        );
    }

    #[test]
    fn foreign_and_opaque_origins_are_refused() {
        let origins = Origins::default();
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8081",
            "file://",
            "http://127.0.0.1:8080/path",
        ] {
            let refused = origins.check(&headers(Some(origin), "127.0.0.1:8080"));
            assert!(
                matches!(refused, Err(ChatError::Forbidden(_))),
                "{origin} passed"
            );
        }
    }

    #[test]
    fn configured_origins_pass_and_get_cors() {
        let origins = Origins::new(["https://app.example:443".to_owned()]);
        assert!(
            origins
                .check(&headers(Some("https://app.example"), "chat.example"))
                .is_ok()
        );
        assert!(
            origins
                .check(&headers(Some("https://other.example"), "chat.example"))
                .is_err()
        );
        assert!(origins.cors().is_some());
        assert!(Origins::default().cors().is_none());
    }
}
