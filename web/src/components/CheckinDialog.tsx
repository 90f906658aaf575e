// Check-in with priority: age tiers are automatic (from the birth date); the receptionist ticks
// the other legal grounds (pregnant, nursing, lap child, disability, obesity).

import { useState } from 'react';
import type { Appointment } from '../api/types';
import { PRIORITY_FLAGS, ageOn, flagsOf } from '../lib/priority';
import { procedureName } from '../lib/format';
import { Modal } from './Modal';

export function CheckinDialog({
  appointment,
  today,
  onCancel,
  onConfirm,
}: {
  appointment: Appointment;
  today: string;
  onCancel: () => void;
  onConfirm: (flags: string[]) => void;
}) {
  const [flags, setFlags] = useState<string[]>(() => flagsOf(appointment));
  const age = ageOn(appointment.patient?.dateBirth, today);
  const toggle = (value: string) =>
    setFlags((all) => (all.includes(value) ? all.filter((f) => f !== value) : [...all, value]));

  return (
    <Modal title="Check-in" onClose={onCancel}>
      <div className="checkin-who">
        <strong>{appointment.patient?.name}</strong>
        <span className="muted">
          {appointment.startTime} · {appointment.doctor?.name} · {procedureName(appointment)}
        </span>
      </div>
      <p className="age-note">
        {age === null
          ? 'Sem data de nascimento: a prioridade por idade não se aplica.'
          : age >= 80
            ? `${age} anos — prioridade especial automática (80+).`
            : age >= 60
              ? `${age} anos — prioridade automática (60+).`
              : `${age} anos — sem prioridade por idade.`}
      </p>
      <fieldset className="flags" data-testid="priority-flags">
        <legend>Atendimento prioritário (Lei 10.048/2000)</legend>
        {PRIORITY_FLAGS.map((flag) => (
          <label key={flag.value} className="check">
            <input
              type="checkbox"
              value={flag.value}
              checked={flags.includes(flag.value)}
              onChange={() => toggle(flag.value)}
            />
            {flag.label}
          </label>
        ))}
      </fieldset>
      <div className="modal-actions">
        <button className="btn btn-ghost" onClick={onCancel}>
          Voltar
        </button>
        <button className="btn btn-primary" onClick={() => onConfirm(flags)} data-testid="confirm-checkin">
          Confirmar check-in
        </button>
      </div>
    </Modal>
  );
}
