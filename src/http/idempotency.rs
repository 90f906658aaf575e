//! Idempotency keys on the create endpoints, with the semantics integrators know from Stripe.
//! A route opts in by wrapping its handler: `post(idempotent(create))`.
//!
//! A request with an `Idempotency-Key` header:
//! 1. is authenticated first (no token: 401, nothing stored), then its key is checked (1 to
//!    255 printable ASCII characters, given once; else 400);
//! 2. has its body buffered (at most `BODY_LIMIT`) and fingerprinted: SHA-256 of the method,
//!    the path and the canonical body (JSON with sorted keys and no spaces; other bytes as
//!    they are);
//! 3. claims the key in the account, in a transaction of its own that commits before the
//!    handler runs, so a retry that arrives meanwhile sees the claim and gets 409;
//! 4. runs the handler, in a task of its own that finishes even if the client goes away, then
//!    records the answer (status, `Content-Type`, body) when it is a 2xx or 4xx (except 408 and
//!    429, which ask for a retry), or releases the key (5xx: the failure was ours or transient,
//!    a retry runs again).
//!
//! A later request with the same key in the account, within 24 h: the same fingerprint gets
//! the recorded answer again with `Idempotent-Replayed: true` and writes nothing; another
//! fingerprint (another body or endpoint) gets 422. A request without the header runs as
//! before.

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::auth::AuthUser;
use crate::domain::time::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::idempotency::{self as keys, Answer, Claim};

/// The request header carrying the key.
pub const KEY_HEADER: &str = "idempotency-key";
/// The answer header marking a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

const BAD_KEY: &str = "Idempotency-Key must be 1 to 255 printable ASCII characters";
const IN_PROGRESS: &str =
    "a request with this Idempotency-Key is still in progress: retry once it has answered";
const MISMATCH: &str =
    "this Idempotency-Key was already used with another request body or endpoint";

/// Makes a create handler idempotent under the `Idempotency-Key` header (see the module).
pub fn idempotent<H>(handler: H) -> Idempotent<H> {
    Idempotent(handler)
}

/// A handler wrapped by [`idempotent`].
#[derive(Clone)]
pub struct Idempotent<H>(H);

impl<H, T> Handler<T, AppState> for Idempotent<H>
where
    H: Handler<T, AppState>,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: AppState) -> Self::Future {
        let Idempotent(handler) = self;
        Box::pin(async move {
            if !request.headers().contains_key(KEY_HEADER) {
                return handler.call(request, state).await;
            }
            run(request, state, handler)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        })
    }
}

/// Steps 1 to 4 of the module's list.
async fn run<H, T>(request: Request, state: AppState, handler: H) -> ApiResult<Response>
where
    H: Handler<T, AppState>,
{
    let (mut parts, body) = request.into_parts();
    let user = AuthUser::from_parts(&mut parts, &state).await?;
    let key = key_of(&parts.headers)?;
    let bytes = buffer(body, &parts, &state).await?;
    let fingerprint = fingerprint(&parts.method, parts.uri.path(), &bytes);
    let account = user.account_id;
    let mut tx = state.store.begin_write(account).await?;
    let claim = keys::claim(&mut tx, account, &key, &fingerprint, now_ms())
        .await
        .context("claiming the idempotency key")?;
    tx.commit()
        .await
        .context("committing the idempotency key")?;
    let claimed_at = match claim {
        Claim::Claimed { claimed_at } => claimed_at,
        Claim::InProgress => return Err(ApiError::Conflict(IN_PROGRESS.into())),
        Claim::Mismatch => return Err(ApiError::Unprocessable(MISMATCH.into())),
        Claim::Answered(answer) => return Ok(replay(answer)),
    };
    let held = Held {
        state: state.clone(),
        account,
        key,
        claimed_at,
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let running = held.clone();
    let task = tokio::spawn(
        async move {
            let response = handler.call(request, state).await;
            running.record(response).await
        }
        .in_current_span(),
    );
    match task.await {
        Ok(response) => Ok(response),
        Err(failure) => {
            held.release().await;
            Err(anyhow::Error::new(failure)
                .context("running an idempotent request")
                .into())
        }
    }
}

/// The request's key: given once, 1 to 255 printable ASCII characters (space to `~`).
fn key_of(headers: &HeaderMap) -> ApiResult<String> {
    let mut values = headers.get_all(KEY_HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::BadRequest(
            "give one Idempotency-Key header".into(),
        ));
    };
    let bytes = value.as_bytes();
    let printable = bytes.iter().all(|b| (b' '..=b'~').contains(b));
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !printable {
        return Err(ApiError::BadRequest(BAD_KEY.into()));
    }
    value
        .to_str()
        .map(str::to_string)
        .map_err(|_| ApiError::BadRequest(BAD_KEY.into()))
}

/// The whole body, within the router's body limit (413 past it), as `ApiJson` reads it.
async fn buffer(body: Body, parts: &Parts, state: &AppState) -> ApiResult<Bytes> {
    let mut reading = Request::new(body);
    // The body limit travels in the extensions (`DefaultBodyLimit`).
    *reading.extensions_mut() = parts.extensions.clone();
    Bytes::from_request(reading, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            _ => ApiError::BadRequest(rejection.body_text()),
        })
}

/// Hex SHA-256 of the method, the path and the canonical body: a JSON body with its object
/// keys sorted and no whitespace (so a client that serializes the same object again in another
/// order is not refused), any other body byte for byte.
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut json) => {
            json.sort_all_objects();
            hasher.update(b"\njson\n");
            hasher.update(json.to_string().as_bytes());
        }
        Err(_) => {
            hasher.update(b"\nraw\n");
            hasher.update(body);
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether an answer is kept for replay: 2xx and decided 4xx; not 408 or 429 (they ask for a
/// retry), not 5xx (ours or transient).
fn kept(status: StatusCode) -> bool {
    (status.is_success() || status.is_client_error())
        && !matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
        )
}

/// The recorded answer again, marked as a replay.
fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(value) = answer
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// A key this request claimed.
#[derive(Clone)]
struct Held {
    state: AppState,
    account: i64,
    key: String,
    claimed_at: i64,
}

impl Held {
    /// Records `response` for replay, or releases the key; answers `response` unchanged.
    async fn record(self, response: Response) -> Response {
        let status = response.status();
        if !kept(status) {
            self.release().await;
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(err) => {
                self.release().await;
                return ApiError::Internal(anyhow::Error::new(err).context("buffering an answer"))
                    .into_response();
            }
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            tracing::warn!("an answer that is not UTF-8 is not kept for replay");
            self.release().await;
            return Response::from_parts(parts, Body::from(bytes));
        };
        let answer = Answer {
            status: status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: text.to_string(),
        };
        if let Err(error) = self.complete(&answer).await {
            // A retry runs again once the key is released (or its claim's lease is over).
            tracing::warn!(error = %format!("{error:#}"), "recording an idempotent answer failed");
            self.release().await;
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    async fn complete(&self, answer: &Answer) -> anyhow::Result<()> {
        let mut tx = self.state.store.begin_write(self.account).await?;
        keys::complete(&mut tx, self.account, &self.key, self.claimed_at, answer)
            .await
            .context("recording the answer of an idempotency key")?;
        tx.commit().await.context("committing the answer")?;
        Ok(())
    }

    /// Gives the key up; a failure is logged (the claim's lease ends it anyway).
    async fn release(&self) {
        let released = async {
            let mut tx = self.state.store.begin_write(self.account).await?;
            keys::release(&mut tx, self.account, &self.key, self.claimed_at).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = released {
            tracing::warn!(error = %error, "releasing an idempotency key failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_ignores_key_order_and_spaces_but_not_values_or_endpoints() {
        let post = Method::POST;
        let one = fingerprint(&post, "/api/patients", br#"{"name":"Ana","cpf":"1"}"#);
        let same = fingerprint(&post, "/api/patients", br#"{ "cpf": "1", "name": "Ana" }"#);
        let other = fingerprint(&post, "/api/patients", br#"{"name":"Ana","cpf":"2"}"#);
        let elsewhere = fingerprint(&post, "/api/users", br#"{"name":"Ana","cpf":"1"}"#);
        assert_eq!(one, same);
        assert_ne!(one, other);
        assert_ne!(one, elsewhere);
        assert_eq!(one.len(), 64);
    }

    #[test]
    fn a_key_is_one_to_255_printable_ascii_characters_given_once() {
        let check = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(
                    KEY_HEADER,
                    HeaderValue::from_bytes(value).expect("header value"),
                );
            }
            key_of(&headers)
        };
        let longest = "k".repeat(MAX_KEY_LEN);
        for good in [&b"a"[..], b"order 42/retry~1", longest.as_bytes()] {
            assert!(check(&[good]).is_ok(), "{good:?}");
        }
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in [
            &b""[..],
            too_long.as_bytes(),
            "chave-ç".as_bytes(),
            b"tab\there",
        ] {
            assert!(check(&[bad]).is_err(), "{bad:?}");
        }
        assert!(check(&[b"a", b"a"]).is_err());
    }

    #[test]
    fn decided_answers_are_kept_and_failures_or_retry_requests_are_not() {
        for status in [200, 201, 400, 403, 404, 409, 422] {
            assert!(kept(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [408, 429, 500, 503] {
            assert!(!kept(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }
}
