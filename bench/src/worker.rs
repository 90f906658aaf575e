//! Sockets in helper processes, for runs larger than one process's open-file limit.
//!
//! Each socket is a file descriptor, and the hard limit (`ulimit -Hn`) may be below the run's
//! socket count. The tool then keeps as many sockets as it can itself and starts copies of
//! itself (`fanout --worker ...`) for the rest. A worker connects its range of client ids and
//! writes one line per event to its stdout, which the tool turns back into the same
//! [`Hello`] and [`Delivery`] messages its own sockets send:
//!
//! - `H` (connected), `E why` (could not connect);
//! - `D client seq unix_nanos payload_bytes` (an event, stamped when its frame arrived);
//! - `X client why` (the socket was lost).
//!
//! The arrival instant crosses the process boundary as wall-clock time and is mapped back to an
//! [`Instant`] on receipt: both processes read the same clock, so the error is the clock's own
//! drift over a few milliseconds.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc};

use crate::client::{self, Delivery, Hello};

/// The environment variables that carry the tokens to a worker (not its command line).
const TOKEN_ENV: &str = "FANOUT_WORKER_TOKEN";
const FOREIGN_TOKEN_ENV: &str = "FANOUT_WORKER_FOREIGN_TOKEN";

/// Which sockets a worker opens: client ids `first..first + count`; ids from `clients` on
/// belong to the other account.
pub struct Range {
    pub first: usize,
    pub count: usize,
    pub clients: usize,
}

/// The soft open-file limit of this process (`/proc/self/limits`).
pub fn open_file_limit() -> Result<usize, String> {
    let limits = std::fs::read_to_string("/proc/self/limits")
        .map_err(|e| format!("reading /proc/self/limits: {e}"))?;
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no open-file limit in /proc/self/limits".to_string())
}

/// Starts a worker for `range`; its lines go to `hello` and `tx` from a reader thread.
pub fn spawn(
    urls: &[String],
    range: &Range,
    connect_concurrency: usize,
    token: &str,
    foreign_token: Option<&str>,
    hello: mpsc::UnboundedSender<Hello>,
    tx: mpsc::UnboundedSender<Delivery>,
) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding the tool's binary: {e}"))?;
    let mut child = Command::new(exe)
        .arg("--worker")
        .args(["--connect-urls", &urls.join(",")])
        .args(["--first-id", &range.first.to_string()])
        .args(["--count", &range.count.to_string()])
        .args(["--clients", &range.clients.to_string()])
        .args(["--connect-concurrency", &connect_concurrency.to_string()])
        .env(TOKEN_ENV, token)
        .env(FOREIGN_TOKEN_ENV, foreign_token.unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting a worker: {e}"))?;
    let stdout = child.stdout.take().ok_or("worker without stdout")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match parse_line(&line) {
                Some(Line::Hello(h)) => {
                    let _ = hello.send(h);
                }
                Some(Line::Delivery(d)) => {
                    if tx.send(d).is_err() {
                        return;
                    }
                }
                None => {
                    let _ = hello.send(Err(format!("worker wrote an unknown line: {line}")));
                }
            }
        }
        // A worker that ends mid-run has lost its sockets.
        let _ = tx.send(Delivery {
            client: u32::MAX,
            seq: i64::MIN,
            at: Instant::now(),
            payload_bytes: 0,
            closed: Some("a worker process ended".into()),
        });
    });
    Ok(child)
}

enum Line {
    Hello(Hello),
    Delivery(Delivery),
}

fn parse_line(line: &str) -> Option<Line> {
    let mut parts = line.splitn(5, ' ');
    match parts.next()? {
        "H" => Some(Line::Hello(Ok(()))),
        "E" => Some(Line::Hello(Err(line.get(2..).unwrap_or("").to_string()))),
        "D" => {
            let client = parts.next()?.parse().ok()?;
            let seq = parts.next()?.parse().ok()?;
            let nanos: u64 = parts.next()?.parse().ok()?;
            let payload_bytes = parts.next()?.parse().ok()?;
            Some(Line::Delivery(Delivery {
                client,
                seq,
                at: instant_of(nanos),
                payload_bytes,
                closed: None,
            }))
        }
        "X" => {
            let client = parts.next()?.parse().ok()?;
            let why = line.splitn(3, ' ').nth(2).unwrap_or("").to_string();
            Some(Line::Delivery(Delivery {
                client,
                seq: i64::MIN,
                at: Instant::now(),
                payload_bytes: 0,
                closed: Some(why),
            }))
        }
        _ => None,
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The [`Instant`] of a wall-clock reading taken a moment ago.
fn instant_of(nanos: u64) -> Instant {
    let (now, wall) = (Instant::now(), unix_nanos(SystemTime::now()));
    now.checked_sub(Duration::from_nanos(wall.saturating_sub(nanos)))
        .unwrap_or(now)
}

/// The worker's side: `fanout --worker ...` (started by [`spawn`], not by hand).
pub async fn run(args: &[String]) -> Result<(), String> {
    let get = |name: &str| {
        args.iter()
            .position(|a| a == &format!("--{name}"))
            .and_then(|i| args.get(i + 1))
            .ok_or(format!("worker: --{name} is required"))
    };
    let num = |name: &str| -> Result<usize, String> {
        get(name)?
            .parse()
            .map_err(|_| format!("worker: --{name}: not a number"))
    };
    let urls: Vec<String> = get("connect-urls")?
        .split(',')
        .map(|u| {
            format!(
                "{}/socket.io/?EIO=4&transport=websocket",
                u.replacen("http://", "ws://", 1)
            )
        })
        .collect();
    let (first, count, clients) = (num("first-id")?, num("count")?, num("clients")?);
    let token = std::env::var(TOKEN_ENV).map_err(|_| "worker: no token".to_string())?;
    let foreign = std::env::var(FOREIGN_TOKEN_ENV).unwrap_or_default();
    let gate = Arc::new(Semaphore::new(num("connect-concurrency")?.max(1)));
    let (hello_tx, mut hello_rx) = mpsc::unbounded_channel::<Hello>();
    let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
    for id in first..first + count {
        let token = if id < clients { &token } else { &foreign };
        tokio::spawn(client::run(
            id as u32,
            urls[id % urls.len()].clone(),
            token.clone(),
            gate.clone(),
            hello_tx.clone(),
            tx.clone(),
        ));
    }
    drop(hello_tx);
    drop(tx);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let write_err = |e: std::io::Error| format!("worker: writing: {e}");
    let mut hellos_open = true;
    loop {
        // Write what is waiting, then flush once: the tool reads the lines as they come.
        tokio::select! {
            h = hello_rx.recv(), if hellos_open => match h {
                Some(Ok(())) => writeln!(out, "H").map_err(write_err)?,
                Some(Err(e)) => writeln!(out, "E {}", e.replace('\n', " ")).map_err(write_err)?,
                None => hellos_open = false,
            },
            d = rx.recv() => match d {
                Some(d) => write_delivery(&mut out, &d).map_err(write_err)?,
                None => return Ok(()),
            },
        }
        while let Ok(d) = rx.try_recv() {
            write_delivery(&mut out, &d).map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
    }
}

fn write_delivery(out: &mut impl Write, d: &Delivery) -> std::io::Result<()> {
    match &d.closed {
        Some(why) => writeln!(out, "X {} {}", d.client, why.replace('\n', " ")),
        None => {
            // The arrival instant as wall-clock time: now, less the time since the frame came.
            let ago = d.at.elapsed();
            let at = unix_nanos(SystemTime::now()).saturating_sub(ago.as_nanos() as u64);
            writeln!(out, "D {} {} {} {}", d.client, d.seq, at, d.payload_bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, parse_line, write_delivery};
    use crate::client::Delivery;
    use std::time::{Duration, Instant};

    #[test]
    fn an_event_line_keeps_its_client_seq_and_arrival() {
        let at = Instant::now() - Duration::from_millis(50);
        let mut out = Vec::new();
        let d = Delivery {
            client: 7,
            seq: 42,
            at,
            payload_bytes: 643,
            closed: None,
        };
        write_delivery(&mut out, &d).unwrap();
        let line = String::from_utf8(out).unwrap();
        let Some(Line::Delivery(back)) = parse_line(line.trim_end()) else {
            panic!("not an event line: {line}")
        };
        assert_eq!((back.client, back.seq, back.payload_bytes), (7, 42, 643));
        let error = back.at.max(at) - back.at.min(at);
        assert!(error < Duration::from_millis(5), "arrival off by {error:?}");
    }

    #[test]
    fn a_lost_socket_line_keeps_the_reason() {
        let Some(Line::Delivery(d)) = parse_line("X 3 websocket closed: none") else {
            panic!("not a lost-socket line")
        };
        assert_eq!(d.client, 3);
        assert_eq!(d.closed.as_deref(), Some("websocket closed: none"));
        assert!(matches!(parse_line("H"), Some(Line::Hello(Ok(())))));
        assert!(parse_line("Q 1").is_none());
    }
}
