//! `--burst`: the M changes all at once, "when the check-ins all come at once".
//!
//! Broadcast k is the same change as in the sequential run (check-in for even k, back to
//! agendado for odd k, on appointment k/2), so the status machine stays valid: the check-ins
//! go as one wave, fired together from a pool of blocking HTTP threads, and the agendado wave
//! starts once every socket has every check-in. The server numbers a wave's events in the
//! order it commits them, which the tool cannot know in advance: each socket must get the
//! wave's `seq`s each exactly once, one after the other, whatever change each one carries.
//! Latencies count from the wave's first request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::check::{Checker, Outcome};
use crate::client::Delivery;
use crate::opts::Opts;
use crate::{Prepared, Trigger};

pub async fn run(
    opts: &Opts,
    prepared: &Prepared,
    rx: &mut mpsc::UnboundedReceiver<Delivery>,
    checker: &mut Checker,
) -> Result<Outcome, String> {
    let n = opts.clients;
    let waves: [(&str, Vec<usize>); 2] = [
        ("check-in wave", (0..opts.broadcasts).step_by(2).collect()),
        ("agendado wave", (1..opts.broadcasts).step_by(2).collect()),
    ];
    let mut out = Outcome::default();
    let mut first_seq = prepared.first_seq;
    for (name, ks) in waves {
        if ks.is_empty() {
            continue;
        }
        let size = ks.len();
        let last_seq = first_seq + size as i64 - 1;
        let what = format!("{name} (seq {first_seq}..={last_seq})");
        let trigger = prepared.trigger.clone();
        let threads = opts.burst_threads.min(size);
        let fired = tokio::task::spawn_blocking(move || fire_wave(&trigger, &ks, threads));
        tokio::pin!(fired);
        let mut fired_result: Option<(Instant, Vec<Duration>)> = None;
        // (offset of the seq in the wave, arrival); latencies once the first request is known.
        let expected = n * size;
        let mut arrivals: Vec<(usize, Instant)> = Vec::with_capacity(expected);
        let deadline = tokio::time::Instant::now() + opts.broadcast_timeout;
        while arrivals.len() < expected || fired_result.is_none() {
            tokio::select! {
                r = &mut fired, if fired_result.is_none() => {
                    let r = r.map_err(|e| e.to_string())?
                        .map_err(|e| format!("firing the {what}: {e}"))?;
                    fired_result = Some(r);
                }
                d = rx.recv() => {
                    let Some(d) = d else { return Err("all clients went away".into()) };
                    checker.check(&d, last_seq, &what)?;
                    if d.payload_bytes > 0 { out.payload_bytes = d.payload_bytes; }
                    arrivals.push(((d.seq - first_seq) as usize, d.at));
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(format!(
                        "LOST: the {what} made {} of {expected} deliveries within {:?}",
                        arrivals.len(),
                        opts.broadcast_timeout
                    ));
                }
            }
        }
        let Some((start, rtts)) = fired_result else {
            unreachable!("the loop ends once the wave is fired")
        };
        let mut slowest = vec![Duration::ZERO; size];
        for (offset, at) in arrivals {
            let l = at.saturating_duration_since(start);
            slowest[offset] = slowest[offset].max(l);
            out.all.push(l);
        }
        out.waves
            .push(slowest.iter().max().copied().unwrap_or_default());
        out.last_client.extend(slowest);
        out.http_rtt.extend(rtts);
        out.deliveries += expected;
        first_seq = last_seq + 1;
    }
    Ok(out)
}

/// Fires broadcasts `ks` from `threads` threads at once; returns the instant the first
/// request left and every request's round trip.
fn fire_wave(
    trigger: &Trigger,
    ks: &[usize],
    threads: usize,
) -> Result<(Instant, Vec<Duration>), String> {
    let next = AtomicUsize::new(0);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let next = &next;
                scope.spawn(move || -> Result<Vec<(Instant, Duration)>, String> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&k) = ks.get(i) else { break };
                        mine.push(trigger.fire(k, None)?);
                    }
                    Ok(mine)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(ks.len());
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| "a trigger thread panicked".to_string())??,
            );
        }
        Ok::<_, String>(all)
    })?;
    let start = results
        .iter()
        .map(|(t0, _)| *t0)
        .min()
        .ok_or("a wave without requests")?;
    Ok((start, results.into_iter().map(|(_, rtt)| rtt).collect()))
}
