//! `fanout`: the fan-out benchmark's load tool.
//!
//! Opens N Socket.IO clients (websocket transport, one account), waits until all are
//! connected, then triggers M broadcasts one at a time. For each broadcast it measures the
//! time from the trigger to the receipt at every client, checks that every client got every
//! `seq` exactly once, and reads the server's RSS (`/proc/<pid>/status`, VmRSS) before and
//! after connecting. See `BENCHMARKS.md` and `bench/run.sh`.
//!
//! With `--burst` the broadcasts are fired in two concurrent waves instead (see [`burst`]);
//! with `--connect-urls` the sockets are spread over several nodes (`bench/cluster-fanout.sh`),
//! and sockets beyond this process's open-file limit live in worker processes (see [`worker`]).
//!
//! Targets:
//! - `fila`: logs in, creates a procedure, a doctor, a patient and M/2 appointments through
//!   REST, then triggers each broadcast with a real status change (`check-in`, then back with
//!   `agendado`), so each one is HTTP + SQLite commit + relay + fan-out.
//! - `node`: mints an HS256 token with the gateway's secret and triggers each broadcast with
//!   `POST /broadcast`, carrying an appointment payload of the given size.

mod burst;
mod check;
mod client;
mod http;
mod opts;
mod sequential;
mod sockets;
mod stats;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use check::Checker;
use opts::{Opts, Target, USAGE, parse_args};
use stats::Summary;

/// How one broadcast is triggered.
pub enum Trigger {
    /// `PATCH /api/appointments/{id}/status` on Fila.
    Fila {
        agent: ureq::Agent,
        url: String,
        token: String,
        appointments: Vec<i64>,
    },
    /// `POST /broadcast` on the Node gateway.
    Node {
        agent: ureq::Agent,
        url: String,
        account_id: i64,
        data: Value,
    },
}

impl Trigger {
    /// Fires broadcast `k`, returning the instant just before the request left and the
    /// request's round trip. The Node gateway is told the `seq` when there is one, and numbers
    /// the broadcasts itself in the order they reach it when there is none (a burst).
    pub fn fire(&self, k: usize, seq: Option<i64>) -> Result<(Instant, Duration), String> {
        match self {
            Trigger::Fila {
                agent,
                url,
                token,
                appointments,
            } => {
                let id = appointments[k / 2];
                let action = if k.is_multiple_of(2) {
                    "check-in"
                } else {
                    "agendado"
                };
                let body = json!({ "action": action }).to_string();
                let t0 = Instant::now();
                http::send(
                    agent,
                    "PATCH",
                    &format!("{url}/api/appointments/{id}/status"),
                    Some(token),
                    Some(&body),
                )?;
                Ok((t0, t0.elapsed()))
            }
            Trigger::Node {
                agent,
                url,
                account_id,
                data,
            } => {
                let event = if k.is_multiple_of(2) {
                    "appointments.checkin"
                } else {
                    "appointments.updated"
                };
                let mut body = json!({ "accountId": account_id, "event": event, "data": data });
                if let Some(seq) = seq {
                    body["seq"] = json!(seq);
                }
                let body = body.to_string();
                let t0 = Instant::now();
                http::send(
                    agent,
                    "POST",
                    &format!("{url}/broadcast"),
                    None,
                    Some(&body),
                )?;
                Ok((t0, t0.elapsed()))
            }
        }
    }
}

/// What the setup hands to the run: the socket token, the trigger, the `seq` of the first
/// broadcast.
pub struct Prepared {
    token: String,
    /// The token of the other account's sockets (`--foreign-clients`).
    foreign_token: Option<String>,
    pub trigger: Arc<Trigger>,
    pub first_seq: i64,
    writes: Option<stats::Writes>,
}

fn login(agent: &ureq::Agent, url: &str, email: &str, password: &str) -> Result<String, String> {
    let login = http::send_json(
        agent,
        "POST",
        &format!("{url}/api/auth/login"),
        None,
        &json!({ "email": email, "password": password }),
    )?;
    login["accessToken"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "login answered without accessToken".to_string())
}

/// `total` status changes through REST from `appointments.len()` threads at once, each thread
/// toggling its own appointment between check-in and agendado. Every change is one committed
/// transaction that writes the appointment, its history and the event log.
fn write_burst(
    url: &str,
    token: &str,
    appointments: &[i64],
    total: usize,
) -> Result<stats::Writes, String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let threads: Vec<_> = appointments
            .iter()
            .map(|&id| {
                let next = &next;
                scope.spawn(move || -> Result<Vec<Duration>, String> {
                    let agent = http::agent();
                    let mut mine = Vec::new();
                    let mut checked_in = false;
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        let action = if checked_in { "agendado" } else { "check-in" };
                        let body = json!({ "action": action }).to_string();
                        let t0 = Instant::now();
                        http::send(
                            &agent,
                            "PATCH",
                            &format!("{url}/api/appointments/{id}/status"),
                            Some(token),
                            Some(&body),
                        )?;
                        mine.push(t0.elapsed());
                        checked_in = !checked_in;
                    }
                    Ok(mine)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in threads {
            all.extend(
                t.join()
                    .map_err(|_| "a writer thread panicked".to_string())??,
            );
        }
        Ok::<_, String>(all)
    })?;
    Ok(stats::Writes::new(
        appointments.len(),
        started.elapsed(),
        latencies,
    ))
}

fn prepare(opts: &Opts) -> Result<Prepared, String> {
    let agent = http::agent();
    match opts.target {
        Target::Fila => {
            let token = login(&agent, &opts.url, &opts.email, &opts.password)?;
            let foreign_token = if opts.foreign_clients > 0 {
                Some(login(
                    &agent,
                    &opts.url,
                    &opts.foreign_email,
                    &opts.foreign_password,
                )?)
            } else {
                None
            };
            let api = |method: &str, path: &str, body: Value| {
                http::send_json(
                    &agent,
                    method,
                    &format!("{}/api{path}", opts.url),
                    Some(&token),
                    &body,
                )
            };
            let procedure = api(
                "POST",
                "/procedures",
                json!({ "name": "Ultrassom: Tireoide", "price": "100" }),
            )?;
            let procedure_id = procedure["id"].as_i64().ok_or("procedure without id")?;
            let doctor = api(
                "POST",
                "/doctors",
                json!({ "name": "Dr. Victor", "procedureIds": [procedure_id],
                        "startTime": "08:00", "endTime": "16:00", "intervalMinutes": 15,
                        "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo"] }),
            )?;
            let doctor_id = doctor["id"].as_i64().ok_or("doctor without id")?;
            let patient = api(
                "POST",
                "/patients",
                json!({ "name": "João Silva", "phone": "(81) 99999-9999",
                        "dateBirth": "1980-05-17", "cpf": "123.456.789-09" }),
            )?;
            let patient_id = patient["id"].as_i64().ok_or("patient without id")?;
            let date = today_utc();
            let mut appointments = Vec::new();
            let writers = if opts.write_burst > 0 {
                opts.write_concurrency
            } else {
                0
            };
            for i in 0..opts.broadcasts.div_ceil(2) + writers {
                let minutes = 8 * 60 + (i % 32) * 15;
                let (start, end) = (
                    format!("{:02}:{:02}", minutes / 60, minutes % 60),
                    format!("{:02}:{:02}", (minutes + 15) / 60, (minutes + 15) % 60),
                );
                let created = api(
                    "POST",
                    "/appointments",
                    json!({ "patientId": patient_id, "procedures": [{ "id": procedure_id }],
                            "doctorId": doctor_id, "date": date, "startTime": start,
                            "endTime": end, "notes": "Observações sobre o agendamento" }),
                )?;
                appointments.push(created[0]["id"].as_i64().ok_or("appointment without id")?);
            }
            // The write burst uses appointments of its own, after the broadcasts' ones.
            let writes = if writers > 0 {
                let mine = appointments.split_off(opts.broadcasts.div_ceil(2));
                Some(write_burst(&opts.url, &token, &mine, opts.write_burst)?)
            } else {
                None
            };
            // The account's last `seq` so far: the first broadcast is the next one.
            let last = http::last_seq(&agent, &opts.url, &token)?;
            Ok(Prepared {
                token: token.clone(),
                foreign_token,
                writes,
                trigger: Arc::new(Trigger::Fila {
                    agent,
                    url: opts.url.clone(),
                    token,
                    appointments,
                }),
                first_seq: last + 1,
            })
        }
        Target::Node => {
            let token = http::mint_jwt(&opts.secret, opts.account_id, 3600);
            Ok(Prepared {
                token,
                // Another account of the same gateway.
                foreign_token: (opts.foreign_clients > 0)
                    .then(|| http::mint_jwt(&opts.secret, opts.account_id + 1, 3600)),
                writes: None,
                trigger: Arc::new(Trigger::Node {
                    agent,
                    url: opts.url.clone(),
                    account_id: opts.account_id,
                    data: node_payload(opts.account_id, opts.payload_bytes),
                }),
                first_seq: 1,
            })
        }
    }
}

/// An appointment payload like Fila's (API.md, "the event payload"), its `notes` padded so the
/// serialized JSON is `bytes` long (when `bytes` is larger than the bare payload).
fn node_payload(account_id: i64, bytes: usize) -> Value {
    let mut data = json!({"id":123,"date":"2025-01-23T00:00:00.000Z","startTime":"09:00","endTime":"09:15",
        "notes":"","accountId":account_id,
        "createdAt":"2025-01-22T10:00:00.000Z","updatedAt":"2025-01-23T09:00:00.000Z","deletedAt":null,
        "doctor":{"id":1,"name":"Dr. Victor"},
        "patient":{"id":456,"name":"João Silva","contact":{"phone":"(81) 99999-9999"}},
        "status":{"id":2,"name":"Check-in","color":"#17a2b8"},
        "appointmentProcedures":{"procedure":{"id":3699,"name":"Ultrassom: Tireoide","price":"100"}}});
    let bare = data.to_string().len();
    let pad = bytes.saturating_sub(bare);
    data["notes"] = Value::String("x".repeat(pad));
    data
}

fn today_utc() -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm); the day does not matter
    // to the benchmark, it only has to be a valid date.
    let days = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn run(opts: Opts) -> Result<Summary, String> {
    let started = Instant::now();
    eprintln!(
        "[{}] preparing {} (N={} clients, M={} broadcasts{}{})",
        opts.label,
        opts.url,
        opts.clients,
        opts.broadcasts,
        if opts.burst { ", burst" } else { "" },
        if opts.connect_urls.len() > 1 {
            format!(", sockets over {} nodes", opts.connect_urls.len())
        } else {
            String::new()
        }
    );
    let o = opts.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&o))
        .await
        .map_err(|e| e.to_string())??;

    // Let the server settle after the setup, then read its RSS with no client connected.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = stats::rss_each(&opts.pids)?;

    let mut sockets = sockets::connect(&opts, &prepared).await?;
    eprintln!(
        "[{}] {} clients connected in {:.2} s",
        opts.label,
        opts.clients + opts.foreign_clients,
        sockets.connect_time.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = stats::rss_each(&opts.pids)?;

    let n = opts.clients;
    let mut checker = Checker::new(n, prepared.first_seq);
    let probe = if opts.callgrind {
        Some(stats::Probe::callgrind(opts.pid)?)
    } else if opts.perf {
        Some(stats::Probe::perf(&opts.pids)?)
    } else {
        None
    };
    let cpu_started = (stats::cpu_ticks_each(&opts.pids)?, sockets.cpu_ticks()?);
    let broadcasts_started = Instant::now();
    let mut outcome = if opts.burst {
        burst::run(&opts, &prepared, &mut sockets.rx, &mut checker).await?
    } else {
        sequential::run(&opts, &prepared, &mut sockets.rx, &mut checker).await?
    };
    let broadcast_time = broadcasts_started.elapsed();
    let cpu_ended = (stats::cpu_ticks_each(&opts.pids)?, sockets.cpu_ticks()?);
    let context_switches = match probe {
        Some(p) => Some(p.stop()?).filter(|_| opts.perf),
        None => None,
    };

    // Anything still arriving now is a duplicate or an event nobody triggered.
    let grace = tokio::time::sleep(Duration::from_millis(500));
    tokio::pin!(grace);
    tokio::select! {
        _ = &mut grace => {}
        d = sockets.rx.recv() => match d {
            Some(d) if d.closed.is_some() => {
                return Err(format!("client {} lost its connection: {}", d.client, d.closed.unwrap_or_default()));
            }
            Some(d) if d.client as usize >= n => return Err(format!("FOREIGN: client {} of the other account got seq {}", d.client, d.seq)),
            Some(d) => return Err(format!("DUPLICATE or UNEXPECTED: client {} got seq {} after the last broadcast", d.client, d.seq)),
            None => return Err("all clients went away".into()),
        }
    }
    let rss_after = stats::rss_each(&opts.pids)?;
    let expected = n * opts.broadcasts;
    if outcome.deliveries != expected {
        return Err(format!(
            "deliveries {} != N×M = {expected}",
            outcome.deliveries
        ));
    }
    let connect_time = sockets.connect_time;
    sockets.close();
    let nodes = stats::Nodes::new(
        &opts.connect_urls,
        &rss_before,
        &rss_connected,
        &cpu_started.0,
        &cpu_ended.0,
        (opts.clients + opts.foreign_clients).div_ceil(opts.connect_urls.len()),
        outcome.deliveries,
    );
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    Ok(Summary::new(
        &opts.label,
        n,
        opts.broadcasts,
        outcome.deliveries,
        expected,
        outcome.payload_bytes,
        &mut outcome.last_client,
        &mut outcome.all,
        &mut outcome.http_rtt,
        sum(&rss_before),
        sum(&rss_connected),
        sum(&rss_after),
        connect_time,
        broadcast_time,
        started.elapsed(),
        stats::Extra {
            foreign_clients: opts.foreign_clients,
            rate: opts.rate,
            server_cpu: stats::ticks_to_duration(sum(&cpu_ended.0) - sum(&cpu_started.0)),
            client_cpu: stats::ticks_to_duration(cpu_ended.1 - cpu_started.1),
            context_switches,
            writes: prepared.writes,
            waves: opts.burst.then_some(outcome.waves),
            nodes,
        },
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        return worker_main(&args);
    }
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fanout: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let limit = opts.time_limit;
    let label = opts.label.clone();
    let result = runtime.block_on(async move {
        match tokio::time::timeout(limit, run(opts)).await {
            Ok(r) => r,
            Err(_) => Err(format!("time limit of {limit:?} exceeded")),
        }
    });
    // Do not wait for the client tasks: close their sockets with the process.
    runtime.shutdown_background();
    match result {
        Ok(summary) => {
            summary.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("[{label}] FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `fanout --worker ...`: sockets for the tool that started this process (see `worker`).
fn worker_main(args: &[String]) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(worker::run(args));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout worker: {e}");
            ExitCode::FAILURE
        }
    }
}
