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
        }
    }

    fn per_connection(&self) -> i64 {
        (self.rss_connected as i64 - self.rss_before as i64) / self.clients as i64
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
            })
        );
        println!(
            "ROW | {} | {} | {} | {}/{} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | {:.1} → {:.1} | {} |",
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
            s.per_connection()
        );
    }
}
