//! Opening the sockets: round-robin over the nodes, in this process up to its open-file limit
//! and in worker processes beyond it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use crate::client::{self, Delivery, Hello};
use crate::opts::Opts;
use crate::{Prepared, stats, worker};

/// The connected sockets: their events arrive on `rx`.
pub struct Sockets {
    pub rx: mpsc::UnboundedReceiver<Delivery>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    workers: Vec<std::process::Child>,
    pub connect_time: Duration,
}

impl Sockets {
    pub fn close(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
    }

    /// This process's CPU ticks plus its workers'.
    pub fn cpu_ticks(&self) -> Result<u64, String> {
        let mut ticks = stats::cpu_ticks_self()?;
        for w in &self.workers {
            ticks += stats::cpu_ticks(w.id())?;
        }
        Ok(ticks)
    }
}

/// Connects the account's `clients` sockets (ids `0..clients`) and the other account's
/// (`clients..`), round-robin over the nodes, K handshakes at a time. Sockets beyond what this
/// process's open-file limit allows go to worker processes.
pub async fn connect(opts: &Opts, prepared: &Prepared) -> Result<Sockets, String> {
    let ws_urls: Vec<String> = opts
        .connect_urls
        .iter()
        .map(|u| {
            format!(
                "{}/socket.io/?EIO=4&transport=websocket",
                u.replacen("http://", "ws://", 1)
            )
        })
        .collect();
    let total = opts.clients + opts.foreign_clients;
    // Leave room for the HTTP triggers, the pipes and the runtime.
    let room = worker::open_file_limit()?.saturating_sub(512).max(1);
    let local = total.min(room);
    let (hello_tx, mut hello_rx) = mpsc::unbounded_channel::<Hello>();
    let (tx, rx) = mpsc::unbounded_channel::<Delivery>();
    let gate = Arc::new(Semaphore::new(opts.connect_concurrency));
    let connect_started = Instant::now();
    let token_of = |id: usize| -> Result<String, String> {
        if id < opts.clients {
            Ok(prepared.token.clone())
        } else {
            prepared
                .foreign_token
                .clone()
                .ok_or_else(|| "no token for the other account".to_string())
        }
    };
    let mut tasks = Vec::with_capacity(local);
    for id in 0..local {
        tasks.push(tokio::spawn(client::run(
            id as u32,
            ws_urls[id % ws_urls.len()].clone(),
            token_of(id)?,
            gate.clone(),
            hello_tx.clone(),
            tx.clone(),
        )));
    }
    let mut workers = Vec::new();
    let mut first = local;
    while first < total {
        let count = (total - first).min(room);
        let range = worker::Range {
            first,
            count,
            clients: opts.clients,
        };
        workers.push(worker::spawn(
            &opts.connect_urls,
            &range,
            opts.connect_concurrency,
            &prepared.token,
            prepared.foreign_token.as_deref(),
            hello_tx.clone(),
            tx.clone(),
        )?);
        first += count;
    }
    if !workers.is_empty() {
        eprintln!(
            "[{}] open-file limit {}: {local} sockets here, {} in {} worker process(es)",
            opts.label,
            room + 512,
            total - local,
            workers.len()
        );
    }
    drop(hello_tx);
    drop(tx);
    let mut connected = 0;
    let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while connected < total {
        match tokio::time::timeout_at(connect_deadline, hello_rx.recv()).await {
            Err(_) => {
                return Err(format!(
                    "only {connected} of {total} clients connected within 180 s"
                ));
            }
            Ok(None) => return Err("client tasks ended before connecting".into()),
            Ok(Some(Err(e))) => return Err(format!("a client failed to connect: {e}")),
            Ok(Some(Ok(()))) => connected += 1,
        }
    }
    Ok(Sockets {
        rx,
        tasks,
        workers,
        connect_time: connect_started.elapsed(),
    })
}
