//! The command line of `fanout`.

use std::time::Duration;

pub const USAGE: &str = "\
usage: fanout --target fila|node --url http://127.0.0.1:PORT --pid PID[,PID...]
              [--clients N] [--broadcasts M] [--label NAME]
              [--time-limit SECS] [--broadcast-timeout SECS] [--connect-concurrency K]
              [--rate R] [--foreign-clients F] [--perf | --callgrind]
              [--burst [--burst-threads T]] [--connect-urls URL1,URL2,...]
  fila: --email E --password P [--foreign-email E2 --foreign-password P2]
        [--write-burst W --write-concurrency C]
  node: --secret S [--account-id A] [--payload-bytes B]
  --rate R             at most R broadcasts per second (0: the next as soon as all have it)
  --foreign-clients F  F more sockets on another account; any event reaching them fails the run
  --perf               count the server's context switches over the broadcasts (perf stat)
  --callgrind          the server runs under valgrind --tool=callgrind --instr-atstart=no:
                       switch its instrumentation on for the broadcasts only
  --burst              the M changes all at once: the check-ins (even k) as one wave from T
                       threads (default 32), then, once all have them, the agendado wave
                       (odd k); every socket must get every seq of a wave once, in order
  --connect-urls L     the sockets round-robin over these nodes (changes still go to --url);
                       with one --pid per node (same order) RSS and CPU are summed over them
  --write-burst W      before the sockets connect, W status changes through REST from C
                       threads at once (default 8): check-ins per second, each committed";

#[derive(Debug, Clone)]
pub struct Opts {
    pub target: Target,
    pub url: String,
    /// The server's process id (the first node's with --connect-urls).
    pub pid: u32,
    /// Every node's process id, in --connect-urls order (one entry without it).
    pub pids: Vec<u32>,
    /// Where the sockets connect, round-robin by client id.
    pub connect_urls: Vec<String>,
    pub burst: bool,
    pub burst_threads: usize,
    pub clients: usize,
    pub broadcasts: usize,
    pub label: String,
    pub time_limit: Duration,
    pub broadcast_timeout: Duration,
    pub connect_concurrency: usize,
    pub email: String,
    pub password: String,
    pub secret: String,
    pub account_id: i64,
    pub payload_bytes: usize,
    pub rate: f64,
    pub foreign_clients: usize,
    pub foreign_email: String,
    pub foreign_password: String,
    pub perf: bool,
    pub callgrind: bool,
    pub write_burst: usize,
    pub write_concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Fila,
    Node,
}

pub fn parse_args() -> Result<Opts, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == &format!("--{name}"))
            .and_then(|i| args.get(i + 1).cloned())
    };
    let num = |v: Option<String>, name: &str, default: u64| -> Result<u64, String> {
        match v {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("--{name}: not a number: {s}")),
        }
    };
    let target = match get("target").as_deref() {
        Some("fila") => Target::Fila,
        Some("node") => Target::Node,
        _ => return Err("--target must be fila or node".into()),
    };
    let url = get("url")
        .ok_or("--url is required")?
        .trim_end_matches('/')
        .to_string();
    if !url.starts_with("http://127.0.0.1:") && !url.starts_with("http://localhost:") {
        return Err("--url must be a loopback http://127.0.0.1:PORT address".into());
    }
    let pids = get("pid")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u32>()
                .map_err(|_| format!("--pid: not a process id: {p}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pid = pids.first().copied().unwrap_or(0);
    if pid == 0 {
        return Err("--pid (the server's process id) is required".into());
    }
    let connect_urls = match get("connect-urls") {
        None => vec![url.clone()],
        Some(list) => list
            .split(',')
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect(),
    };
    if connect_urls.is_empty()
        || connect_urls
            .iter()
            .any(|u| !u.starts_with("http://127.0.0.1:") && !u.starts_with("http://localhost:"))
    {
        return Err("--connect-urls must list loopback http://127.0.0.1:PORT addresses".into());
    }
    if pids.len() > 1 && pids.len() != connect_urls.len() {
        return Err("--pid: give one process id, or one per --connect-urls node".into());
    }
    let opts = Opts {
        target,
        url,
        pid,
        pids,
        connect_urls,
        burst: args.iter().any(|a| a == "--burst"),
        burst_threads: num(get("burst-threads"), "burst-threads", 32)?.clamp(1, 64) as usize,
        clients: num(get("clients"), "clients", 1000)? as usize,
        broadcasts: num(get("broadcasts"), "broadcasts", 200)? as usize,
        label: get("label").unwrap_or_else(|| {
            match target {
                Target::Fila => "fila",
                Target::Node => "node",
            }
            .into()
        }),
        time_limit: Duration::from_secs(num(get("time-limit"), "time-limit", 300)?),
        broadcast_timeout: Duration::from_secs(num(
            get("broadcast-timeout"),
            "broadcast-timeout",
            10,
        )?),
        connect_concurrency: num(get("connect-concurrency"), "connect-concurrency", 64)?.max(1)
            as usize,
        email: get("email").unwrap_or_default(),
        password: get("password").unwrap_or_default(),
        secret: get("secret").unwrap_or_default(),
        account_id: num(get("account-id"), "account-id", 1)? as i64,
        payload_bytes: num(get("payload-bytes"), "payload-bytes", 0)? as usize,
        rate: match get("rate") {
            None => 0.0,
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or(format!("--rate: not a rate: {s}"))?,
        },
        foreign_clients: num(get("foreign-clients"), "foreign-clients", 0)? as usize,
        foreign_email: get("foreign-email").unwrap_or_default(),
        foreign_password: get("foreign-password").unwrap_or_default(),
        perf: args.iter().any(|a| a == "--perf"),
        callgrind: args.iter().any(|a| a == "--callgrind"),
        write_burst: num(get("write-burst"), "write-burst", 0)? as usize,
        write_concurrency: num(get("write-concurrency"), "write-concurrency", 8)?.clamp(1, 64)
            as usize,
    };
    // Each socket takes one local port toward its node (32768-60999 by default).
    let per_node = (opts.clients + opts.foreign_clients).div_ceil(opts.connect_urls.len());
    if per_node > 25_000 {
        return Err("at most 25000 sockets (--clients plus --foreign-clients) per node".into());
    }
    if opts.burst && opts.rate > 0.0 {
        return Err("--burst fires each wave at once: leave --rate at 0".into());
    }
    if opts.callgrind && opts.pids.len() > 1 {
        return Err("--callgrind follows one server".into());
    }
    if opts.target == Target::Fila
        && opts.foreign_clients > 0
        && (opts.foreign_email.is_empty() || opts.foreign_password.is_empty())
    {
        return Err(
            "--foreign-clients on fila needs --foreign-email and --foreign-password".into(),
        );
    }
    if opts.target == Target::Node && opts.write_burst > 0 {
        return Err("--write-burst is for --target fila".into());
    }
    if opts.clients == 0 || opts.clients > 100_000 {
        return Err("--clients must be 1..=100000".into());
    }
    if opts.broadcasts == 0 || opts.broadcasts > 10_000 {
        return Err("--broadcasts must be 1..=10000".into());
    }
    match target {
        Target::Fila if opts.email.is_empty() || opts.password.is_empty() => {
            Err("--target fila needs --email and --password".into())
        }
        Target::Node if opts.secret.is_empty() => Err("--target node needs --secret".into()),
        _ => Ok(opts),
    }
}
