// Helpers shared by the live screens: paged loading and the event names of the contract.

import type { ApiClient } from '../api/client';
import type { Appointment, LiveEvent } from '../api/types';

const PAGE = 100;

/** Reads every page of a list endpoint; the seq is the first page's (the oldest view). */
export async function loadAll<T>(api: ApiClient, path: string): Promise<{ items: T[]; seq: number | null }> {
  const items: T[] = [];
  let seq: number | null = null;
  const join = path.includes('?') ? '&' : '?';
  for (let offset = 0; ; offset += PAGE) {
    const page = await api.get<T[]>(`${path}${join}limit=${PAGE}&offset=${offset}`);
    if (offset === 0) seq = page.seq;
    items.push(...page.data);
    if (page.data.length < PAGE) break;
  }
  return { items, seq };
}

export const APPOINTMENT_EVENTS = new Set([
  'appointments.created',
  'appointments.checkin',
  'appointments.serving',
  'appointmnents.finished', // the documented spelling; `appointments.finished` comes with it
  'appointments.finished',
  'appointments.updated',
]);

export function isFinishedEvent(name: string): boolean {
  return name === 'appointments.finished' || name === 'appointmnents.finished';
}

export function appointmentOf(event: LiveEvent): Appointment | null {
  if (!APPOINTMENT_EVENTS.has(event.event)) return null;
  const data = event.data as Appointment | null;
  return data && typeof data.id === 'number' ? data : null;
}

/**
 * Whether `incoming` may replace `existing`: an answer to our own request can arrive after an
 * event about a later change, and must not roll the row back.
 */
export function isNotOlder(incoming: Appointment, existing: Appointment | undefined): boolean {
  return !existing || (incoming.updatedAt ?? '') >= (existing.updatedAt ?? '');
}
