// Small display helpers shared by the screens.

import { callName } from './callName';

/** How the panel writes a name (the clinic's `panelNameStyle`). */
export type PanelNameStyle = 'short' | 'initials' | 'full';

/** "José Carlos de Oliveira Filho" → "José O." (`short`, the default: no full names in the
 * waiting room; see callName), "J. O." (`initials`) or the name as registered (`full`). */
export function panelName(fullName: string | null | undefined, style: PanelNameStyle = 'short'): string {
  const short = callName(fullName);
  if (style === 'full') return (fullName ?? '').trim().split(/\s+/).filter(Boolean).join(' ') || short;
  if (style === 'initials') {
    return short === '—' ? short : short.split(' ').map((part) => `${part[0].toLocaleUpperCase('pt-BR')}.`).join(' ');
  }
  return short;
}

/** "2026-11-26" → "quinta-feira, 26 de novembro". The date is a calendar day, not an instant. */
export function formatDay(isoDay: string): string {
  const [y, m, d] = isoDay.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.toLocaleDateString('pt-BR', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    timeZone: 'UTC',
  });
}

/** Clock time of an instant in the clinic's time zone. */
export function formatClock(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  try {
    return date.toLocaleTimeString('pt-BR', { hour: '2-digit', minute: '2-digit', timeZone });
  } catch {
    return date.toLocaleTimeString('pt-BR', { hour: '2-digit', minute: '2-digit' });
  }
}

/** The calendar day of an appointment payload's `date` ("2025-01-23T00:00:00.000Z"). */
export function dayOf(date: string | null | undefined): string {
  return (date ?? '').slice(0, 10);
}

export function addMinutes(hhmm: string, minutes: number): string {
  const [h, m] = hhmm.split(':').map(Number);
  if (Number.isNaN(h) || Number.isNaN(m)) return hhmm;
  const total = Math.min(23 * 60 + 59, h * 60 + m + minutes);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

export function procedureName(a: { appointmentProcedures: { procedure: { name: string } | null } | null }): string {
  return a.appointmentProcedures?.procedure?.name ?? '—';
}

/** A wait that reads as a wait: "0 min", "18 min", "1 h 05 min". */
export function formatWait(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h} h ${String(m).padStart(2, '0')} min`;
}

/** The offset of `timeZone` from UTC at the instant `ms`, in ms (east positive). */
function zoneOffsetMs(ms: number, timeZone: string): number {
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(ms));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    return asUtc - Math.floor(ms / 1000) * 1000;
  } catch {
    return 0;
  }
}

/** The instant of a wall-clock `day` + `HH:mm` in the clinic's `timeZone`. */
export function zonedInstant(day: string, hhmm: string, timeZone: string): number {
  const [y, mo, d] = day.slice(0, 10).split('-').map(Number);
  const [h, mi] = hhmm.split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const first = guess - zoneOffsetMs(guess, timeZone);
  return guess - zoneOffsetMs(first, timeZone);
}

/** Minutes the patient arrived after their appointment time (0 when on time or early). */
export function minutesLate(a: { date: string; startTime: string; checkedInAt?: string | null }, timeZone: string): number {
  if (!a.checkedInAt) return 0;
  const due = zonedInstant(dayOf(a.date), a.startTime, timeZone);
  const arrived = Date.parse(a.checkedInAt);
  if (!Number.isFinite(due) || !Number.isFinite(arrived)) return 0;
  return Math.max(0, Math.floor((arrived - due) / 60_000));
}

/** "2026-11-30" moved by `days` (calendar arithmetic, no time zone involved). */
export function shiftDay(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

export function isDay(value: string | null | undefined): value is string {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  return shiftDay(value, 0) === value;
}

/** The wall-clock "HH:mm" of the instant `ms` in `timeZone`. */
export function clockIn(ms: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('pt-BR', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  } catch {
    return new Date(ms).toTimeString().slice(0, 5);
  }
}

/** "30/11/2026". */
export function shortDay(day: string): string {
  return day.slice(0, 10).split('-').reverse().join('/');
}

/** "30/11/2026 14:05": an instant as date and time in the clinic's zone. */
export function formatInstant(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  try {
    return new Intl.DateTimeFormat('pt-BR', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(date);
  } catch {
    return date.toLocaleString('pt-BR');
  }
}
