//! The demo clinic of `fila serve --demo`: doctors, procedures, patients, today's appointments
//! in several statuses, two weeks of simulated past days in the status history (so the wait
//! estimate has something to go on) and, before them, six more weeks of a busier history for
//! the reports, created only on an empty database.

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::accounts;
use crate::domain::clinic_clock;
use crate::domain::cpf;
use crate::domain::status::Status;
use crate::domain::time::now_ms;
use crate::history_seed::{self, Plan};
use crate::simulate;
use crate::store::{
    self, Store,
    appointments::{NewAppointment, StatusWrite},
    doctors::DoctorFields,
    patients::PatientFields,
};

/// The demo login printed at start-up.
pub struct DemoLogin {
    pub email: &'static str,
    pub password: &'static str,
}

pub const EMAIL: &str = "demo@fila.local";
pub const PASSWORD: &str = "demo1234";

const PROCEDURES: [(&str, &str); 5] = [
    ("Consulta clínica", "150"),
    ("Ultrassom: Tireoide", "100"),
    ("Eletrocardiograma", "80"),
    ("Raio-X de tórax", "120"),
    ("Hemograma completo", "35.50"),
];

const DOCTORS: [(&str, &str); 3] = [
    ("Dr. Victor Almeida", "Sala 1"),
    ("Dra. Helena Costa", "Sala 2"),
    ("Dr. Rafael Lima", "Sala 3"),
];

/// Name, phone, age in years.
const PATIENTS: [(&str, &str, i64); 12] = [
    ("João Silva", "(81) 99999-1001", 45),
    ("Maria Oliveira", "(81) 99999-1002", 83),
    ("Ana Beatriz Souza", "(81) 99999-1003", 29),
    ("Carlos Pereira", "(81) 99999-1004", 67),
    ("Fernanda Rocha", "(81) 99999-1005", 34),
    ("José Santos", "(81) 99999-1006", 52),
    ("Luíza Martins", "(81) 99999-1007", 8),
    ("Paulo Ribeiro", "(81) 99999-1008", 71),
    ("Beatriz Lima", "(81) 99999-1009", 41),
    ("Ricardo Gomes", "(81) 99999-1010", 38),
    ("Helena Duarte", "(81) 99999-1011", 90),
    ("Marcos Azevedo", "(81) 99999-1012", 25),
];

/// Status of each demo appointment, with the priority flags set at check-in.
const PLAN: [(Status, &str); 12] = [
    (Status::Finalizado, ""),
    (Status::EmAtendimento, ""),
    (Status::Checkin, ""),
    (Status::Checkin, ""),
    (Status::Checkin, "gestante"),
    (Status::Checkin, ""),
    (Status::Confirmado, ""),
    (Status::Agendado, ""),
    (Status::Agendado, ""),
    (Status::Faltou, ""),
    (Status::Checkin, ""),
    (Status::Agendado, ""),
];

/// The past days of the demo clinic: eight weeks, 30 appointments a weekday.
pub const HISTORY: Plan = Plan {
    days: 56,
    per_day: 30,
    per_doctor: 12,
    seed: 7,
};

/// Seeds the demo clinic when the database has no account, with [`HISTORY`] when `history`;
/// answers the login to print (also on later starts, while the demo user exists).
/// Its days are the clinic's, in `default_zone` (the demo clinic has no zone of its own).
pub async fn seed_if_empty(
    store: &Store,
    default_zone: Tz,
    history: bool,
) -> anyhow::Result<Option<DemoLogin>> {
    let login = DemoLogin {
        email: EMAIL,
        password: PASSWORD,
    };
    let mut conn = store.acquire().await?;
    if store::accounts::count(&mut conn).await? > 0 {
        let kept = store::accounts::user_by_email(&mut conn, EMAIL)
            .await?
            .is_some();
        return Ok(kept.then_some(login));
    }
    drop(conn);
    let created = accounts::create(store, "Clínica Demo", EMAIL, PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo account: {e}"))?;
    let account = created.account_id;
    let mut conn = store.acquire().await?;
    let clinic = store::accounts::clinic_day(&mut conn, account, default_zone, Utc::now())
        .await
        .context("reading the demo clinic's time zone")?;
    drop(conn);
    let day = clinic.today;
    let day_text = day.format("%Y-%m-%d").to_string();
    let now = now_ms();
    let mut tx = store.begin_write(account).await?;

    let mut patient_ids = Vec::new();
    let mut procedure_ids = Vec::new();
    for (name, price) in PROCEDURES {
        procedure_ids.push(
            store::procedures::insert(&mut tx, account, name, price, now)
                .await?
                .id,
        );
    }
    let mut doctor_ids = Vec::new();
    for (i, (name, room)) in DOCTORS.iter().enumerate() {
        let fields = DoctorFields {
            name: name.to_string(),
            room: Some(room.to_string()),
            start_time: Some("08:00".into()),
            end_time: Some("17:00".into()),
            interval_minutes: Some(20),
            working_days: ["Segunda", "Terça", "Quarta", "Quinta", "Sexta"]
                .map(String::from)
                .to_vec(),
            procedure_ids: vec![procedure_ids[0], procedure_ids[1 + i]],
        };
        doctor_ids.push(store::doctors::insert(&mut tx, account, &fields, now).await?);
    }
    for (i, ((name, phone, age), (status, flags))) in PATIENTS.iter().zip(PLAN).enumerate() {
        let birth = birth_date(day, *age, i as i64);
        let fields = PatientFields {
            name: name.to_string(),
            phone: Some(phone.to_string()),
            date_birth: Some(birth.format("%Y-%m-%d").to_string()),
            cpf: Some(cpf::complete(100_200_300 + 7_919 * i as u32)),
        };
        let patient = store::patients::insert(&mut tx, account, &fields, now).await?;
        patient_ids.push(patient.id);
        let doctor_id = doctor_ids[i % doctor_ids.len()];
        let slot = 8 * 60 + 20 * i as u32;
        let new = NewAppointment {
            patient_id: patient.id,
            doctor_id: Some(doctor_id),
            procedure_id: procedure_ids[if i % 2 == 0 { 0 } else { 1 + (i % 3) }],
            day: day_text.clone(),
            start_time: format!("{:02}:{:02}", slot / 60, slot % 60),
            end_time: format!("{:02}:{:02}", (slot + 20) / 60, (slot + 20) % 60),
            notes: None,
        };
        let id = store::appointments::insert(&mut tx, account, &new, now).await?;
        let minutes_ago = |m: i64| now - m * 60_000;
        let write = StatusWrite {
            status,
            doctor_id: Some(doctor_id),
            priority_flags: flags.to_string(),
            checked_in_at: matches!(
                status,
                Status::Checkin | Status::EmAtendimento | Status::Finalizado
            )
            .then(|| minutes_ago(45 - 4 * i as i64)),
            called_at: matches!(status, Status::EmAtendimento | Status::Finalizado)
                .then(|| minutes_ago(30 - 10 * i as i64)),
        };
        store::appointments::write_status(&mut tx, account, id, &write, now).await?;
        if status == Status::EmAtendimento {
            store::doctors::set_busy(&mut tx, account, doctor_id, true, now).await?;
        }
    }
    let past = Past {
        account,
        user_id: created.user_id,
        doctor_ids: [doctor_ids[0], doctor_ids[1], doctor_ids[2]],
        procedure_ids: [
            procedure_ids[0],
            procedure_ids[1],
            procedure_ids[2],
            procedure_ids[3],
        ],
        patient_ids,
    };
    seed_past_days(&mut tx, &past, clinic.zone, day, now).await?;
    tx.commit().await?;
    if history {
        history_seed::generate(store, account, default_zone, HISTORY).await?;
    }
    Ok(Some(login))
}

/// What the simulated past days are made of.
struct Past {
    account: i64,
    user_id: i64,
    doctor_ids: [i64; 3],
    procedure_ids: [i64; 4],
    patient_ids: Vec<i64>,
}

/// Days of history before today.
const PAST_DAYS: i64 = 14;

/// Finished appointments of the past days, with the status history a real clinic would have
/// written (check-in, call, end of visit), from `simulate`.
async fn seed_past_days(
    tx: &mut store::Tx,
    past: &Past,
    zone: Tz,
    today: NaiveDate,
    now: i64,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(42);
    let doctors = simulate::default_doctors(past.doctor_ids, past.procedure_ids);
    for back in (1..=PAST_DAYS).rev() {
        let day = today - Duration::days(back);
        let start = clinic_clock::day_start(zone, day).timestamp_millis();
        let day_text = day.format("%Y-%m-%d").to_string();
        let visits = simulate::simulate_day(&mut rng, &doctors, start, 0);
        for (i, visit) in visits.iter().enumerate() {
            let minutes = (visit.slot - start) / 60_000;
            let clock = |m: i64| format!("{:02}:{:02}", (m / 60).min(23), m % 60);
            let new = NewAppointment {
                patient_id: past.patient_ids[i % past.patient_ids.len()],
                doctor_id: Some(visit.doctor_id),
                procedure_id: visit.procedure_id,
                day: day_text.clone(),
                start_time: clock(minutes),
                end_time: clock(minutes + 20),
                notes: None,
            };
            let id = store::appointments::insert(tx, past.account, &new, now).await?;
            let write = StatusWrite {
                status: Status::Finalizado,
                doctor_id: Some(visit.doctor_id),
                priority_flags: String::new(),
                checked_in_at: Some(visit.arrival),
                called_at: Some(visit.call),
            };
            store::appointments::write_status(tx, past.account, id, &write, now).await?;
            let steps = [
                (Status::Agendado, Status::Checkin, visit.arrival),
                (Status::Checkin, Status::EmAtendimento, visit.call),
                (Status::EmAtendimento, Status::Finalizado, visit.finish),
            ];
            for (from, to, at) in steps {
                let recorded = store::history::Move {
                    appointment_id: id,
                    doctor_id: Some(visit.doctor_id),
                    from: Some(from),
                    to,
                    at,
                    user_id: Some(past.user_id),
                    api_key_id: None,
                };
                store::history::record(tx, past.account, &recorded).await?;
            }
        }
    }
    Ok(())
}

/// A birth date that makes the patient `age` on `day` (spread over the year).
fn birth_date(day: NaiveDate, age: i64, spread: i64) -> NaiveDate {
    day - Duration::days(age * 365 + age / 4 + 10 + spread * 17)
}
