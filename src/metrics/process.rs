//! The standard `process_*` metrics of the Prometheus client libraries, read from `/proc` at
//! each scrape (Linux; elsewhere none): CPU seconds, resident and virtual memory, open and
//! maximum file descriptors, and the start time.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads this process's figures at each scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// This process's figures, as `/proc` gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub start_time_seconds: f64,
    pub open_fds: i64,
    pub max_fds: i64,
}

impl ProcessStats {
    /// The figures now, or `None` where `/proc` cannot be read.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
        let max_fds = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(0);
        parse(&stat, &boot, ticks_per_second(), page_size()).map(|mut stats| {
            // The count includes the descriptor `read_dir` held open to list them.
            stats.open_fds = i64::try_from(open_fds.saturating_sub(1)).unwrap_or(i64::MAX);
            stats.max_fds = i64::try_from(max_fds).unwrap_or(i64::MAX);
            stats
        })
    }
}

/// The figures in `/proc/self/stat` (`stat`) and `/proc/stat` (`boot`, for `btime`).
fn parse(stat: &str, boot: &str, ticks: f64, page: f64) -> Option<ProcessStats> {
    // The command name (field 2) is in parentheses and may hold spaces: fields after it.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // Field n of proc(5) is fields[n - 3].
    let number = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let btime = boot
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(ProcessStats {
        cpu_seconds: (number(14)? + number(15)?) / ticks,
        start_time_seconds: btime + number(22)? / ticks,
        virtual_bytes: number(23)?,
        resident_bytes: number(24)? * page,
        open_fds: 0,
        max_fds: 0,
    })
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 { page as f64 } else { 4096.0 }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(stats) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(stats.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, ConstGauge<f64>); 3] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                ConstGauge::new(stats.resident_bytes),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                ConstGauge::new(stats.virtual_bytes),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                ConstGauge::new(stats.start_time_seconds),
            ),
        ];
        for (name, help, gauge) in gauges {
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let fds: [(&str, &str, ConstGauge<i64>); 2] = [
            (
                "process_open_fds",
                "Number of open file descriptors.",
                ConstGauge::new(stats.open_fds),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                ConstGauge::new(stats.max_fds),
            ),
        ];
        for (name, help, gauge) in fds {
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_line_gives_cpu_memory_and_start_time_even_with_spaces_in_the_name() {
        let stat = "4242 (fila (a b)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 \
                    9 0 1000 104857600 2560 18446744073709551615";
        let boot = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let stats = parse(stat, boot, 100.0, 4096.0).unwrap();
        assert_eq!(stats.cpu_seconds, 3.0);
        assert_eq!(stats.start_time_seconds, 1_700_000_010.0);
        assert_eq!(stats.virtual_bytes, 104_857_600.0);
        assert_eq!(stats.resident_bytes, 2560.0 * 4096.0);
        assert!(parse("garbage", boot, 100.0, 4096.0).is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_and_open_files() {
        let stats = ProcessStats::read().unwrap();
        assert!(
            stats.resident_bytes > 0.0 && stats.open_fds > 0,
            "{stats:?}"
        );
        assert!(stats.start_time_seconds > 1_600_000_000.0, "{stats:?}");
    }
}
