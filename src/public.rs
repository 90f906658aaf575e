//! What a patient may see of their own appointment: the reduced status behind the status link
//! (`GET /api/public/status/{token}`, the `/p/{token}` page and its socket) and the self
//! check-in answer. Only the first name, the doctor and room, the status, the place in the
//! doctor's queue and the wait estimate: never another patient's data, never a full name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::RngCore;
use serde::Serialize;
use sqlx::AnyConnection;
use utoipa::ToSchema;

use crate::auth::api_key;
use crate::domain::clinic_clock;
use crate::domain::estimate::{InProgress, ServiceTimes};
use crate::domain::status::Status;
use crate::domain::time::{format_ms, parse_day};
use crate::store::{self, appointments::AppointmentRow};

/// How far back the status history feeds the wait estimate.
pub const HISTORY_DAYS: i64 = 30;

/// How long the service times read from the history are reused before they are read again.
/// They summarise 30 days, so half a minute more or less of history changes nothing a patient
/// sees, and a page that is opened, reloaded or flooded costs a few indexed reads instead of a
/// scan of a month of moves.
pub const SERVICE_TIMES_FOR: Duration = Duration::from_secs(30);
/// Accounts whose service times are kept before the stale ones are swept.
const MAX_CACHED_ACCOUNTS: usize = 10_000;

/// Each account's service times of the last [`HISTORY_DAYS`], read at most once per
/// [`SERVICE_TIMES_FOR`] per node. Concurrent readers of an account that find them stale wait
/// for one read rather than each scanning the history.
#[derive(Debug, Clone, Default)]
pub struct ServiceTimesCache {
    accounts: Arc<Mutex<HashMap<i64, Slot>>>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

#[derive(Debug)]
struct Cached {
    read_at: Instant,
    zone: Tz,
    times: Arc<ServiceTimes>,
}

impl ServiceTimesCache {
    /// The account's service times, read from the history when missing or stale.
    pub async fn get(
        &self,
        conn: &mut AnyConnection,
        account_id: i64,
        zone: Tz,
        now: i64,
    ) -> sqlx::Result<Arc<ServiceTimes>> {
        let slot = self.slot(account_id);
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref()
            && c.zone == zone
            && c.read_at.elapsed() < SERVICE_TIMES_FOR
        {
            return Ok(c.times.clone());
        }
        let since = now - HISTORY_DAYS * 24 * 3_600_000;
        let moves = store::history::service_moves(conn, account_id, since).await?;
        let times = Arc::new(ServiceTimes::from_history(&moves, zone));
        *cached = Some(Cached {
            read_at: Instant::now(),
            zone,
            times: times.clone(),
        });
        Ok(times)
    }

    fn slot(&self, account_id: i64) -> Slot {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() >= MAX_CACHED_ACCOUNTS && !accounts.contains_key(&account_id) {
            accounts.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().is_ok_and(|c| {
                        c.as_ref()
                            .is_some_and(|c| c.read_at.elapsed() < SERVICE_TIMES_FOR)
                    })
            });
        }
        accounts.entry(account_id).or_default().clone()
    }
}

/// How long a patient's answer is reused while their clinic's log stands still: the wait
/// estimate's "minutes since the call" moves this much at most between two reads, and an edit
/// that writes no event (a doctor's room, say) shows after it.
pub const ANSWER_FOR: Duration = Duration::from_secs(5);
/// Answers kept before the stale ones are swept.
const MAX_ANSWERS: usize = 20_000;

/// The patients' answers of this node, each kept with the `seq` of its clinic's log when it was
/// made: a reload or a flood of one link costs two indexed reads (the link, the log's counter)
/// instead of the day's queues, until the clinic's log moves or [`ANSWER_FOR`] passes.
#[derive(Debug, Clone, Default)]
pub struct StatusAnswers {
    answers: Arc<Mutex<HashMap<i64, Answer>>>,
}

#[derive(Debug)]
struct Answer {
    account_id: i64,
    seq: i64,
    made_at: Instant,
    status: PublicStatus,
}

impl StatusAnswers {
    /// The answer for the appointment if it was made at this `seq` of its account's log and
    /// is still fresh.
    pub fn get(&self, account_id: i64, appointment_id: i64, seq: i64) -> Option<PublicStatus> {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(&appointment_id)
            .filter(|a| {
                a.account_id == account_id && a.seq == seq && a.made_at.elapsed() < ANSWER_FOR
            })
            .map(|a| a.status.clone())
    }

    /// Keeps an answer made at `seq`.
    pub fn put(&self, account_id: i64, appointment_id: i64, seq: i64, status: PublicStatus) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= MAX_ANSWERS {
            answers.retain(|_, a| a.made_at.elapsed() < ANSWER_FOR);
            if answers.len() >= MAX_ANSWERS {
                answers.clear();
            }
        }
        answers.insert(
            appointment_id,
            Answer {
                account_id,
                seq,
                made_at: Instant::now(),
                status,
            },
        );
    }
}

/// The status of an appointment as its patient sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicStatus {
    pub first_name: String,
    #[schema(required)]
    pub doctor: Option<PublicDoctor>,
    pub status: PublicStatusName,
    /// People before this patient in their doctor's queue (0 unless waiting).
    pub ahead: i64,
    /// Null when there is not enough history, or when the patient is not waiting.
    #[schema(required)]
    pub estimate: Option<Estimate>,
    #[schema(required)]
    pub called_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicDoctor {
    pub name: String,
    #[schema(required)]
    pub room: Option<String>,
}

/// `{"id":2,"key":"CHECKIN","name":"Check-in"}`: the catalogue's id and name, and the enum key.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicStatusName {
    pub id: i64,
    pub key: &'static str,
    pub name: &'static str,
}

/// The wait still ahead, as a range of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub p50_minutes: i64,
    pub p90_minutes: i64,
}

/// The patient's first name only.
pub fn first_name(full: &str) -> String {
    full.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A new status-link token: 256 random bits, URL-safe. Only its digest is stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored digest of a token.
pub fn token_digest(token: &str) -> String {
    api_key::digest(token)
}

/// The end of a day (its next midnight) in the clinic's time zone, in ms since the epoch.
pub fn end_of_day_ms(zone: Tz, day: &str) -> Option<i64> {
    Some(clinic_clock::day_end(zone, parse_day(day)?).timestamp_millis())
}

/// One day's queues of an account and its doctors' service times: what every status of that
/// day is computed from (loaded once for all the day's links).
pub struct DayView {
    queue: Vec<AppointmentRow>,
    /// Each doctor's latest call of the day: when, and the procedure.
    last_calls: HashMap<i64, (i64, Option<i64>)>,
    times: Arc<ServiceTimes>,
    now: i64,
}

impl DayView {
    /// Loads `day` of the account, whose time zone is `zone`; the service times come from
    /// `cache`.
    pub async fn load(
        conn: &mut AnyConnection,
        cache: &ServiceTimesCache,
        account_id: i64,
        zone: Tz,
        day: &str,
        now: i64,
    ) -> sqlx::Result<DayView> {
        let queue = store::appointments::queue(conn, account_id, day).await?;
        let mut last_calls = HashMap::new();
        for row in store::appointments::calls(conn, account_id, day, 100).await? {
            if let (Some(doctor), Some(at)) = (row.doctor_id, row.called_at) {
                last_calls.entry(doctor).or_insert((at, row.procedure_id));
            }
        }
        let times = cache.get(conn, account_id, zone, now).await?;
        Ok(DayView {
            queue,
            last_calls,
            times,
            now,
        })
    }

    /// The waiting rows of the doctor, in queue order.
    fn waiting_of(&self, doctor_id: Option<i64>) -> impl Iterator<Item = &AppointmentRow> {
        self.queue
            .iter()
            .filter(move |r| r.status() == Status::Checkin && r.doctor_id == doctor_id)
    }

    /// The patient's place: how many are ahead of them in their doctor's queue.
    pub fn ahead(&self, row: &AppointmentRow) -> i64 {
        if row.status() != Status::Checkin {
            return 0;
        }
        self.waiting_of(row.doctor_id)
            .take_while(|r| r.id != row.id)
            .count() as i64
    }

    /// The wait estimate of a waiting patient.
    pub fn estimate(&self, row: &AppointmentRow) -> Option<Estimate> {
        let doctor = row.doctor_id?;
        if row.status() != Status::Checkin {
            return None;
        }
        let ahead: Vec<Option<i64>> = self
            .waiting_of(Some(doctor))
            .take_while(|r| r.id != row.id)
            .map(|r| r.procedure_id)
            .collect();
        let in_progress = self
            .last_calls
            .get(&doctor)
            .map(|(at, procedure_id)| InProgress {
                procedure_id: *procedure_id,
                elapsed_minutes: (self.now - at).max(0) as f64 / 60_000.0,
            });
        self.times
            .estimate_for(doctor, row.priority().tier, &ahead, in_progress)
            .map(|r| Estimate {
                p50_minutes: r.p50,
                p90_minutes: r.p90,
            })
    }

    /// The patient's view of `row`.
    pub fn status_of(&self, row: &AppointmentRow) -> PublicStatus {
        let status = row.status();
        let doctor = row.doctor_name.as_ref().map(|name| PublicDoctor {
            name: name.clone(),
            room: row.doctor_room.clone(),
        });
        PublicStatus {
            first_name: first_name(&row.patient_name),
            doctor,
            status: PublicStatusName {
                id: status.id(),
                key: status.key(),
                name: status.name(),
            },
            ahead: self.ahead(row),
            estimate: self.estimate(row),
            called_at: row.called_at.map(format_ms),
        }
    }
}

/// The patient's view of one appointment (`None` when it is gone); `default_zone` is the
/// server's, for an account without its own.
pub async fn status_of(
    conn: &mut AnyConnection,
    cache: &ServiceTimesCache,
    account_id: i64,
    appointment_id: i64,
    default_zone: Tz,
    now: i64,
) -> sqlx::Result<Option<PublicStatus>> {
    let Some(row) = store::appointments::get(conn, account_id, appointment_id).await? else {
        return Ok(None);
    };
    let instant = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    let clinic = store::accounts::clinic_day(conn, account_id, default_zone, instant).await?;
    let view = DayView::load(conn, cache, account_id, clinic.zone, &row.day, now).await?;
    Ok(Some(view.status_of(&row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits in unpadded base64");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(token_digest(&a).len(), 64);
    }

    #[test]
    fn only_the_first_name_is_shown() {
        assert_eq!(first_name("  José Carlos de Oliveira Filho "), "José");
        assert_eq!(first_name(""), "");
    }

    #[test]
    fn a_link_lasts_until_the_next_midnight_of_the_clinic() {
        let sao_paulo = Tz::America__Sao_Paulo;
        // 2026-11-27T00:00 -03.
        assert_eq!(
            end_of_day_ms(sao_paulo, "2026-11-26"),
            Some(1_795_748_400_000)
        );
        assert_eq!(
            end_of_day_ms(Tz::Pacific__Kiritimati, "2026-11-26"),
            Some(1_795_748_400_000 - 17 * 3_600_000)
        );
        assert_eq!(end_of_day_ms(sao_paulo, "26/11/2026"), None);
    }
}
