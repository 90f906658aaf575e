// How the waiting queue follows the events (contract §5 and the documented client rule):
// - checkin: skip an id already waiting; add only if `status.name === 'Check-in'`;
// - updated: back to Check-in (re)inserts, any other status removes (Em atendimento stays in
//   the "Em atendimento" section);
// - serving: leaves the queue for the "Em atendimento" section;
// - finished (both spellings): removed everywhere.
// Only the clinic's today counts; a row in the map is never duplicated (keyed by id).

import type { Appointment, LiveEvent } from '../api/types';
import { STATUS } from '../lib/status';
import { dayOf } from '../lib/format';
import { appointmentOf, isFinishedEvent, isNotOlder } from './lists';

export type QueueRows = Map<number, Appointment>;

export function applyQueueEvent(rows: QueueRows, event: LiveEvent, today: string): QueueRows {
  const a = appointmentOf(event);
  if (!a) return rows;
  if (isFinishedEvent(event.event)) return without(rows, a.id);
  if (event.event === 'appointments.checkin') {
    if (rows.get(a.id)?.status.name === STATUS.CHECKIN) return rows;
    return a.status.name === STATUS.CHECKIN ? keep(rows, a, today) : rows;
  }
  if (event.event === 'appointments.serving' || event.event === 'appointments.updated' || event.event === 'appointments.created') {
    return keep(rows, a, today);
  }
  return rows;
}

/** Puts `a` in the rows if it belongs in the queue screen today, else takes it out. */
export function keep(rows: QueueRows, a: Appointment, today: string): QueueRows {
  const existing = rows.get(a.id);
  if (!isNotOlder(a, existing)) return rows;
  const inQueue = a.status.name === STATUS.CHECKIN || a.status.name === STATUS.EM_ATENDIMENTO;
  if (!inQueue || a.deletedAt || dayOf(a.date) !== today) return without(rows, a.id);
  const next = new Map(rows);
  next.set(a.id, a);
  return next;
}

function without(rows: QueueRows, id: number): QueueRows {
  if (!rows.has(id)) return rows;
  const next = new Map(rows);
  next.delete(id);
  return next;
}
