//! The command line of `fanout`.

use std::time::Duration;

pub const USAGE: &str = "\
usage: fanout --target fila|node --url http://127.0.0.1:PORT --pid PID
              [--clients N] [--broadcasts M] [--label NAME]
              [--time-limit SECS] [--broadcast-timeout SECS] [--connect-concurrency K]
  fila: --email E --password P
  node: --secret S [--account-id A] [--payload-bytes B]";

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
    };
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
