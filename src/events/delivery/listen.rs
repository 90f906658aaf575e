//! PostgreSQL's wake-up connection: `LISTEN` on the log's channel, and wake the delivery for
//! each account a committing transaction names.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sqlx::postgres::PgListener;

use crate::events::Wake;
use crate::store::events::{CHANNEL, CONTROL_PAYLOAD};

use super::RETRY;
use super::health::LogHealth;

/// PostgreSQL's wake-up: a dedicated connection `LISTEN`s on [`CHANNEL`]; each notification
/// wakes the delivery for its account (or its control rows). When the connection drops, the
/// delivery polls fast until it is back, then reads every account again (notifications sent
/// meanwhile are lost).
pub(super) async fn listen(url: String, wake: Arc<Wake>, health: Arc<LogHealth>) {
    loop {
        let mut listener = match connect_listener(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                health.listening.store(false, Ordering::Relaxed);
                tracing::debug!(error = %error, "wake-up connection: cannot connect; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        health.listening.store(true, Ordering::Relaxed);
        wake.all();
        // `None` or an error: the connection is lost.
        while let Ok(Some(notification)) = listener.try_recv().await {
            match notification.payload() {
                CONTROL_PAYLOAD => wake.control(),
                payload => match payload.parse() {
                    Ok(account_id) => wake.account(account_id),
                    Err(_) => wake.all(),
                },
            }
        }
        health.listening.store(false, Ordering::Relaxed);
        tracing::warn!("wake-up connection to PostgreSQL lost; reconnecting");
        // The delivery reads every account now: whatever the lost connection would have said.
        wake.all();
    }
}

/// Aborts a task when dropped.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connect_listener(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
