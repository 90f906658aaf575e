//! Measures the wait estimate's error by replaying clinic days.
//!
//! Generated days (default): `cargo run --example wait_replay -- --days 30`. Each replayed
//! day is estimated from the history of the days before it (`--history-days`), as the server
//! does, at every check-in and every `--tick-minutes` while each patient waits.
//!
//! A real database's history (e.g. the demo clinic's, `fila.db` after `scripts/run`):
//! `cargo run --example wait_replay -- --database-url sqlite://fila.db`.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::Row;

use fila::domain::estimate::HistoryMove;
use fila::domain::status::Status;
use fila::simulate::{self, Prediction, Summary, Visit};
use fila::store::Store;

#[derive(Debug, Parser)]
struct Args {
    /// Generated days to replay.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Generated days of history before the first replayed one.
    #[arg(long, default_value_t = 10)]
    history_days: i64,
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Minutes between two predictions while a patient waits.
    #[arg(long, default_value_t = 5)]
    tick_minutes: i64,
    /// Replay this database's status history instead of generated days.
    #[arg(long)]
    database_url: Option<String>,
}

const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60 * MIN;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tick = args.tick_minutes.max(1) * MIN;
    let predictions = match &args.database_url {
        Some(url) => replay_database(url, tick).await?,
        None => replay_generated(&args, tick),
    };
    report(&predictions);
    Ok(())
}

fn replay_generated(args: &Args, tick: i64) -> Vec<Prediction> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let doctors = simulate::default_doctors([1, 2, 3], [10, 11, 12, 13]);
    let mut history = Vec::new();
    let mut next_id = 1;
    let mut predictions = Vec::new();
    for day in 0..args.history_days + args.days {
        let visits = simulate::simulate_day(&mut rng, &doctors, day * DAY, next_id);
        next_id += visits.len() as i64 + 1;
        if day >= args.history_days {
            predictions.extend(simulate::replay_day(&history, &visits, tick));
        }
        history.extend(simulate::moves(&visits));
        // The server reads the last 30 days.
        let since = (day - 29) * DAY;
        history.retain(|m| m.at >= since);
    }
    println!(
        "replayed {} generated days (seed {}, {} days of history first), a prediction at each check-in and every {} min of waiting",
        args.days, args.seed, args.history_days, args.tick_minutes
    );
    predictions
}

async fn replay_database(url: &str, tick: i64) -> anyhow::Result<Vec<Prediction>> {
    let store = Store::connect(url).await?;
    let mut conn = store.pool().acquire().await?;
    let rows = sqlx::query(
        "SELECT h.account_id, h.appointment_id, h.doctor_id, a.procedure_id, h.from_status, \
         h.to_status, h.at, a.day FROM appointment_status_history h \
         JOIN appointments a ON a.id = h.appointment_id ORDER BY h.at, h.id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading the status history")?;
    // Per account: every move, and each appointment's moves.
    let mut moves: HashMap<i64, Vec<HistoryMove>> = HashMap::new();
    let mut by_appointment: BTreeMap<(i64, i64), (String, Vec<HistoryMove>)> = BTreeMap::new();
    for row in rows {
        let account: i64 = row.try_get(0)?;
        let Some(to) = Status::from_id(row.try_get(5)?) else {
            continue;
        };
        let m = HistoryMove {
            appointment_id: row.try_get(1)?,
            doctor_id: row.try_get(2)?,
            procedure_id: row.try_get(3)?,
            from: row.try_get::<Option<i64>, _>(4)?.and_then(Status::from_id),
            to,
            at: row.try_get(6)?,
            tier: 3,
        };
        moves.entry(account).or_default().push(m);
        by_appointment
            .entry((account, m.appointment_id))
            .or_insert_with(|| (row.try_get(7).unwrap_or_default(), Vec::new()))
            .1
            .push(m);
    }
    // Complete visits (checked in, called, finished), by account and day.
    let mut days: BTreeMap<(i64, String), Vec<Visit>> = BTreeMap::new();
    let mut tiers: HashMap<(i64, i64), i64> = HashMap::new();
    for ((account, id), (day, list)) in by_appointment {
        let tier = fila::store::appointments::get_any(&mut conn, account, id)
            .await?
            .map_or(3, |row| row.priority().tier);
        tiers.insert((account, id), tier);
        let Some(call) = list.iter().find(|m| m.to == Status::EmAtendimento) else {
            continue;
        };
        let Some(arrival) = list
            .iter()
            .rfind(|m| m.to == Status::Checkin && m.at <= call.at)
        else {
            continue;
        };
        let Some(finish) = list
            .iter()
            .find(|m| m.from == Some(Status::EmAtendimento) && m.to == Status::Finalizado)
        else {
            continue;
        };
        let (Some(doctor_id), Some(procedure_id)) = (call.doctor_id, call.procedure_id) else {
            continue;
        };
        days.entry((account, day)).or_default().push(Visit {
            appointment_id: id,
            doctor_id,
            procedure_id,
            tier,
            slot: arrival.at,
            arrival: arrival.at,
            call: call.at,
            finish: finish.at,
        });
    }
    for (account, list) in &mut moves {
        for m in list {
            m.tier = tiers
                .get(&(*account, m.appointment_id))
                .copied()
                .unwrap_or(3);
        }
    }
    let mut predictions = Vec::new();
    let count = days.len();
    for ((account, _), visits) in days {
        let start = visits.iter().map(|v| v.arrival).min().unwrap_or(0);
        let history: Vec<HistoryMove> = moves
            .get(&account)
            .map(|all| {
                all.iter()
                    .filter(|m| m.at < start && m.at >= start - 30 * DAY)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        predictions.extend(simulate::replay_day(&history, &visits, tick));
    }
    println!(
        "replayed {count} day(s) of {url}, a prediction at each check-in and every {} min of waiting",
        tick / MIN
    );
    Ok(predictions)
}

fn report(predictions: &[Prediction]) {
    let line = |what: &str, s: Summary| {
        println!(
            "| {what} | {} | {:.1} | {:+.1} | {:.0}% | {:.0}% | {:.0}% | {:.1} |",
            s.count,
            s.mae_p50,
            s.bias_p50,
            100.0 * s.within_p90,
            100.0 * s.inside_range,
            100.0 * s.below_p50,
            s.mae_rule_of_thumb
        );
    };
    println!();
    println!(
        "| predictions | n | MAE of P50 (min) | bias of P50 (min) | wait ≤ P90 | wait in [P50, P90] | wait < P50 | MAE of 20 min/person (min) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    line("all", simulate::summarize(predictions));
    line(
        "at check-in",
        simulate::summarize(predictions.iter().filter(|p| p.at_checkin)),
    );
    for (label, lo, hi) in [
        ("0 ahead", 0, 0),
        ("1–2 ahead", 1, 2),
        ("3–5 ahead", 3, 5),
        ("6+ ahead", 6, usize::MAX),
    ] {
        line(
            label,
            simulate::summarize(predictions.iter().filter(|p| (lo..=hi).contains(&p.ahead))),
        );
    }
}
