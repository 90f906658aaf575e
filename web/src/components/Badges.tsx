import type { Appointment, Status } from '../api/types';
import { badgeColors } from '../lib/status';
import { reasonLabel, tierOf } from '../lib/priority';

export function StatusBadge({ status }: { status: Status }) {
  return (
    <span
      className="status"
      style={badgeColors(status.color)}
      data-status={status.name}
      data-color={status.color}
    >
      {status.name}
    </span>
  );
}

/** Tier 1 and 2 only: "Normal" is the default and needs no badge. */
export function PriorityBadge({ appointment, compact }: { appointment: Appointment; compact?: boolean }) {
  const tier = tierOf(appointment);
  if (tier === 3) return null;
  const reasons = (appointment.priority?.reasons ?? []).map(reasonLabel).join(', ');
  const label = appointment.priority?.label ?? (tier === 1 ? 'Prioridade especial' : 'Prioridade');
  return (
    <span className={`prio prio-${tier}`} title={reasons} data-tier={tier}>
      {label}
      {!compact && reasons && <span className="prio-reasons"> · {reasons}</span>}
      {appointment.priority?.declaredByPatient && (
        <span className="prio-declared" data-testid="declared-by-patient"> · declarado pelo paciente</span>
      )}
    </span>
  );
}
