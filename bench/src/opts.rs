//! The command line of `fanout`.

use std::time::Duration;

pub const USAGE: &str = "\
usage: fanout --target fila|node --url http://127.0.0.1:PORT --pid PID
              [--clients N] [--broadcasts M] [--label NAME]
              [--time-limit SECS] [--broadcast-timeout SECS] [--connect-concurrency K]
              [--rate R] [--foreign-clients F] [--perf | --callgrind]
  fila: --email E --password P [--foreign-email E2 --foreign-password P2]
        [--write-burst W --write-concurrency C]
  node: --secret S [--account-id A] [--payload-bytes B]
  --rate R             at most R broadcasts per second (0: the next as soon as all have it)
  --foreign-clients F  F more sockets on another account; any event reaching them fails the run
  --perf               count the server's context switches over the broadcasts (perf stat)
  --callgrind          the server runs under valgrind --tool=callgrind --instr-atstart=no:
                       switch its instrumentation on for the broadcasts only
  --write-burst W      before the sockets connect, W status changes through REST from C
                       threads at once (default 8): check-ins per second, each committed";

#[derive(Debug, Clone)]
pub struct Opts {
    pub target: Target,
    pub url: String,
    pub pid: u32,
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
    let pid = num(get("pid"), "pid", 0)? as u32;
    if pid == 0 {
        return Err("--pid (the server's process id) is required".into());
    }
    let opts = Opts {
        target,
        url,
        pid,
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
    if opts.clients + opts.foreign_clients > 20_000 {
        return Err("--clients plus --foreign-clients must be at most 20000".into());
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
    if opts.clients == 0 || opts.clients > 20_000 {
        return Err("--clients must be 1..=20000".into());
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
