//! Simulated clinic days, to measure the wait estimate honestly (`examples/wait_replay.rs`,
//! `docs/wait-estimate.md`) and to give the demo clinic a history.
//!
//! A day: each doctor has a slot every 20 minutes from 08:00; patients arrive around their
//! slot (some early, some late, some not at all), some with legal priority; the doctor calls
//! the first in the legal order (tier, then arrival) when free, after a short turnaround;
//! visits last a log-normal time per procedure; doctors stop for lunch. [`replay_day`] then
//! replays a day: at each patient's check-in, and every few minutes while they wait, it asks
//! the estimate what a status page would have shown and compares with when they were called.

use std::collections::HashMap;

use rand::Rng;

use crate::domain::estimate::{HistoryMove, InProgress, Range, ServiceTimes};
use crate::domain::status::Status;

const MIN: i64 = 60_000;

/// A procedure a doctor performs: its id, mean visit minutes, coefficient of variation, and
/// share of the doctor's appointments.
#[derive(Debug, Clone, Copy)]
pub struct ProcedureProfile {
    pub id: i64,
    pub mean_minutes: f64,
    pub cv: f64,
    pub share: f64,
}

#[derive(Debug, Clone)]
pub struct DoctorProfile {
    pub id: i64,
    pub procedures: Vec<ProcedureProfile>,
}

/// Three doctors with two procedures each, from quick exams to long consultations.
pub fn default_doctors(doctor_ids: [i64; 3], procedure_ids: [i64; 4]) -> Vec<DoctorProfile> {
    let p = |i: usize, mean, cv, share| ProcedureProfile {
        id: procedure_ids[i],
        mean_minutes: mean,
        cv,
        share,
    };
    vec![
        DoctorProfile {
            id: doctor_ids[0],
            procedures: vec![p(0, 14.0, 0.35, 0.6), p(1, 9.0, 0.3, 0.4)],
        },
        DoctorProfile {
            id: doctor_ids[1],
            procedures: vec![p(0, 18.0, 0.45, 0.5), p(2, 11.0, 0.3, 0.5)],
        },
        DoctorProfile {
            id: doctor_ids[2],
            procedures: vec![p(0, 16.0, 0.4, 0.5), p(3, 22.0, 0.5, 0.5)],
        },
    ]
}

/// One simulated visit, with its times in ms since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Visit {
    pub appointment_id: i64,
    pub doctor_id: i64,
    pub procedure_id: i64,
    /// 1, 2 or 3, as the queue orders them.
    pub tier: i64,
    pub slot: i64,
    pub arrival: i64,
    pub call: i64,
    pub finish: i64,
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A log-normal visit length with the given mean and coefficient of variation.
fn visit_minutes(rng: &mut impl Rng, mean: f64, cv: f64) -> f64 {
    let sigma2 = (1.0 + cv * cv).ln();
    let mu = mean.ln() - sigma2 / 2.0;
    (mu + sigma2.sqrt() * normal(rng)).exp().clamp(1.0, 180.0)
}

/// Simulates one day starting at `day_start` (midnight, ms); appointment ids from `first_id`.
pub fn simulate_day(
    rng: &mut impl Rng,
    doctors: &[DoctorProfile],
    day_start: i64,
    first_id: i64,
) -> Vec<Visit> {
    let mut visits = Vec::new();
    let mut next_id = first_id;
    for doctor in doctors {
        // The booked patients who come, with their arrival and procedure.
        let mut booked = Vec::new();
        for slot_index in 0..27 {
            let slot = day_start + 8 * 60 * MIN + slot_index * 20 * MIN;
            if rng.gen_bool(0.08) {
                continue; // no-show
            }
            let early = (-8.0 + 10.0 * normal(rng)).clamp(-45.0, 40.0);
            let arrival = slot + (early * MIN as f64) as i64;
            let pick: f64 = rng.r#gen();
            let mut acc = 0.0;
            let mut procedure = doctor.procedures[0];
            for p in &doctor.procedures {
                acc += p.share;
                if pick <= acc {
                    procedure = *p;
                    break;
                }
            }
            let tier = match rng.r#gen::<f64>() {
                x if x < 0.04 => 1,
                x if x < 0.22 => 2,
                _ => 3,
            };
            booked.push((next_id, slot, arrival, procedure, tier));
            next_id += 1;
        }
        booked.sort_by_key(|b| b.2);
        let lunch_start = day_start + 12 * 60 * MIN;
        let lunch_minutes = rng.gen_range(15..45);
        let mut lunch_taken = false;
        let mut free_at = day_start + 8 * 60 * MIN;
        let mut served = vec![false; booked.len()];
        for _ in 0..booked.len() {
            if !lunch_taken && free_at >= lunch_start {
                free_at += lunch_minutes * MIN;
                lunch_taken = true;
            }
            // Who is waiting when the doctor is free; if nobody, the next to arrive.
            let waiting = (0..booked.len())
                .filter(|&i| !served[i] && booked[i].2 <= free_at)
                .min_by_key(|&i| (booked[i].4, booked[i].2, booked[i].0));
            let (index, call) = match waiting {
                Some(i) => {
                    let turnaround = rng.gen_range(0.3..2.5);
                    (i, free_at + (turnaround * MIN as f64) as i64)
                }
                None => {
                    let Some(i) = (0..booked.len())
                        .filter(|&i| !served[i])
                        .min_by_key(|&i| booked[i].2)
                    else {
                        break;
                    };
                    let delay = rng.gen_range(0.2..1.5);
                    (i, booked[i].2 + (delay * MIN as f64) as i64)
                }
            };
            served[index] = true;
            let (id, slot, arrival, procedure, tier) = booked[index];
            let length = visit_minutes(rng, procedure.mean_minutes, procedure.cv);
            let finish = call + (length * MIN as f64) as i64;
            visits.push(Visit {
                appointment_id: id,
                doctor_id: doctor.id,
                procedure_id: procedure.id,
                tier,
                slot,
                arrival,
                call,
                finish,
            });
            free_at = finish;
        }
    }
    visits
}

/// The status history the server would have written for the visits.
pub fn moves(visits: &[Visit]) -> Vec<HistoryMove> {
    let mut out = Vec::with_capacity(visits.len() * 3);
    for v in visits {
        let mv = |from, to, at| HistoryMove {
            appointment_id: v.appointment_id,
            doctor_id: Some(v.doctor_id),
            procedure_id: Some(v.procedure_id),
            from: Some(from),
            to,
            at,
            tier: v.tier,
        };
        out.push(mv(Status::Agendado, Status::Checkin, v.arrival));
        out.push(mv(Status::Checkin, Status::EmAtendimento, v.call));
        out.push(mv(Status::EmAtendimento, Status::Finalizado, v.finish));
    }
    out.sort_by_key(|m| (m.at, m.appointment_id));
    out
}

/// What the estimate said at one moment of a patient's wait, and what happened.
#[derive(Debug, Clone, Copy)]
pub struct Prediction {
    /// Whether this is the moment of the check-in (what the totem shows).
    pub at_checkin: bool,
    pub ahead: usize,
    pub range: Range,
    /// Minutes from that moment to the call.
    pub actual: f64,
    /// The rule of thumb a receptionist would give: 20 minutes (the slot) per person ahead,
    /// plus 10 if the doctor is busy.
    pub rule_of_thumb: f64,
}

/// Replays a day against the history before it: a prediction at each check-in and every
/// `tick` ms while the patient waits.
pub fn replay_day(history: &[HistoryMove], today: &[Visit], tick: i64) -> Vec<Prediction> {
    let today_moves = moves(today);
    let mut cache: HashMap<usize, ServiceTimes> = HashMap::new();
    let mut out = Vec::new();
    for v in today {
        let mut t = v.arrival;
        while t < v.call {
            let known = today_moves.partition_point(|m| m.at < t);
            let times = cache.entry(known).or_insert_with(|| {
                let mut all = history.to_vec();
                all.extend_from_slice(&today_moves[..known]);
                // The simulated days start at midnight UTC (`day * DAY`).
                ServiceTimes::from_history(&all, chrono_tz::Tz::UTC)
            });
            let mut waiting: Vec<&Visit> = today
                .iter()
                .filter(|w| w.doctor_id == v.doctor_id && w.arrival <= t && t < w.call)
                .collect();
            waiting.sort_by_key(|w| (w.tier, w.arrival, w.appointment_id));
            let ahead: Vec<Option<i64>> = waiting
                .iter()
                .take_while(|w| w.appointment_id != v.appointment_id)
                .map(|w| Some(w.procedure_id))
                .collect();
            let in_progress = today
                .iter()
                .filter(|w| w.doctor_id == v.doctor_id && w.call <= t)
                .max_by_key(|w| w.call)
                .map(|w| InProgress {
                    procedure_id: Some(w.procedure_id),
                    elapsed_minutes: (t - w.call) as f64 / MIN as f64,
                });
            if let Some(range) = times.estimate_for(v.doctor_id, v.tier, &ahead, in_progress) {
                out.push(Prediction {
                    at_checkin: t == v.arrival,
                    ahead: ahead.len(),
                    range,
                    actual: (v.call - t) as f64 / MIN as f64,
                    rule_of_thumb: ahead.len() as f64 * 20.0
                        + if today
                            .iter()
                            .any(|w| w.doctor_id == v.doctor_id && w.call <= t && t < w.finish)
                        {
                            10.0
                        } else {
                            0.0
                        },
                });
            }
            t += tick;
        }
    }
    out
}

/// Mean absolute error and coverage of a set of predictions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    /// Mean |P50 − actual|, minutes.
    pub mae_p50: f64,
    /// Mean (P50 − actual): negative means the estimate is optimistic.
    pub bias_p50: f64,
    /// Share of actual waits at or below P90.
    pub within_p90: f64,
    /// Share of actual waits inside [P50, P90].
    pub inside_range: f64,
    /// Share of actual waits below P50.
    pub below_p50: f64,
    /// Mean absolute error of the 20-minutes-per-person rule of thumb.
    pub mae_rule_of_thumb: f64,
}

pub fn summarize<'a>(predictions: impl IntoIterator<Item = &'a Prediction>) -> Summary {
    let mut s = Summary::default();
    for p in predictions {
        let p50 = p.range.p50 as f64;
        let p90 = p.range.p90 as f64;
        s.count += 1;
        s.mae_p50 += (p50 - p.actual).abs();
        s.bias_p50 += p50 - p.actual;
        s.within_p90 += f64::from(u8::from(p.actual <= p90 + 0.5));
        s.inside_range += f64::from(u8::from(p.actual >= p50 - 0.5 && p.actual <= p90 + 0.5));
        s.below_p50 += f64::from(u8::from(p.actual < p50 - 0.5));
        s.mae_rule_of_thumb += (p.rule_of_thumb - p.actual).abs();
    }
    if s.count > 0 {
        let n = s.count as f64;
        s.mae_p50 /= n;
        s.bias_p50 /= n;
        s.within_p90 /= n;
        s.inside_range /= n;
        s.below_p50 /= n;
        s.mae_rule_of_thumb /= n;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_simulated_day_serves_everyone_once_in_order() {
        let mut rng = StdRng::seed_from_u64(7);
        let doctors = default_doctors([1, 2, 3], [10, 11, 12, 13]);
        let visits = simulate_day(&mut rng, &doctors, 0, 1);
        assert!(visits.len() > 60, "{}", visits.len());
        for doctor in [1, 2, 3] {
            let mut mine: Vec<&Visit> = visits.iter().filter(|v| v.doctor_id == doctor).collect();
            mine.sort_by_key(|v| v.call);
            for pair in mine.windows(2) {
                assert!(pair[1].call >= pair[0].finish, "one patient at a time");
            }
            assert!(
                mine.iter()
                    .all(|v| v.call >= v.arrival && v.finish > v.call)
            );
        }
    }

    #[test]
    fn replaying_with_history_gives_predictions_near_the_truth() {
        let mut rng = StdRng::seed_from_u64(11);
        let doctors = default_doctors([1, 2, 3], [10, 11, 12, 13]);
        let mut history = Vec::new();
        let mut id = 1;
        for day in 0..5 {
            let visits = simulate_day(&mut rng, &doctors, day * 24 * 60 * MIN, id);
            id += visits.len() as i64;
            history.extend(moves(&visits));
        }
        let today = simulate_day(&mut rng, &doctors, 5 * 24 * 60 * MIN, id);
        let predictions = replay_day(&history, &today, 5 * MIN);
        let summary = summarize(&predictions);
        assert!(summary.count > 100);
        assert!(summary.mae_p50 < 25.0, "{summary:?}");
        assert!(summary.within_p90 > 0.6, "{summary:?}");
    }
}
