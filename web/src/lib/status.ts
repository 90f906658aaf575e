// The status catalogue (contract §3) and the moves the reception may make from each status.

export const STATUS = {
  AGENDADO: 'Agendado',
  CHECKIN: 'Check-in',
  EM_ATENDIMENTO: 'Em atendimento',
  FINALIZADO: 'Finalizado',
  CANCELADO: 'Cancelado',
  CONFIRMADO: 'Confirmado',
  FALTOU: 'Faltou',
} as const;

export type StatusName = (typeof STATUS)[keyof typeof STATUS];

export interface Move {
  /** The `action` string sent in `PATCH /appointments/{id}/status`. */
  action: string;
  label: string;
  tone: 'primary' | 'neutral' | 'danger' | 'success';
  /** Moves that lose information ask first. */
  confirm?: string;
}

const CONFIRMAR: Move = { action: 'confirmado', label: 'Confirmar', tone: 'neutral' };
const CHECKIN: Move = { action: 'check-in', label: 'Check-in', tone: 'primary' };
const FALTOU: Move = {
  action: 'faltou',
  label: 'Faltou',
  tone: 'neutral',
  confirm: 'Marcar falta? O horário continua reservado; se o paciente chegar, use Reagendar.',
};
const CANCELAR: Move = {
  action: 'cancelado',
  label: 'Cancelar',
  tone: 'danger',
  confirm: 'Cancelar o agendamento? O horário fica livre para outro paciente.',
};
const DESFAZER: Move = {
  action: 'agendado',
  label: 'Desfazer',
  tone: 'neutral',
  confirm: 'Desfazer? Se já fez check-in, o paciente perde o lugar na fila e a espera volta a zero.',
};
export const CHAMAR: Move = { action: 'em atendimento', label: 'Chamar', tone: 'primary' };
export const FINALIZAR: Move = {
  action: 'finalizado',
  label: 'Finalizar',
  tone: 'success',
  confirm: 'Finalizar o atendimento? O paciente sai da fila e o médico fica livre.',
};
export const VOLTAR_A_FILA: Move = { action: 'check-in', label: 'Voltar à fila', tone: 'neutral' };

/** The buttons of an agenda row; only the moves the contract allows from `status`. */
export function agendaMoves(status: string): Move[] {
  switch (status) {
    case STATUS.AGENDADO:
      return [CONFIRMAR, CHECKIN, FALTOU, CANCELAR];
    case STATUS.CONFIRMADO:
      return [CHECKIN, DESFAZER, FALTOU, CANCELAR];
    case STATUS.CHECKIN:
      return [CHAMAR, DESFAZER, CANCELAR];
    case STATUS.EM_ATENDIMENTO:
      return [FINALIZAR, VOLTAR_A_FILA, CANCELAR];
    default:
      return [];
  }
}

/** Statuses whose appointment can be brought back with "Reagendar". */
export function canReschedule(status: string): boolean {
  return status === STATUS.FALTOU || status === STATUS.CANCELADO;
}

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

function luminance([r, g, b]: number[]): number {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a: number[], b: number[]): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const toHex = (rgb: number[]) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

/**
 * The colours a badge is drawn with: the contract's colour, darkened (under white text) or
 * lightened (under dark text) just enough for a 4.5:1 contrast. The payload keeps its colour.
 */
export function badgeColors(hex: string): { background: string; color: string } {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) return { background: '#4a5967', color: '#fff' };
  const n = parseInt(m[1], 16);
  let rgb = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  const white = [255, 255, 255];
  const dark = [27, 31, 35];
  const onDark = contrast(rgb, dark) > contrast(rgb, white);
  const ink = onDark ? dark : white;
  for (let i = 0; i < 40 && contrast(rgb, ink) < 4.6; i++) {
    rgb = onDark ? rgb.map((c) => c + (255 - c) * 0.08) : rgb.map((c) => c * 0.92);
  }
  return { background: toHex(rgb), color: toHex(ink) };
}
