//! One error type for the HTTP edge, written as the contract's NestJS-shaped JSON:
//! `{"statusCode": 404, "message": "...", "error": "Not Found", "requestId": "..."}` (the
//! request's id, as its access log line and `X-Request-Id` say).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::StorageFault;

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a list of validation messages.
    #[error("validation failed: {0:?}")]
    Validation(Vec<String>),
    /// 400 with one message.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: `missing token`, `invalid token`, `jwt expired`, or bad credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// 422: a well-formed request that cannot be honoured (an idempotency key reused with
    /// another request).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("gone: {0}")]
    Gone(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429 with `Retry-After`: the seconds until the next attempt is allowed.
    #[error("too many requests")]
    TooManyRequests(std::time::Duration),
    /// 503: the database cannot be reached now (an error of this kind, see
    /// `store::error_kind`); the client retries after `Retry-After`.
    #[error("database unavailable ({0})")]
    Unavailable(&'static str),
    /// 503 with `Retry-After`: the server is at a bound it keeps (password hashing, connections).
    #[error("service unavailable: {0}")]
    Busy(String, std::time::Duration),
    /// 507 (disk full) or 503 (read-only, I/O errors) with `Retry-After`: the storage under the
    /// database refuses writes now; the process heals by itself once it takes them again. The
    /// text is the cause, for the log of the fault's start (never shown to the client).
    #[error("storage fault ({0:?}): {1}")]
    Storage(StorageFault, String),
    /// 408: the request (its body) did not arrive in time.
    #[error("request timeout")]
    RequestTimeout,
    /// A failure of ours: logged with its cause chain, never shown to the client.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy(..) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Storage(StorageFault::Full, _) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Storage(..) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::from(anyhow::Error::new(err).context("database"))
    }
}

/// A failure of ours is a 500, except a storage fault (507/503) and a database that cannot be
/// reached now (503), whichever layer the error passed through.
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        let fault = err
            .chain()
            .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
            .find_map(crate::store::storage_fault);
        if let Some(fault) = fault {
            return ApiError::Storage(fault, format!("{err:#}"));
        }
        let unavailable = err
            .chain()
            .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
            .find(|cause| crate::store::is_unavailable(cause));
        if let Some(cause) = unavailable {
            tracing::warn!(error = %format!("{err:#}"), "database unavailable; answering 503");
            return ApiError::Unavailable(crate::store::error_kind(cause));
        }
        ApiError::Internal(err)
    }
}

/// Seconds a client waits before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;
/// Seconds a client waits before retrying after a storage fault: it rarely ends within a
/// second (someone frees space or repairs the disk).
pub const STORAGE_RETRY_AFTER_SECS: u32 = 5;

/// Put on the response of a request that failed for a storage fault, for
/// `http::ops::watch_storage`, which records it in the store's health (`/readyz`).
#[derive(Debug, Clone)]
pub struct StorageFailure {
    pub fault: StorageFault,
    pub detail: String,
}

/// The contract's error body, fields in the documented order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[schema(example = 401)]
    status_code: u16,
    message: ErrorMessage,
    #[schema(example = "Unauthorized")]
    error: &'static str,
    /// The request's id (its `X-Request-Id`), as its line of the access log says.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "4f9c2a7e1b3d5f60")]
    request_id: Option<String>,
}

/// The kind of database error behind an answer (`fila_db_errors_total`), kept in its
/// extensions for the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct DbErrorKind(pub &'static str);

/// One message, or the list of validation problems (400).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ErrorMessage {
    #[schema(example = "jwt expired")]
    One(String),
    Many(Vec<String>),
}

/// Writes the contract's error body for any status.
pub fn error_body(status: StatusCode, message: ErrorMessage) -> Response {
    let body = ErrorBody {
        status_code: status.as_u16(),
        message,
        error: status.canonical_reason().unwrap_or("Error"),
        request_id: crate::http::access::current_request_id(),
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests(wait) | ApiError::Busy(_, wait) => Some(retry_secs(*wait)),
            ApiError::Unavailable(_) => Some(u64::from(RETRY_AFTER_SECS)),
            ApiError::Storage(..) => Some(u64::from(STORAGE_RETRY_AFTER_SECS)),
            _ => None,
        };
        let mut failure = None;
        let db_error = match &self {
            ApiError::Unavailable(kind) => Some(*kind),
            // A full, read-only or failing disk (`store::faults`).
            ApiError::Storage(..) => Some("storage"),
            ApiError::Internal(err) => crate::store::error_kind_in(err),
            _ => None,
        };
        let one = |m: &str| ErrorMessage::One(m.to_string());
        let message = match self {
            ApiError::Validation(messages) => ErrorMessage::Many(messages),
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Unprocessable(m)
            | ApiError::Gone(m) => ErrorMessage::One(m),
            ApiError::PayloadTooLarge => one("request body is too large"),
            ApiError::UnsupportedMediaType => {
                one("expected a JSON body (Content-Type: application/json)")
            }
            ApiError::TooManyRequests(wait) => ErrorMessage::One(format!(
                "too many attempts: try again in {} s",
                retry_secs(wait)
            )),
            ApiError::Unavailable(_) => one("database unavailable, try again shortly"),
            ApiError::Busy(m, _) => ErrorMessage::One(m),
            ApiError::Storage(fault, detail) => {
                tracing::debug!(error = %detail, "storage fault; answering {}", status.as_u16());
                failure = Some(StorageFailure { fault, detail });
                one(match fault {
                    StorageFault::Full => "the server's storage is full, try again later",
                    StorageFault::ReadOnly => "the server's storage is read-only, try again later",
                    StorageFault::Io => "the server's storage is failing, try again later",
                })
            }
            ApiError::RequestTimeout => one("the request did not arrive in time"),
            ApiError::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                one("Internal server error")
            }
        };
        let mut response = error_body(status, message);
        if let Some(kind) = db_error {
            response.extensions_mut().insert(DbErrorKind(kind));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}

/// Whole seconds to wait, rounded up, at least one.
fn retry_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// `Json` whose rejections answer in the contract's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                _ => ApiError::BadRequest(rejection.body_text()),
            }
        })?;
        reject_nul(&bytes)?;
        // Every body of the API is an object; serde would also fill a struct from an array.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `application/json` or any `+json` media type, as axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Text with a NUL character is refused up front: PostgreSQL cannot store it, and no field of
/// the API needs it. JSON can only carry it escaped, as `\u0000`; a query string as `%00`.
fn reject_nul(raw: &[u8]) -> ApiResult<()> {
    let escaped = raw.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    let encoded = raw.windows(3).any(|w| w == b"%00");
    if escaped || encoded || raw.contains(&0) {
        return Err(ApiError::BadRequest(
            "text must not contain NUL characters".into(),
        ));
    }
    Ok(())
}

/// `Query` whose rejections answer 400 in the contract's shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        reject_nul(parts.uri.query().unwrap_or("").as_bytes())?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r: QueryRejection| ApiError::BadRequest(r.body_text()))
    }
}

/// `Path` whose rejections answer 400 in the contract's shape (`/appointments/abc`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|r: PathRejection| ApiError::BadRequest(r.body_text()))
    }
}

/// Collects validation messages and turns them into one 400.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    /// Records `message` when `ok` is false.
    pub fn check(&mut self, ok: bool, message: impl Into<String>) {
        if !ok {
            self.push(message);
        }
    }

    pub fn into_result(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_a_503_with_retry_after_whichever_layer_it_crossed() {
        let direct = ApiError::from(sqlx::Error::PoolTimedOut);
        let wrapped = ApiError::from(
            anyhow::Error::new(sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )))
            .context("committing"),
        );
        for error in [direct, wrapped] {
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER),
                Some(&header::HeaderValue::from(RETRY_AFTER_SECS))
            );
        }
    }

    #[test]
    fn storage_faults_answer_507_or_503_with_retry_after_in_the_error_shape() {
        let cases = [
            (StorageFault::Full, StatusCode::INSUFFICIENT_STORAGE),
            (StorageFault::ReadOnly, StatusCode::SERVICE_UNAVAILABLE),
            (StorageFault::Io, StatusCode::SERVICE_UNAVAILABLE),
        ];
        for (fault, status) in cases {
            let response = ApiError::Storage(fault, "disk".into()).into_response();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER),
                Some(&header::HeaderValue::from(STORAGE_RETRY_AFTER_SECS))
            );
            let failure = response.extensions().get::<StorageFailure>();
            assert_eq!(failure.map(|f| f.fault), Some(fault));
        }
    }

    #[test]
    fn a_database_error_tells_its_kind_to_the_metrics_and_the_body_its_request_id() {
        let response = ApiError::from(sqlx::Error::PoolTimedOut).into_response();
        let kind = response.extensions().get::<DbErrorKind>().map(|k| k.0);
        assert_eq!(kind, Some("pool_timeout"));
        let response = ApiError::from(sqlx::Error::RowNotFound).into_response();
        let kind = response.extensions().get::<DbErrorKind>().map(|k| k.0);
        assert_eq!(kind, Some("decode"));
        let response = ApiError::not_found("doctor").into_response();
        assert!(response.extensions().get::<DbErrorKind>().is_none());
    }

    #[tokio::test]
    async fn error_bodies_carry_the_request_id_inside_a_request_only() {
        let body = |response: Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let outside = body(ApiError::not_found("doctor").into_response()).await;
        assert_eq!(
            outside,
            serde_json::json!({"statusCode": 404, "message": "doctor not found", "error": "Not Found"})
        );
        let request = axum::http::Request::builder()
            .header("x-request-id", "desk-7")
            .body(())
            .unwrap();
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
        let answered = crate::http::access::record(request, peer, |_| async {
            ApiError::not_found("doctor").into_response()
        })
        .await;
        assert_eq!(answered.headers()["x-request-id"], "desk-7");
        let inside = body(answered).await;
        assert_eq!(inside["requestId"], "desk-7");
        assert_eq!(inside["statusCode"], 404);
    }

    #[test]
    fn other_database_failures_stay_internal() {
        let error = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(
            error.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
