//! The wait estimate: how long a waiting patient will still wait, as a P50–P90 range of
//! minutes, from the recent service times of their doctor.
//!
//! A service time (a "cycle") is measured from the status history: from the moment a doctor
//! calls a patient (→ EM_ATENDIMENTO) to the moment they call the next one, when that next
//! patient had already checked in before the visit ended — everything between two calls, the
//! turnaround, a late doctor, a lunch break, is what the people in the queue wait through;
//! when nobody was waiting, up to the end of the visit (→ FINALIZADO). Visits that went back
//! to the queue or were cancelled are not service times.
//!
//! A waiting patient's wait is what is left of the doctor's current cycle (from their latest
//! call of the day, whether that visit is still going or not) plus one cycle per person ahead
//! of them, plus a cycle for each patient of a higher priority who arrives meanwhile (at the
//! rate the doctor's history shows) and is called first. Each person ahead draws from their
//! own procedure's cycles with this doctor when there are enough of them, else from the
//! doctor's; the sum is simulated by resampling (a fixed seed, so the same history always gives the same answer), and its 50th
//! and 90th percentiles are the range. Without enough history for the doctor there is no
//! estimate. `docs/wait-estimate.md` reports its measured error.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use crate::domain::status::Status;

/// Cycles a doctor needs before an estimate is given.
pub const MIN_DOCTOR_SAMPLES: usize = 5;
/// Cycles a (doctor, procedure) pair needs before its own are used instead of the doctor's.
pub const MIN_PROCEDURE_SAMPLES: usize = 8;
/// How many of the most recent cycles are kept per doctor and per pair.
pub const RECENT: usize = 60;
/// Cycles outside these bounds (minutes) are mistakes (a visit left open overnight, a click).
const MIN_CYCLE: f64 = 0.5;
const MAX_CYCLE: f64 = 240.0;
/// Resampled sums per estimate.
const DRAWS: usize = 1_000;
/// At most this many overtakers are simulated in one draw.
const MAX_OVERTAKERS: usize = 30;

/// One row of the status history, as the estimate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryMove {
    pub appointment_id: i64,
    pub doctor_id: Option<i64>,
    pub procedure_id: Option<i64>,
    pub from: Option<Status>,
    pub to: Status,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The appointment's priority tier (1, 2 or 3), for the rate of patients who overtake.
    pub tier: i64,
}

/// Recent cycles, in minutes, per doctor and per (doctor, procedure).
#[derive(Debug, Clone, Default)]
pub struct ServiceTimes {
    by_doctor: HashMap<i64, Vec<f64>>,
    by_pair: HashMap<(i64, i64), Vec<f64>>,
    /// Check-ins per working minute of each doctor, by priority tier (1 and 2).
    arrivals: HashMap<(i64, i64), f64>,
}

/// A P50–P90 range of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub p50: i64,
    pub p90: i64,
}

/// The doctor's current cycle: the procedure of their latest call of the day and how long ago
/// it was (the visit may be over: the next call is still to come).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InProgress {
    pub procedure_id: Option<i64>,
    pub elapsed_minutes: f64,
}

struct Call {
    appointment_id: i64,
    procedure_id: Option<i64>,
    at: i64,
    /// When the patient checked in (last move to CHECKIN before the call).
    waiting_since: Option<i64>,
    finished_at: Option<i64>,
}

impl ServiceTimes {
    /// Measures the cycles of every doctor from history rows (any order); a doctor's working
    /// days are the clinic's, in `zone`.
    pub fn from_history(moves: &[HistoryMove], zone: Tz) -> ServiceTimes {
        let mut sorted: Vec<&HistoryMove> = moves.iter().collect();
        sorted.sort_by_key(|m| (m.at, m.appointment_id));
        // Each call, and the move that ended it.
        let mut calls: HashMap<i64, Vec<Call>> = HashMap::new();
        let mut open: HashMap<i64, (i64, usize)> = HashMap::new();
        let mut checked_in: HashMap<i64, i64> = HashMap::new();
        let mut priority_checkins: HashMap<(i64, i64), f64> = HashMap::new();
        // Each doctor's working span per day: first call to last move out of a visit.
        let mut spans: HashMap<(i64, NaiveDate), (i64, i64)> = HashMap::new();
        let day_of = |at: i64| {
            DateTime::from_timestamp_millis(at)
                .unwrap_or_default()
                .with_timezone(&zone)
                .date_naive()
        };
        for m in sorted {
            if m.to == Status::Checkin {
                checked_in.insert(m.appointment_id, m.at);
                if let (Some(doctor), 1 | 2) = (m.doctor_id, m.tier) {
                    *priority_checkins.entry((doctor, m.tier)).or_default() += 1.0;
                }
            }
            if let Some(doctor) = m.doctor_id
                && (m.to == Status::EmAtendimento || m.from == Some(Status::EmAtendimento))
            {
                let span = spans.entry((doctor, day_of(m.at))).or_insert((m.at, m.at));
                span.1 = span.1.max(m.at);
            }
            if m.to == Status::EmAtendimento {
                let Some(doctor) = m.doctor_id else { continue };
                let list = calls.entry(doctor).or_default();
                list.push(Call {
                    appointment_id: m.appointment_id,
                    procedure_id: m.procedure_id,
                    at: m.at,
                    waiting_since: checked_in.get(&m.appointment_id).copied(),
                    finished_at: None,
                });
                open.insert(m.appointment_id, (doctor, list.len() - 1));
            } else if m.from == Some(Status::EmAtendimento)
                && let Some((doctor, index)) = open.remove(&m.appointment_id)
                && m.to == Status::Finalizado
                && let Some(call) = calls.get_mut(&doctor).and_then(|l| l.get_mut(index))
            {
                call.finished_at = Some(m.at);
            }
        }
        let mut times = ServiceTimes::default();
        let mut working: HashMap<i64, f64> = HashMap::new();
        for ((doctor, _), (first, last)) in spans {
            *working.entry(doctor).or_default() += (last - first) as f64 / 60_000.0;
        }
        for ((doctor, tier), count) in priority_checkins {
            if let Some(minutes) = working.get(&doctor).filter(|m| **m >= 60.0) {
                times.arrivals.insert((doctor, tier), count / minutes);
            }
        }
        for (doctor, list) in calls {
            for (i, call) in list.iter().enumerate() {
                let Some(finished) = call.finished_at else {
                    continue;
                };
                let end = match list.get(i + 1) {
                    Some(next)
                        if next.appointment_id != call.appointment_id
                            && next.at >= finished
                            && next.waiting_since.is_some_and(|w| w <= finished) =>
                    {
                        next.at
                    }
                    _ => finished,
                };
                let minutes = (end - call.at) as f64 / 60_000.0;
                if !(MIN_CYCLE..=MAX_CYCLE).contains(&minutes) {
                    continue;
                }
                times.by_doctor.entry(doctor).or_default().push(minutes);
                if let Some(procedure) = call.procedure_id {
                    times
                        .by_pair
                        .entry((doctor, procedure))
                        .or_default()
                        .push(minutes);
                }
            }
        }
        // Calls were pushed oldest first: keep the most recent ones.
        for list in times
            .by_doctor
            .values_mut()
            .chain(times.by_pair.values_mut())
        {
            if list.len() > RECENT {
                list.drain(..list.len() - RECENT);
            }
        }
        times
    }

    /// The doctor's recent cycles (minutes), oldest first.
    pub fn of_doctor(&self, doctor_id: i64) -> &[f64] {
        self.by_doctor.get(&doctor_id).map_or(&[], Vec::as_slice)
    }

    /// The cycles a visit of `procedure` with the doctor is drawn from.
    fn pool(&self, doctor_id: i64, procedure_id: Option<i64>) -> &[f64] {
        procedure_id
            .and_then(|p| self.by_pair.get(&(doctor_id, p)))
            .filter(|list| list.len() >= MIN_PROCEDURE_SAMPLES)
            .map_or_else(|| self.of_doctor(doctor_id), Vec::as_slice)
    }

    /// The wait of a patient of `doctor_id` with the procedures of the people ahead of them
    /// (in order) and the doctor's current cycle, if any, counting no one who may still
    /// overtake them (see [`ServiceTimes::estimate_for`]). `None` without enough history.
    pub fn estimate(
        &self,
        doctor_id: i64,
        ahead: &[Option<i64>],
        in_progress: Option<InProgress>,
    ) -> Option<Range> {
        self.estimate_for(doctor_id, 1, ahead, in_progress)
    }

    /// Like [`ServiceTimes::estimate`] for a patient of priority `tier`: while they wait,
    /// patients of a higher priority keep arriving at the doctor's measured rate and are
    /// called before them, each adding a cycle.
    pub fn estimate_for(
        &self,
        doctor_id: i64,
        tier: i64,
        ahead: &[Option<i64>],
        in_progress: Option<InProgress>,
    ) -> Option<Range> {
        let all = self.of_doctor(doctor_id);
        if all.len() < MIN_DOCTOR_SAMPLES {
            return None;
        }
        let overtakers: f64 = (1..tier)
            .filter_map(|t| self.arrivals.get(&(doctor_id, t)))
            .sum();
        let pools: Vec<&[f64]> = ahead.iter().map(|p| self.pool(doctor_id, *p)).collect();
        let current = in_progress.map(|c| (self.pool(doctor_id, c.procedure_id), c));
        let mut rng = XorShift(
            0x9E37_79B9_7F4A_7C15 ^ (ahead.len() as u64).wrapping_mul(31) ^ (tier as u64) << 40,
        );
        let mut sums = Vec::with_capacity(DRAWS);
        for _ in 0..DRAWS {
            let mut total = 0.0;
            let mut extra = 0usize;
            if let Some((pool, visit)) = current {
                let left = remaining(pool, visit.elapsed_minutes, &mut rng);
                total += left;
                extra += rng.poisson(overtakers * left);
            }
            let mut i = 0;
            while i < pools.len() + extra && i < pools.len() + MAX_OVERTAKERS {
                let pool = pools.get(i).copied().unwrap_or(all);
                let cycle = pool[rng.below(pool.len())];
                total += cycle;
                extra += rng.poisson(overtakers * cycle);
                i += 1;
            }
            sums.push(total);
        }
        sums.sort_by(f64::total_cmp);
        let p50 = percentile(&sums, 0.5).round() as i64;
        let p90 = (percentile(&sums, 0.9).ceil() as i64).max(p50);
        Some(Range { p50, p90 })
    }
}

/// What is left of a visit that has lasted `elapsed` minutes: a cycle longer than that, less
/// `elapsed` (the visit is known to be longer than `elapsed`); past every cycle seen, a minute.
fn remaining(pool: &[f64], elapsed: f64, rng: &mut XorShift) -> f64 {
    let longer: Vec<f64> = pool.iter().copied().filter(|c| *c > elapsed).collect();
    if longer.is_empty() {
        return 1.0;
    }
    longer[rng.below(longer.len())] - elapsed
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A small deterministic generator for the resampling (no need for cryptographic quality).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A uniform draw in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson draw of mean `mean` (Knuth's method; the means here are small).
    fn poisson(&mut self, mean: f64) -> usize {
        if mean <= 0.0 {
            return 0;
        }
        let limit = (-mean.min(30.0)).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit && count < MAX_OVERTAKERS {
            product *= self.unit();
            count += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// A made-up day: doctor 1 sees patients back to back, each visit `minutes[i]` long with
    /// one minute between them; procedure 10 for even visits, 20 for odd ones.
    fn day(doctor: i64, start: i64, minutes: &[i64]) -> Vec<HistoryMove> {
        let mut moves = Vec::new();
        let mut at = start;
        for (i, m) in minutes.iter().enumerate() {
            let id = doctor * 1000 + start / MIN + i as i64;
            let procedure = Some(if i % 2 == 0 { 10 } else { 20 });
            let mv = |from, to, at| HistoryMove {
                appointment_id: id,
                doctor_id: Some(doctor),
                procedure_id: procedure,
                from,
                to,
                at,
                tier: 3,
            };
            moves.push(mv(Some(Status::Agendado), Status::Checkin, at - 30 * MIN));
            moves.push(mv(Some(Status::Checkin), Status::EmAtendimento, at));
            moves.push(mv(
                Some(Status::EmAtendimento),
                Status::Finalizado,
                at + m * MIN,
            ));
            at += (m + 1) * MIN;
        }
        moves
    }

    #[test]
    fn cycles_run_from_call_to_next_call_while_someone_waits_else_to_the_end_of_the_visit() {
        let moves = day(1, 0, &[10, 20, 30]);
        let times = ServiceTimes::from_history(&moves, Tz::UTC);
        // 10 + 1 and 20 + 1 (turnaround included), then 30 (the last visit of the day).
        assert_eq!(times.of_doctor(1), &[11.0, 21.0, 30.0]);
        // A break while the next patient waits belongs to the cycle.
        let mut lunch = day(1, 0, &[10]);
        let mut after = day(1, 60 * MIN, &[10]);
        for m in &mut after {
            if m.to == Status::Checkin {
                m.at = 5 * MIN;
            }
        }
        lunch.append(&mut after);
        assert_eq!(
            ServiceTimes::from_history(&lunch, Tz::UTC).of_doctor(1),
            &[60.0, 10.0]
        );
        assert!(times.of_doctor(2).is_empty());
    }

    #[test]
    fn idle_gaps_back_to_queue_and_cancelled_visits_are_not_cycles() {
        let mut moves = day(1, 0, &[10]);
        // The next patient arrived after the visit ended (the doctor was idle): the cycle is 10.
        moves.extend(day(1, 2 * 60 * MIN, &[12]));
        // A visit that went back to the queue.
        moves.push(HistoryMove {
            appointment_id: 99,
            doctor_id: Some(1),
            procedure_id: None,
            from: Some(Status::Checkin),
            to: Status::EmAtendimento,
            at: 5 * 60 * MIN,
            tier: 3,
        });
        moves.push(HistoryMove {
            appointment_id: 99,
            doctor_id: Some(1),
            procedure_id: None,
            from: Some(Status::EmAtendimento),
            to: Status::Checkin,
            at: 5 * 60 * MIN + 3 * MIN,
            tier: 3,
        });
        let times = ServiceTimes::from_history(&moves, Tz::UTC);
        assert_eq!(times.of_doctor(1), &[10.0, 12.0]);
    }

    #[test]
    fn a_working_day_is_the_clinics_even_when_it_spans_midnight_utc() {
        // Kiritimati (UTC+14): a doctor working from 13:00 to 15:00 local crosses no midnight
        // of the clinic, but 23:00 to 01:00 UTC does. One priority check-in that day.
        let start = 23 * 60 * MIN;
        let mut moves = day(1, start, &[60, 59]);
        if let Some(first) = moves.first_mut() {
            first.tier = 1;
        }
        let local = ServiceTimes::from_history(&moves, Tz::Pacific__Kiritimati);
        let rate = local.arrivals.get(&(1, 1)).copied().unwrap_or_default();
        assert!(
            (rate - 1.0 / 120.0).abs() < 1e-9,
            "one per 120 working minutes: {rate}"
        );
        // Cut at midnight UTC, the same day is two spans of 60 minutes and less.
        let utc = ServiceTimes::from_history(&moves, Tz::UTC);
        assert!(utc.arrivals.get(&(1, 1)).copied().unwrap_or_default() > rate);
    }

    #[test]
    fn no_estimate_without_enough_history() {
        let times = ServiceTimes::from_history(&day(1, 0, &[10, 10, 10]), Tz::UTC);
        assert_eq!(times.estimate(1, &[None], None), None);
        assert_eq!(times.estimate(7, &[], None), None);
    }

    #[test]
    fn the_range_grows_with_the_people_ahead_and_brackets_the_typical_wait() {
        // Cycles of 11 to 21 minutes: the typical cycle is about 16.
        let minutes: Vec<i64> = (0..40).map(|i| 10 + (i * 7) % 11).collect();
        let times = ServiceTimes::from_history(&day(1, 0, &minutes), Tz::UTC);
        let nobody = times.estimate(1, &[], None).unwrap();
        assert_eq!(nobody, Range { p50: 0, p90: 0 });
        let one = times.estimate(1, &[None], None).unwrap();
        let three = times.estimate(1, &[None, None, None], None).unwrap();
        assert!((14..=18).contains(&one.p50), "{one:?}");
        assert!(one.p90 >= one.p50 && one.p90 <= 21, "{one:?}");
        assert!((44..=52).contains(&three.p50), "{three:?}");
        assert!(three.p90 > three.p50, "{three:?}");
        // The same history and queue always give the same range.
        assert_eq!(times.estimate(1, &[None, None, None], None), Some(three));
    }

    #[test]
    fn a_visit_in_progress_adds_what_is_left_of_it() {
        let minutes: Vec<i64> = vec![20; 10];
        let times = ServiceTimes::from_history(&day(1, 0, &minutes), Tz::UTC);
        // Every cycle is 21 minutes; 15 have passed: 6 are left.
        let left = times
            .estimate(
                1,
                &[],
                Some(InProgress {
                    procedure_id: None,
                    elapsed_minutes: 15.0,
                }),
            )
            .unwrap();
        assert_eq!(left, Range { p50: 6, p90: 6 });
        // Longer than any cycle seen: a minute.
        let overdue = times
            .estimate(
                1,
                &[None],
                Some(InProgress {
                    procedure_id: None,
                    elapsed_minutes: 40.0,
                }),
            )
            .unwrap();
        assert_eq!(overdue, Range { p50: 22, p90: 22 });
    }

    #[test]
    fn a_procedure_with_enough_history_uses_its_own_cycles() {
        // Even visits (procedure 10) take 5 minutes, odd ones (procedure 20) take 30.
        let minutes: Vec<i64> = (0..40).map(|i| if i % 2 == 0 { 5 } else { 30 }).collect();
        let times = ServiceTimes::from_history(&day(1, 0, &minutes), Tz::UTC);
        let short = times.estimate(1, &[Some(10), Some(10)], None).unwrap();
        let long = times.estimate(1, &[Some(20), Some(20)], None).unwrap();
        assert_eq!(short, Range { p50: 12, p90: 12 });
        assert_eq!(long, Range { p50: 62, p90: 62 });
        // An unknown procedure draws from all of the doctor's cycles.
        let unknown = times.estimate(1, &[Some(99)], None).unwrap();
        assert_eq!(unknown.p90, 31, "{unknown:?}");
        assert!(unknown.p50 == 6 || unknown.p50 >= 30, "{unknown:?}");
    }

    #[test]
    fn patients_with_priority_arriving_meanwhile_lengthen_a_normal_patients_wait() {
        let minutes: Vec<i64> = vec![14; 40];
        let mut moves = day(1, 0, &minutes);
        // Half of the patients had legal priority.
        for m in &mut moves {
            if m.appointment_id % 2 == 0 {
                m.tier = 2;
            }
        }
        let times = ServiceTimes::from_history(&moves, Tz::UTC);
        let plain = times.estimate(1, &[None, None], None).unwrap();
        let normal = times.estimate_for(1, 3, &[None, None], None).unwrap();
        let priority = times.estimate_for(1, 2, &[None, None], None).unwrap();
        assert_eq!(plain, Range { p50: 30, p90: 30 });
        assert_eq!(priority, plain, "nobody overtakes a tier-2 patient here");
        assert!(
            normal.p50 > plain.p50 && normal.p90 > normal.p50,
            "{normal:?}"
        );
    }

    #[test]
    fn only_the_most_recent_cycles_count() {
        let mut minutes = vec![60; 30];
        minutes.extend(vec![10; RECENT]);
        let times = ServiceTimes::from_history(&day(1, 0, &minutes), Tz::UTC);
        assert_eq!(times.of_doctor(1).len(), RECENT);
        assert!(times.of_doctor(1).iter().all(|m| *m <= 11.0));
    }
}
