// Small pieces shared by the booking form, Reagendar and the queue: the doctor options of a
// select, the free slots of a day as buttons, and the question before calling a busy doctor.

import type { Appointment, Doctor, Slot } from '../api/types';
import { STATUS } from '../lib/status';
import { ConfirmDialog } from './Modal';

export function DoctorOptions({ doctors }: { doctors: Doctor[] }) {
  return (
    <>
      {doctors.map((d) => (
        <option key={d.id} value={d.id}>
          {d.name}
          {d.room ? ` — ${d.room}` : ''}
        </option>
      ))}
    </>
  );
}

/** The free slots as buttons; the chosen one is pressed. */
export function SlotButtons({
  slots,
  chosen,
  onPick,
}: {
  slots: Slot[];
  chosen: string;
  onPick: (slot: Slot) => void;
}) {
  return (
    <div className="slot-list" role="group" aria-label="Horários livres">
      {slots
        .filter((s) => s.free)
        .map((slot) => (
          <button
            type="button"
            key={slot.startTime}
            className={`slot ${slot.startTime === chosen ? 'slot-on' : ''}`}
            aria-pressed={slot.startTime === chosen}
            data-start={slot.startTime}
            onClick={() => onPick(slot)}
          >
            {slot.startTime}
          </button>
        ))}
    </div>
  );
}

/** What a call for `a` should warn about: the patient already in the doctor's room, if any. */
export interface BusyCall {
  appointment: Appointment;
  busyWith: string;
}

/**
 * Whether calling `a` needs a question first: their doctor has another patient "Em
 * atendimento" among `rows`, or is flagged busy. Answers null when the call can go ahead.
 */
export function busyCall(a: Appointment, rows: Iterable<Appointment>, doctors: Doctor[]): BusyCall | null {
  const doctorId = a.doctor?.id;
  if (!doctorId) return null;
  const inRoom = [...rows].find(
    (r) => r.id !== a.id && r.doctor?.id === doctorId && r.status.name === STATUS.EM_ATENDIMENTO,
  );
  if (!inRoom && !doctors.find((d) => d.id === doctorId)?.isBusy) return null;
  return { appointment: a, busyWith: inRoom?.patient?.name ?? '' };
}

export function BusyDoctorDialog({ call, onCancel, onConfirm }: { call: BusyCall; onCancel: () => void; onConfirm: () => void }) {
  const { appointment, busyWith } = call;
  return (
    <ConfirmDialog
      title="Médico já está atendendo"
      testId="busy-dialog"
      message={
        <p>
          {appointment.doctor?.name} já está com {busyWith || 'um paciente'} em atendimento. Chamar{' '}
          {appointment.patient?.name} mesmo assim? Os dois ficarão “Em atendimento” com esse médico.
        </p>
      }
      cancelLabel="Não chamar"
      confirmLabel="Chamar mesmo assim"
      onCancel={onCancel}
      onConfirm={onConfirm}
    />
  );
}
