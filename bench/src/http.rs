//! The few HTTP calls of the setup and the triggers (ureq, blocking, keep-alive), and the
//! HS256 token for the Node gateway.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .max_idle_connections_per_host(64)
        .build()
}

/// Sends a request; any answer other than 2xx is an error carrying the body.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<ureq::Response, String> {
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.set("content-type", "application/json").send_string(b),
        None => req.call(),
    };
    match res {
        Ok(r) => Ok(r),
        Err(ureq::Error::Status(code, r)) => Err(format!(
            "{method} {url} answered {code}: {}",
            r.into_string().unwrap_or_default()
        )),
        Err(e) => Err(format!("{method} {url}: {e}")),
    }
}

pub fn send_json(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let r = send(agent, method, url, token, Some(&body.to_string()))?;
    r.into_json::<Value>()
        .map_err(|e| format!("{method} {url}: bad JSON: {e}"))
}

/// The account's latest event `seq` (`X-Event-Seq` of a list read).
pub fn last_seq(agent: &ureq::Agent, base: &str, token: &str) -> Result<i64, String> {
    let url = format!("{base}/api/appointments?limit=1");
    let r = send(agent, "GET", &url, Some(token), None)?;
    r.header("x-event-seq")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "GET /api/appointments answered without X-Event-Seq".to_string())
}

/// An HS256 JWT with the claims the gateway reads (`sub`, `accountId`, `iat`, `exp`).
pub fn mint_jwt(secret: &str, account_id: i64, ttl_secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let claims = B64.encode(
        json!({"sub": 1, "accountId": account_id, "iat": now, "exp": now + ttl_secs}).to_string(),
    );
    let signing = format!("{header}.{claims}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing.as_bytes());
    format!("{signing}.{}", B64.encode(mac.finalize().into_bytes()))
}
