//! The broadcasts one at a time (the default): the next is triggered when every client got
//! this one, at most `--rate` per second.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::Prepared;
use crate::check::{Checker, Outcome};
use crate::client::Delivery;
use crate::opts::Opts;

/// M broadcasts, one at a time: the next is triggered when every client got this one.
pub async fn run(
    opts: &Opts,
    prepared: &Prepared,
    rx: &mut mpsc::UnboundedReceiver<Delivery>,
    checker: &mut Checker,
) -> Result<Outcome, String> {
    let n = opts.clients;
    let mut out = Outcome::default();
    let broadcasts_started = Instant::now();
    for k in 0..opts.broadcasts {
        // A steady rate: broadcast k starts no sooner than k / rate after the first.
        if opts.rate > 0.0 {
            let due = broadcasts_started + Duration::from_secs_f64(k as f64 / opts.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let seq = prepared.first_seq + k as i64;
        let trigger = prepared.trigger.clone();
        let fired = tokio::task::spawn_blocking(move || trigger.fire(k, Some(seq)));
        tokio::pin!(fired);
        let mut t0: Option<Instant> = None;
        // Deliveries can arrive before the HTTP answer: keep their instants until t0 is known.
        let mut early: Vec<Instant> = Vec::new();
        let mut got = 0usize;
        let mut slowest = Duration::ZERO;
        let what = format!("broadcast {k}");
        let deadline = tokio::time::Instant::now() + opts.broadcast_timeout;
        while got < n || t0.is_none() {
            tokio::select! {
                r = &mut fired, if t0.is_none() => {
                    let (start, rtt) = r.map_err(|e| e.to_string())?
                        .map_err(|e| format!("triggering broadcast {k} (seq {seq}): {e}"))?;
                    out.http_rtt.push(rtt);
                    for at in early.drain(..) {
                        let l = at.saturating_duration_since(start);
                        slowest = slowest.max(l);
                        out.all.push(l);
                    }
                    t0 = Some(start);
                }
                d = rx.recv() => {
                    let Some(d) = d else { return Err("all clients went away".into()) };
                    checker.check(&d, seq, &what)?;
                    if d.payload_bytes > 0 { out.payload_bytes = d.payload_bytes; }
                    got += 1;
                    out.deliveries += 1;
                    match t0 {
                        Some(start) => {
                            let l = d.at.saturating_duration_since(start);
                            slowest = slowest.max(l);
                            out.all.push(l);
                        }
                        None => early.push(d.at),
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(format!("LOST: broadcast {k} (seq {seq}) reached {got} of {n} clients within {:?}", opts.broadcast_timeout));
                }
            }
        }
        out.last_client.push(slowest);
    }
    Ok(out)
}
