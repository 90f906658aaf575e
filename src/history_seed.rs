//! Past days of a busy clinic, for the reports: appointments with their status history, as the
//! API would have written them (confirmations the day before, arrivals around the slot, waits
//! that grow through the morning, services, returns to the queue, no-shows, cancellations).
//!
//! Generated from a fixed seed, so a run is reproducible, and written with multi-row inserts,
//! a day per statement, so a year of 300 appointments a day takes seconds.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::AnyConnection;

use crate::domain::clinic_clock;
use crate::domain::status::Status;
use crate::store::{self, Store};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Past days, ending yesterday.
    pub days: i64,
    /// Appointments on a weekday (Saturdays half, Sundays none), ±10%.
    pub per_day: i64,
    /// Appointments per doctor and day at most: more doctors are registered when needed.
    pub per_doctor: i64,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    pub days: i64,
    pub appointments: i64,
    pub moves: i64,
}

const FIRST_NAMES: [&str; 24] = [
    "Ana",
    "Bruno",
    "Camila",
    "Daniel",
    "Eduarda",
    "Felipe",
    "Gabriela",
    "Henrique",
    "Isabela",
    "João",
    "Larissa",
    "Lucas",
    "Mariana",
    "Mateus",
    "Natália",
    "Otávio",
    "Patrícia",
    "Rafael",
    "Sofia",
    "Thiago",
    "Valéria",
    "Vinícius",
    "Yasmin",
    "Zeca",
];
const LAST_NAMES: [&str; 16] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Barbosa",
];

/// A doctor as the generator books them.
#[derive(Debug, Clone)]
struct Desk {
    id: i64,
    start_minute: i64,
    procedures: Vec<i64>,
}

/// Generates `plan.days` days of history before today in the account, skipping days that
/// already have appointments. Registers doctors and patients when the account has too few.
/// The days are the clinic's, in its zone (its setting, else `default_zone`).
pub async fn generate(
    store: &Store,
    account_id: i64,
    default_zone: Tz,
    plan: Plan,
) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut conn = store.acquire().await?;
    let actors: Vec<i64> = store::accounts::users(&mut conn, account_id)
        .await?
        .into_iter()
        .filter(|u| u.active != 0)
        .map(|u| u.id)
        .collect();
    anyhow::ensure!(!actors.is_empty(), "the account has no active user");
    drop(conn);
    let desks = ensure_doctors(store, account_id, plan).await?;
    let patients = ensure_patients(store, account_id, plan.per_day * 4).await?;
    let existing = days_with_appointments(store, account_id).await?;

    let mut seeded = Seeded::default();
    let mut conn = store.acquire().await?;
    let clinic = store::accounts::clinic_day(&mut conn, account_id, default_zone, Utc::now())
        .await
        .context("reading the account's time zone")?;
    drop(conn);
    let last = clinic.today - Duration::days(1);
    let first = clinic.today - Duration::days(plan.days.max(0));
    let mut day = first;
    let mut tx = store.begin_write(account_id).await?;
    let mut days_in_tx = 0;
    while day <= last {
        let text = day.format("%Y-%m-%d").to_string();
        if !existing.contains(&text) {
            let visits = plan_day(&mut rng, clinic.zone, day, plan, &desks, &patients, &actors);
            if !visits.is_empty() {
                let moves = write_day(&mut tx, account_id, &text, &visits).await?;
                seeded.days += 1;
                seeded.appointments += visits.len() as i64;
                seeded.moves += moves;
                days_in_tx += 1;
            }
        }
        if days_in_tx >= 30 {
            tx.commit().await?;
            tx = store.begin_write(account_id).await?;
            days_in_tx = 0;
        }
        day += Duration::days(1);
    }
    tx.commit().await?;
    // Fresh statistics, so the planner knows the tables' new sizes (both backends).
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(seeded)
}

/// The account's doctors, with more registered (and offering the first procedures) until
/// `per_day / per_doctor` can be booked.
async fn ensure_doctors(store: &Store, account_id: i64, plan: Plan) -> anyhow::Result<Vec<Desk>> {
    let mut conn = store.acquire().await?;
    let mut procedures: Vec<i64> = store::procedures::list(&mut conn, account_id, 100, 0)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut rows = store::doctors::list(&mut conn, account_id, 100, 0).await?;
    drop(conn);
    let needed = ((plan.per_day + plan.per_doctor - 1) / plan.per_doctor.max(1)).max(1) as usize;
    let now = crate::domain::time::now_ms();
    if procedures.is_empty() || rows.len() < needed {
        let mut tx = store.begin_write(account_id).await?;
        if procedures.is_empty() {
            for (name, price) in [("Consulta clínica", "150"), ("Exame de rotina", "90")] {
                procedures.push(
                    store::procedures::insert(&mut tx, account_id, name, price, now)
                        .await?
                        .id,
                );
            }
        }
        for n in rows.len()..needed {
            let mut offered = vec![procedures[0], procedures[n % procedures.len()]];
            offered.dedup();
            let fields = store::doctors::DoctorFields {
                name: format!(
                    "Dr(a). {} {}",
                    FIRST_NAMES[n % FIRST_NAMES.len()],
                    LAST_NAMES[(n * 7) % LAST_NAMES.len()]
                ),
                room: Some(format!("Sala {}", n + 1)),
                start_time: Some(if n % 2 == 0 { "07:00" } else { "08:00" }.into()),
                end_time: Some("18:00".into()),
                interval_minutes: Some(15),
                working_days: ["Segunda", "Terça", "Quarta", "Quinta", "Sexta", "Sábado"]
                    .map(String::from)
                    .to_vec(),
                procedure_ids: offered,
            };
            store::doctors::insert(&mut tx, account_id, &fields, now).await?;
        }
        tx.commit().await?;
        let mut conn = store.acquire().await?;
        rows = store::doctors::list(&mut conn, account_id, 100, 0).await?;
    }
    let mut conn = store.acquire().await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut offered = store::procedures::of_doctors(&mut conn, account_id, &ids).await?;
    let fallback = procedures[0];
    Ok(rows
        .into_iter()
        .map(|row| {
            let start = row
                .start_time
                .as_deref()
                .and_then(crate::domain::time::parse_time_of_day)
                .map_or(8 * 60, |t| {
                    i64::from(chrono::Timelike::hour(&t)) * 60
                        + i64::from(chrono::Timelike::minute(&t))
                });
            let mut procedures: Vec<i64> = offered
                .remove(&row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect();
            if procedures.is_empty() {
                procedures.push(fallback);
            }
            Desk {
                id: row.id,
                start_minute: start,
                procedures,
            }
        })
        .collect())
}

/// The account's patients, with more registered (no CPF) until there are `wanted`.
async fn ensure_patients(store: &Store, account_id: i64, wanted: i64) -> anyhow::Result<Vec<i64>> {
    let existing: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM patients WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(store.pool())
            .await?;
    let missing = (wanted.min(5_000) - existing.len() as i64).max(0);
    if missing == 0 {
        return Ok(existing);
    }
    let now = crate::domain::time::now_ms();
    let mut tx = store.begin_write(account_id).await?;
    let mut ids = existing;
    let mut n = ids.len() as i64;
    for chunk in (0..missing).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO patients (account_id, name, phone, date_birth, created_at, updated_at) VALUES ",
        );
        let mut values = Vec::new();
        for i in 0..chunk.len() {
            let b = 2 + i * 4;
            values.push(format!(
                "($1, ${}, ${}, ${}, ${}, ${})",
                b,
                b + 1,
                b + 2,
                b + 3,
                b + 3
            ));
        }
        sql.push_str(&values.join(", "));
        sql.push_str(" RETURNING id");
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(account_id);
        for _ in chunk {
            let k = n as usize;
            let name = format!(
                "{} {} {}",
                FIRST_NAMES[k % FIRST_NAMES.len()],
                LAST_NAMES[(k / FIRST_NAMES.len()) % LAST_NAMES.len()],
                LAST_NAMES[(k * 5 + 3) % LAST_NAMES.len()]
            );
            let birth = NaiveDate::from_ymd_opt(
                1940 + (k % 80) as i32,
                1 + (k % 12) as u32,
                1 + (k % 28) as u32,
            )
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string();
            query = query
                .bind(name)
                .bind(format!("(81) 9{:04}-{:04}", k % 10_000, (k * 37) % 10_000))
                .bind(birth)
                .bind(now);
            n += 1;
        }
        ids.extend(query.fetch_all(&mut *tx).await?);
    }
    tx.commit().await?;
    Ok(ids)
}

async fn days_with_appointments(
    store: &Store,
    account_id: i64,
) -> anyhow::Result<std::collections::HashSet<String>> {
    let days: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT day FROM appointments WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(store.pool())
            .await?;
    Ok(days.into_iter().collect())
}

/// One generated appointment and its moves.
#[derive(Debug, Clone)]
struct Visit {
    desk: i64,
    procedure: i64,
    patient: i64,
    start: String,
    end: String,
    created_at: i64,
    moves: Vec<(Option<Status>, Status, i64, i64)>,
}

impl Visit {
    fn last(&self, status: Status) -> Option<i64> {
        self.moves.iter().rev().find(|m| m.1 == status).map(|m| m.2)
    }

    fn status(&self) -> Status {
        self.moves.last().map_or(Status::Agendado, |m| m.1)
    }
}

/// A normal sample (Box–Muller).
fn normal(rng: &mut StdRng, mean: f64, deviation: f64) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.r#gen();
    mean + deviation * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Milliseconds of a local minute of `day` in `zone`.
fn local_ms(zone: Tz, day: NaiveDate, minute: f64) -> i64 {
    clinic_clock::at_minute(zone, day, minute).timestamp_millis()
}

/// The visits of `day` of a clinic in `zone`.
fn plan_day(
    rng: &mut StdRng,
    zone: Tz,
    day: NaiveDate,
    plan: Plan,
    desks: &[Desk],
    patients: &[i64],
    actors: &[i64],
) -> Vec<Visit> {
    let factor = match day.weekday() {
        Weekday::Sun => return Vec::new(),
        Weekday::Sat => 0.5,
        Weekday::Mon => 1.1,
        _ => 1.0,
    };
    if desks.is_empty() || patients.is_empty() {
        return Vec::new();
    }
    let count = ((plan.per_day as f64) * factor * rng.gen_range(0.9..1.1)).round() as usize;
    let mut per_desk: HashMap<i64, i64> = HashMap::new();
    let mut visits = Vec::with_capacity(count);
    for i in 0..count {
        let desk = &desks[i % desks.len()];
        let k = per_desk.entry(desk.id).or_insert(0);
        let slot = desk.start_minute + *k * 15;
        *k += 1;
        if slot + 15 > 23 * 60 {
            continue;
        }
        let actor = actors[rng.gen_range(0..actors.len())];
        let mut moves = Vec::new();
        let mut push = |from: Option<Status>, to: Status, minute: f64| {
            moves.push((from, to, local_ms(zone, day, minute), actor));
        };
        let slot_f = slot as f64;
        let mut from = Status::Agendado;
        if rng.gen_bool(0.4) {
            push(
                Some(from),
                Status::Confirmado,
                -6.0 * 60.0 + rng.gen_range(0.0..180.0),
            );
            from = Status::Confirmado;
        }
        let roll: f64 = rng.r#gen();
        if roll < 0.04 {
            push(
                Some(from),
                Status::Cancelado,
                -24.0 * 60.0 + rng.gen_range(0.0..600.0),
            );
        } else if roll < 0.11 {
            push(Some(from), Status::Faltou, slot_f + 60.0);
        } else {
            let arrival = slot_f + normal(rng, -8.0, 7.0).clamp(-40.0, 25.0);
            push(Some(from), Status::Checkin, arrival);
            // Waits grow through the morning and after lunch, with a long tail.
            let hour = slot / 60;
            let load = match hour {
                9..=11 => 1.5,
                14..=16 => 1.3,
                _ => 1.0,
            };
            let wait = (normal(rng, 2.4, 0.6).exp() * load).clamp(1.0, 150.0);
            let mut call = arrival + wait;
            push(Some(Status::Checkin), Status::EmAtendimento, call);
            if rng.gen_bool(0.03) {
                push(Some(Status::EmAtendimento), Status::Checkin, call + 3.0);
                call += 3.0 + rng.gen_range(5.0..20.0);
                push(Some(Status::Checkin), Status::EmAtendimento, call);
            }
            let service = normal(rng, 2.6, 0.35).exp().clamp(4.0, 60.0);
            push(
                Some(Status::EmAtendimento),
                Status::Finalizado,
                call + service,
            );
        }
        let procedure = desk.procedures[rng.gen_range(0..desk.procedures.len())];
        visits.push(Visit {
            desk: desk.id,
            procedure,
            patient: patients[rng.gen_range(0..patients.len())],
            start: format!("{:02}:{:02}", slot / 60, slot % 60),
            end: format!("{:02}:{:02}", (slot + 15) / 60, (slot + 15) % 60),
            created_at: local_ms(zone, day, -7.0 * 24.0 * 60.0),
            moves,
        });
    }
    visits
}

/// Writes a day's appointments and their moves; answers the number of moves.
async fn write_day(
    conn: &mut AnyConnection,
    account_id: i64,
    day: &str,
    visits: &[Visit],
) -> anyhow::Result<i64> {
    let mut ids: HashMap<(i64, String), i64> = HashMap::new();
    for chunk in visits.chunks(400) {
        let mut sql = String::from(
            "INSERT INTO appointments (account_id, patient_id, doctor_id, procedure_id, day, \
             start_time, end_time, status_id, checked_in_at, called_at, created_at, updated_at) VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 3 + i * 9;
                format!(
                    "($1, ${}, ${}, ${}, $2, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 8
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push_str(" RETURNING id, doctor_id, start_time");
        let mut query = sqlx::query_as::<_, (i64, i64, String)>(&sql)
            .bind(account_id)
            .bind(day);
        for v in chunk {
            let last_at = v.moves.last().map_or(v.created_at, |m| m.2);
            query = query
                .bind(v.patient)
                .bind(v.desk)
                .bind(v.procedure)
                .bind(&v.start)
                .bind(&v.end)
                .bind(v.status().id())
                .bind(v.last(Status::Checkin))
                .bind(v.last(Status::EmAtendimento))
                .bind(v.created_at.min(last_at));
        }
        for (id, doctor, start) in query.fetch_all(&mut *conn).await? {
            ids.insert((doctor, start), id);
        }
    }
    let mut moves = Vec::new();
    for v in visits {
        let id = *ids
            .get(&(v.desk, v.start.clone()))
            .context("a generated appointment was not written")?;
        for m in &v.moves {
            moves.push((id, v.desk, m));
        }
    }
    for chunk in moves.chunks(1_000) {
        let mut sql = String::from(
            "INSERT INTO appointment_status_history (account_id, appointment_id, doctor_id, \
             from_status, to_status, at, user_id) VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 2 + i * 6;
                format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, ${})",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        let mut query = sqlx::query(&sql).bind(account_id);
        for (id, desk, (from, to, at, actor)) in chunk {
            query = query
                .bind(*id)
                .bind(*desk)
                .bind(from.map(Status::id))
                .bind(to.id())
                .bind(*at)
                .bind(*actor);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(moves.len() as i64)
}
