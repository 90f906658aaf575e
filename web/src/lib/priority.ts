// Priority tiers (Lei 10.048/2000, Estatuto da Pessoa Idosa): the server computes the tier;
// the app shows it, offers the flags at check-in, and orders live rows the way the server does.

import type { Appointment } from '../api/types';

export const PRIORITY_FLAGS: Array<{ value: string; label: string }> = [
  { value: 'gestante', label: 'Gestante' },
  { value: 'lactante', label: 'Lactante' },
  { value: 'crianca_colo', label: 'Com criança de colo' },
  { value: 'deficiencia', label: 'Pessoa com deficiência' },
  { value: 'obesidade', label: 'Pessoa com obesidade' },
];

const REASON_LABELS: Record<string, string> = {
  '80+': '80+ anos',
  '60+': '60+ anos',
  ...Object.fromEntries(PRIORITY_FLAGS.map((f) => [f.value, f.label])),
};

export function reasonLabel(reason: string): string {
  return REASON_LABELS[reason] ?? reason;
}

export function tierOf(a: Appointment): 1 | 2 | 3 {
  return a.priority?.tier ?? 3;
}

export function tierLabel(tier: 1 | 2 | 3): string {
  return tier === 1 ? 'Prioridade especial' : tier === 2 ? 'Prioridade' : 'Normal';
}

/** The flags set on an appointment (the reasons that are not age). */
export function flagsOf(a: Appointment): string[] {
  return (a.priority?.reasons ?? []).filter((r) => r !== '80+' && r !== '60+');
}

/** Age in whole years on `day` (YYYY-MM-DD), from a YYYY-MM-DD birth date. */
export function ageOn(dateBirth: string | null | undefined, day: string): number | null {
  if (!dateBirth) return null;
  const [by, bm, bd] = dateBirth.slice(0, 10).split('-').map(Number);
  const [y, m, d] = day.slice(0, 10).split('-').map(Number);
  if ([by, bm, bd, y, m, d].some(Number.isNaN)) return null;
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** The queue's order: tier, then check-in time, then id for a stable tie-break. */
export function compareQueue(a: Appointment, b: Appointment): number {
  return (
    tierOf(a) - tierOf(b) ||
    (a.checkedInAt ?? a.updatedAt).localeCompare(b.checkedInAt ?? b.updatedAt) ||
    a.id - b.id
  );
}

/** Serving rows: by call time. */
export function compareServing(a: Appointment, b: Appointment): number {
  return (a.calledAt ?? a.updatedAt).localeCompare(b.calledAt ?? b.updatedAt) || a.id - b.id;
}
