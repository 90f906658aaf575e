//! Percentiles, the server's RSS, and the printed summary.

use std::time::Duration;

/// VmRSS of a process, in bytes (`/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// VmRSS of each process.
pub fn rss_each(pids: &[u32]) -> Result<Vec<u64>, String> {
    pids.iter().map(|&p| rss_bytes(p)).collect()
}

/// CPU ticks of each process.
pub fn cpu_ticks_each(pids: &[u32]) -> Result<Vec<u64>, String> {
    pids.iter().map(|&p| cpu_ticks(p)).collect()
}

/// User plus system CPU time of a process so far, in clock ticks (`/proc/<pid>/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    stat_ticks(&format!("/proc/{pid}/stat"))
}

/// The same for this process (the load tool: its clients and triggers).
pub fn cpu_ticks_self() -> Result<u64, String> {
    stat_ticks("/proc/self/stat")
}

fn stat_ticks(path: &str) -> Result<u64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    // The command name may hold spaces: fields count from the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    match (field(11), field(12)) {
        (Some(u), Some(s)) => Ok(u + s),
        _ => Err(format!("no utime/stime in {path}")),
    }
}

/// Linux reports CPU times in USER_HZ, 100 per second.
pub fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// Counts on the server over the broadcasts: `perf stat -e context-switches -p PID` (software
/// counters: this VM exposes no hardware ones), or, when the server runs under
/// `valgrind --tool=callgrind --instr-atstart=no`, callgrind's instrumentation switched on.
pub enum Probe {
    Perf {
        child: std::process::Child,
        out: std::path::PathBuf,
    },
    Callgrind {
        pid: u32,
    },
}

impl Probe {
    pub fn perf(pids: &[u32]) -> Result<Probe, String> {
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        let out = std::env::temp_dir().join(format!("fanout-perf-{}.csv", std::process::id()));
        let child = std::process::Command::new("perf")
            .args(["stat", "-x", ",", "-e", "context-switches", "-o"])
            .arg(&out)
            .args(["-p", &pids.join(",")])
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting perf: {e}"))?;
        // perf needs a moment to attach.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Probe::Perf { child, out })
    }

    pub fn callgrind(pid: u32) -> Result<Probe, String> {
        callgrind_control(pid, "on")?;
        Ok(Probe::Callgrind { pid })
    }

    /// Stops counting; the server's context switches (perf), or 0 (callgrind writes its own
    /// profile when the server exits).
    pub fn stop(self) -> Result<u64, String> {
        match self {
            Probe::Perf { mut child, out } => {
                let _ = std::process::Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                let _ = child.wait();
                let text =
                    std::fs::read_to_string(&out).map_err(|e| format!("perf output: {e}"))?;
                let _ = std::fs::remove_file(&out);
                Ok(text
                    .lines()
                    .find(|l| l.contains("context-switches"))
                    .and_then(|l| l.split(',').next())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0))
            }
            Probe::Callgrind { pid } => {
                callgrind_control(pid, "off")?;
                Ok(0)
            }
        }
    }
}

fn callgrind_control(pid: u32, on_off: &str) -> Result<(), String> {
    let status = std::process::Command::new("callgrind_control")
        .args(["-i", on_off, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("callgrind_control -i {on_off} {pid} failed"))
    }
}

/// The write burst's outcome (`--write-burst`).
pub struct Writes {
    pub threads: usize,
    pub count: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Writes {
    pub fn new(threads: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Writes {
        latencies.sort_unstable();
        Writes {
            threads,
            count: latencies.len(),
            elapsed,
            p50: pct(&latencies, 50.0),
            p99: pct(&latencies, 99.0),
        }
    }

    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Figures beyond the latency table.
pub struct Extra {
    pub foreign_clients: usize,
    pub rate: f64,
    /// The server's and this tool's CPU time over the broadcasts.
    pub server_cpu: Duration,
    pub client_cpu: Duration,
    /// The server's context switches over the broadcasts (`--perf`).
    pub context_switches: Option<u64>,
    pub writes: Option<Writes>,
    /// `--burst`: per wave, from its first request to its last delivery.
    pub waves: Option<Vec<Duration>>,
    /// Per node, with `--connect-urls` and one pid per node.
    pub nodes: Nodes,
}

/// Each node's RSS per socket and CPU per delivery.
pub struct Nodes(Vec<Node>);

struct Node {
    url: String,
    rss_before: u64,
    rss_connected: u64,
    per_socket: i64,
    cpu: Duration,
    /// This node's share of the deliveries (its sockets' events).
    deliveries: usize,
}

impl Nodes {
    /// Empty unless there is one pid per node of several.
    pub fn new(
        urls: &[String],
        rss_before: &[u64],
        rss_connected: &[u64],
        cpu_started: &[u64],
        cpu_ended: &[u64],
        sockets_per_node: usize,
        deliveries: usize,
    ) -> Nodes {
        if urls.len() < 2 || rss_before.len() != urls.len() {
            return Nodes(Vec::new());
        }
        Nodes(
            (0..urls.len())
                .map(|i| Node {
                    url: urls[i].clone(),
                    rss_before: rss_before[i],
                    rss_connected: rss_connected[i],
                    per_socket: (rss_connected[i] as i64 - rss_before[i] as i64)
                        / sockets_per_node.max(1) as i64,
                    cpu: ticks_to_duration(cpu_ended[i] - cpu_started[i]),
                    deliveries: deliveries / urls.len(),
                })
                .collect(),
        )
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub struct Summary {
    label: String,
    clients: usize,
    broadcasts: usize,
    deliveries: usize,
    expected: usize,
    payload_bytes: usize,
    last: [Duration; 3],
    all: [Duration; 3],
    http: [Duration; 2],
    rss_before: u64,
    rss_connected: u64,
    rss_after: u64,
    connect_time: Duration,
    broadcast_time: Duration,
    total_time: Duration,
    extra: Extra,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        label: &str,
        clients: usize,
        broadcasts: usize,
        deliveries: usize,
        expected: usize,
        payload_bytes: usize,
        last_client: &mut [Duration],
        all: &mut [Duration],
        http: &mut [Duration],
        rss_before: u64,
        rss_connected: u64,
        rss_after: u64,
        connect_time: Duration,
        broadcast_time: Duration,
        total_time: Duration,
        extra: Extra,
    ) -> Summary {
        last_client.sort_unstable();
        all.sort_unstable();
        http.sort_unstable();
        let three = |v: &[Duration]| [pct(v, 50.0), pct(v, 99.0), pct(v, 100.0)];
        Summary {
            label: label.to_string(),
            clients,
            broadcasts,
            deliveries,
            expected,
            payload_bytes,
            last: three(last_client),
            all: three(all),
            http: [pct(http, 50.0), pct(http, 99.0)],
            rss_before,
            rss_connected,
            rss_after,
            connect_time,
            broadcast_time,
            total_time,
            extra,
        }
    }

    fn per_delivery(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e6 / self.deliveries.max(1) as f64
    }

    /// Over every connected socket, the other account's included.
    fn per_connection(&self) -> i64 {
        (self.rss_connected as i64 - self.rss_before as i64)
            / (self.clients + self.extra.foreign_clients) as i64
    }

    pub fn print(&self) {
        let s = self;
        eprintln!(
            "[{}] N={} M={} deliveries {}/{} (exact, no loss, no duplicate), payload {} B",
            s.label, s.clients, s.broadcasts, s.deliveries, s.expected, s.payload_bytes
        );
        eprintln!(
            "[{}] last client  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.label,
            ms(s.last[0]),
            ms(s.last[1]),
            ms(s.last[2])
        );
        eprintln!(
            "[{}] all delivs   p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.label,
            ms(s.all[0]),
            ms(s.all[1]),
            ms(s.all[2])
        );
        eprintln!(
            "[{}] trigger HTTP p50 {:.2} ms  p99 {:.2} ms",
            s.label,
            ms(s.http[0]),
            ms(s.http[1])
        );
        eprintln!(
            "[{}] server RSS before {:.1} MiB, connected {:.1} MiB, after broadcasts {:.1} MiB → {} B per connection",
            s.label,
            mib(s.rss_before),
            mib(s.rss_connected),
            mib(s.rss_after),
            s.per_connection()
        );
        eprintln!(
            "[{}] connect {:.2} s, broadcasts {:.2} s, total {:.2} s",
            s.label,
            s.connect_time.as_secs_f64(),
            s.broadcast_time.as_secs_f64(),
            s.total_time.as_secs_f64()
        );
        let x = &s.extra;
        eprintln!(
            "[{}] {} sockets of another account received nothing; rate {}",
            s.label,
            x.foreign_clients,
            if x.rate > 0.0 {
                format!("{} broadcasts/s", x.rate)
            } else {
                "as fast as delivered".into()
            }
        );
        eprintln!(
            "[{}] CPU over the broadcasts: server {:.2} s = {:.2} µs per delivery; load tool {:.2} s = {:.2} µs per delivery",
            s.label,
            x.server_cpu.as_secs_f64(),
            s.per_delivery(x.server_cpu),
            x.client_cpu.as_secs_f64(),
            s.per_delivery(x.client_cpu)
        );
        if let Some(cs) = x.context_switches {
            eprintln!(
                "[{}] server context switches over the broadcasts: {} = {:.1} per broadcast",
                s.label,
                cs,
                cs as f64 / s.broadcasts.max(1) as f64
            );
        }
        if let Some(w) = &x.writes {
            eprintln!(
                "[{}] write burst: {} status changes from {} threads in {:.2} s = {:.0} per second; PATCH p50 {:.2} ms p99 {:.2} ms",
                s.label,
                w.count,
                w.threads,
                w.elapsed.as_secs_f64(),
                w.per_second(),
                ms(w.p50),
                ms(w.p99)
            );
        }
        if let Some(waves) = &x.waves {
            let list: Vec<String> = waves.iter().map(|w| format!("{:.2} ms", ms(*w))).collect();
            eprintln!(
                "[{}] burst: {} waves (check-ins, then agendado); first request to last delivery: {}",
                s.label,
                waves.len(),
                list.join(", ")
            );
            println!("WAVES {} | {} |", s.label, list.join(" | "));
        }
        for node in &x.nodes.0 {
            let line = format!(
                "{} | {:.1} → {:.1} | {} | {:.2} |",
                node.url,
                mib(node.rss_before),
                mib(node.rss_connected),
                node.per_socket,
                node.cpu.as_secs_f64() * 1e6 / node.deliveries.max(1) as f64
            );
            eprintln!(
                "[{}] node {line} (RSS MiB before → connected, bytes per socket, CPU µs per delivery)",
                s.label
            );
            println!("NODE {} | {line}", s.label);
        }
        // One machine-readable line and one Markdown table row on stdout.
        println!(
            "JSON {}",
            serde_json::json!({
                "label": s.label, "clients": s.clients, "broadcasts": s.broadcasts,
                "deliveries": s.deliveries, "expected": s.expected, "payloadBytes": s.payload_bytes,
                "lastClientMs": {"p50": ms(s.last[0]), "p99": ms(s.last[1]), "max": ms(s.last[2])},
                "allDeliveriesMs": {"p50": ms(s.all[0]), "p99": ms(s.all[1]), "max": ms(s.all[2])},
                "triggerHttpMs": {"p50": ms(s.http[0]), "p99": ms(s.http[1])},
                "rssBytes": {"before": s.rss_before, "connected": s.rss_connected, "after": s.rss_after},
                "bytesPerConnection": s.per_connection(),
                "connectSeconds": s.connect_time.as_secs_f64(),
                "broadcastSeconds": s.broadcast_time.as_secs_f64(),
                "foreignClients": x.foreign_clients,
                "rate": x.rate,
                "serverCpuUsPerDelivery": s.per_delivery(x.server_cpu),
                "clientCpuUsPerDelivery": s.per_delivery(x.client_cpu),
                "serverContextSwitches": x.context_switches,
                "writesPerSecond": x.writes.as_ref().map(Writes::per_second),
                "burstWavesMs": x.waves.as_ref().map(|w| w.iter().map(|d| ms(*d)).collect::<Vec<_>>()),
            })
        );
        println!(
            "ROW | {} | {} | {} | {}/{} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | {:.1} → {:.1} | {} | {:.1} / {:.1} |",
            s.label,
            s.clients,
            s.broadcasts,
            s.deliveries,
            s.expected,
            ms(s.last[0]),
            ms(s.last[1]),
            ms(s.last[2]),
            ms(s.all[0]),
            ms(s.all[1]),
            ms(s.all[2]),
            mib(s.rss_before),
            mib(s.rss_connected),
            s.per_connection(),
            s.per_delivery(x.server_cpu),
            s.per_delivery(x.client_cpu)
        );
    }
}
