// Small display helpers shared by the screens.

/** How the panel writes a name (the clinic's `panelNameStyle`). */
export type PanelNameStyle = 'short' | 'initials' | 'full';

/** "João da Silva Santos" → "João S." (`short`, the default: no full names in the waiting
 * room), "J. S." (`initials`) or the name as registered (`full`). */
export function panelName(fullName: string | null | undefined, style: PanelNameStyle = 'short'): string {
  const parts = (fullName ?? '').trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '—';
  if (style === 'full') return parts.join(' ');
  if (style === 'initials') {
    const initial = (part: string) => `${part[0].toLocaleUpperCase('pt-BR')}.`;
    return parts.length > 1 ? `${initial(parts[0])} ${initial(parts[parts.length - 1])}` : initial(parts[0]);
  }
  const first = parts[0];
  const last = parts.length > 1 ? parts[parts.length - 1] : '';
  return last ? `${first} ${last[0].toLocaleUpperCase('pt-BR')}.` : first;
}

/** Elapsed time as "m:ss", or "h:mm:ss" past an hour. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
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
