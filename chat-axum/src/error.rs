//! Errors become HTTP in one place: [`ApiError`]'s `IntoResponse` writes
//! `{"error": {"code", "message"}}` with the matching status. Extractor
//! rejections (bad JSON, bad query, oversized body) go through the same door,
//! so clients see one error shape. Details of 5xx errors go to the log, not
//! to clients.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chat_engine::ChatError;
use chat_engine::protocol::ErrorBody;
use serde::de::DeserializeOwned;

use crate::auth::AuthRejection;

/// The body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// An error answered to a REST request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A refusal or failure of the chat service.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// The host's auth hook refused the request (401).
    #[error("unauthorized: {0}")]
    Unauthorized(AuthRejection),
    /// The request took longer than the router's timeout (408, retryable).
    #[error("the request took longer than {} s", .0.as_secs())]
    TimedOut(std::time::Duration),
    /// The request could not be read (bad JSON, query or path): 400, or 413
    /// for an oversized body.
    #[error("{message}")]
    BadRequest {
        /// 400 or 413.
        status: StatusCode,
        /// What was wrong, for the client.
        message: String,
    },
}

/// The HTTP status for a chat error.
#[must_use]
pub fn status_of(error: &ChatError) -> StatusCode {
    match error {
        ChatError::NotFound { .. } => StatusCode::NOT_FOUND,
        ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
        ChatError::Invalid { .. } => StatusCode::BAD_REQUEST,
        ChatError::Conflict(_) => StatusCode::CONFLICT,
        ChatError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ChatError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ChatError::RateLimited { .. } | ChatError::TooManyConnections { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ChatError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// The response status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Chat(error) => status_of(error),
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            Self::BadRequest { status, .. } => *status,
        }
    }

    /// The `{"code","message"}` body.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        match self {
            Self::Chat(error) => ErrorBody::from(error),
            Self::Unauthorized(rejection) => ErrorBody {
                code: "unauthorized".to_owned(),
                message: rejection.to_string(),
                retryable: false,
            },
            Self::TimedOut(_) => ErrorBody {
                code: "timeout".to_owned(),
                message: self.to_string(),
                retryable: true,
            },
            Self::BadRequest { status, message } => ErrorBody {
                code: if *status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                }
                .to_owned(),
                message: message.clone(),
                retryable: false,
            },
        }
    }

    fn rejected(status: StatusCode, message: String) -> Self {
        let status = if status == StatusCode::PAYLOAD_TOO_LARGE {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::BadRequest { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Once per interval: an outage fails every request the same way.
            static LOG: chat_engine::LogThrottle = chat_engine::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::error!(error = ?self, suppressed, "request failed");
            }
        }
        let mut response =
            (status, axum::Json(ErrorResponse { error: self.body() })).into_response();
        if let Self::Chat(error) = &self {
            let seconds = match error {
                // Whole seconds, rounded up: a client that waits that long succeeds.
                ChatError::RateLimited { retry_after, .. } => {
                    Some(retry_after.as_millis().div_ceil(1_000).max(1))
                }
                error if error.is_retryable() => Some(1),
                _ => None,
            };
            if let Some(seconds) = seconds {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(u64::try_from(seconds).unwrap_or(u64::MAX)),
                );
            }
        }
        response
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s, for a body that is a
/// JSON object: serde would also build a struct from an array of its
/// fields in order (`[null, null]` for two optional fields), which no
/// client means and the OpenAPI document does not allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected request with `Content-Type: application/json`".to_owned(),
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::rejected(rejection.status(), rejection.body_text()))?;
        if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::rejected(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object".to_owned(),
            ));
        }
        axum::Json::<T>::from_bytes(&body)
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection: JsonRejection| {
                ApiError::rejected(rejection.status(), rejection.body_text())
            })
    }
}

/// Whether the request says its body is JSON (`application/json`, or a
/// `+json` type), as `axum::Json` requires.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::rejected(rejection.status(), rejection.body_text())
            })
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection: PathRejection| {
                ApiError::rejected(rejection.status(), rejection.body_text())
            })
    }
}
