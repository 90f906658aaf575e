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
const FALTOU: Move = { action: 'faltou', label: 'Faltou', tone: 'neutral', confirm: 'Marcar que o paciente faltou?' };
const CANCELAR: Move = { action: 'cancelado', label: 'Cancelar', tone: 'danger', confirm: 'Cancelar este agendamento?' };
const DESFAZER: Move = { action: 'agendado', label: 'Desfazer', tone: 'neutral' };
export const CHAMAR: Move = { action: 'em atendimento', label: 'Chamar', tone: 'primary' };
export const FINALIZAR: Move = { action: 'finalizado', label: 'Finalizar', tone: 'success' };
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

/** Text colour that reads on a status badge's background. */
export function badgeTextColor(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) return '#fff';
  const n = parseInt(m[1], 16);
  const r = (n >> 16) & 255, g = (n >> 8) & 255, b = n & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? '#1b1f23' : '#fff';
}
